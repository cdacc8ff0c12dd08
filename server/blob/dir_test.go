package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/patientportal/portal/server/blob"
)

// files lists what a folder holds, temporary files included.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDirKeepsOpensAndDeletesADocument(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/docs" // created on first write
	d := blob.NewDir(dir)
	want := []byte("%PDF-1.7 a letter")

	n, err := d.Put(ctx, "key_1-A", bytes.NewReader(want), int64(len(want)))
	if err != nil || n != int64(len(want)) {
		t.Fatalf("Put = %d, %v", n, err)
	}
	rc, err := d.Open(ctx, "key_1-A")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Open read %q, %v", got, err)
	}
	if names := files(t, dir); len(names) != 1 {
		t.Fatalf("folder holds %v, want the one document", names)
	}
	if err := d.Delete(ctx, "key_1-A"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Open(ctx, "key_1-A"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
	}
	if err := d.Delete(ctx, "key_1-A"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
}

func TestDirRefusesWhatItMustNotKeep(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		key  string
		body string
		max  int64
		want error
	}{
		{"a document one byte over the limit", ctx, "big", "12345", 4, blob.ErrTooLarge},
		{"a key that climbs out of the folder", ctx, "../escape", "x", 4, blob.ErrBadKey},
		{"a key with a slash", ctx, "a/b", "x", 4, blob.ErrBadKey},
		{"a hidden name", ctx, ".put-x", "x", 4, blob.ErrBadKey},
		{"an empty key", ctx, "", "x", 4, blob.ErrBadKey},
		{"a key too long", ctx, strings.Repeat("k", 129), "x", 4, blob.ErrBadKey},
		{"an upload whose client went away", cancelled, "gone", "x", 4, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			d := blob.NewDir(dir)
			if _, err := d.Put(tt.ctx, tt.key, strings.NewReader(tt.body), tt.max); !errors.Is(err, tt.want) {
				t.Fatalf("Put: %v, want %v", err, tt.want)
			}
			if names := files(t, dir); len(names) != 0 {
				t.Fatalf("left behind %v", names)
			}
		})
	}
}

func TestDirAcceptsADocumentOfExactlyTheLimit(t *testing.T) {
	d := blob.NewDir(t.TempDir())
	if n, err := d.Put(context.Background(), "k", strings.NewReader("1234"), 4); err != nil || n != 4 {
		t.Fatalf("Put = %d, %v", n, err)
	}
}

func TestDirRefusesBadKeysOnEveryOperation(t *testing.T) {
	ctx := context.Background()
	d := blob.NewDir(t.TempDir())
	if _, err := d.Open(ctx, "../etc/passwd"); !errors.Is(err, blob.ErrBadKey) {
		t.Errorf("Open: %v", err)
	}
	if err := d.Delete(ctx, "../etc/passwd"); !errors.Is(err, blob.ErrBadKey) {
		t.Errorf("Delete: %v", err)
	}
}
