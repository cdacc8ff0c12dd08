package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// validKey keeps keys to names that cannot climb out of the folder.
var validKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ErrBadKey is returned for a key that is not a plain name.
var ErrBadKey = errors.New("blob: bad key")

// Dir is a Store in a local folder.
type Dir struct{ root string }

// NewDir returns a Store in the folder root, created when first written.
func NewDir(root string) *Dir { return &Dir{root: root} }

func (d *Dir) path(key string) (string, error) {
	if !validKey.MatchString(key) {
		return "", ErrBadKey
	}
	return filepath.Join(d.root, key), nil
}

// Put implements Store: it writes to a temporary file, flushes it to disk
// and renames it into place, so a reader never sees half a document. A
// cancelled ctx stops the copy and keeps nothing.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error) {
	path, err := d.path(key)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(d.root, 0o700); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(d.root, ".put-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, r}, max+1))
	if err == nil && n <= max {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("blob: writing: %w", err)
	}
	if n > max {
		return 0, ErrTooLarge
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	return n, nil
}

// Open implements Store.
func (d *Dir) Open(_ context.Context, key string) (io.ReadCloser, error) {
	path, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete implements Store.
func (d *Dir) Delete(_ context.Context, key string) error {
	path, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ctxReader stops a copy when its context ends (a client that went away).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
