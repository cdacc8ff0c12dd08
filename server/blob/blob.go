// Package blob stores documents (letter PDFs) outside the database: a local
// folder by default, behind an interface an object store can implement. It
// streams; it never reads a whole document into memory.
package blob

import (
	"context"
	"errors"
	"io"
)

// ErrTooLarge is returned when a document exceeds the size allowed.
var ErrTooLarge = errors.New("document too large")

// ErrNotFound is returned for a key the store does not hold.
var ErrNotFound = errors.New("document not found")

// Store holds documents by key.
type Store interface {
	// Put streams r into key, refusing more than max bytes (and then
	// keeping nothing), and returns the size written.
	Put(ctx context.Context, key string, r io.Reader, max int64) (int64, error)
	// Open streams the document at key.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the document at key.
	Delete(ctx context.Context, key string) error
}
