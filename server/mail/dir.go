package mail

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// devFrom is the From of files in the outbox folder when none is configured.
const devFrom = "NHS Patient Portal (development) <no-reply@portal.invalid>"

// Dir is the development Sender: it writes each message as an RFC 5322 .eml
// file into a folder instead of sending it. It is safe for concurrent use.
type Dir struct {
	dir string
	// From is the From header; a development address by default.
	From string
	// Now names and dates the files; time.Now when nil.
	Now func() time.Time
	// Logger receives one line per message; slog.Default() when nil.
	Logger *slog.Logger
}

// NewDir returns a Dir that writes into dir, created on first use.
func NewDir(dir string) *Dir {
	return &Dir{dir: dir, From: devFrom}
}

// Send writes m to a file named from the time and id. The file appears
// whole or not at all, so a mail viewer watching the folder never reads
// half a message.
func (d *Dir) Send(ctx context.Context, id string, m Message) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	at := now().UTC()
	from := d.From
	if from == "" {
		from = devFrom
	}
	msg, err := compose(from, id, m, at)
	if err != nil {
		return err
	}
	// The files hold addresses: readable by the portal's user only.
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return fmt.Errorf("mail: outbox folder: %w", err)
	}
	f, err := os.CreateTemp(d.dir, ".*.eml.tmp")
	if err != nil {
		return fmt.Errorf("mail: outbox folder: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := msg.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("mail: writing %s: %w", id, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mail: writing %s: %w", id, err)
	}
	name := at.Format("20060102T150405.000000000Z") + "-" + id + ".eml"
	if err := os.Rename(f.Name(), filepath.Join(d.dir, name)); err != nil {
		return fmt.Errorf("mail: writing %s: %w", id, err)
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger.InfoContext(ctx, "mail written to outbox folder", "id", id, "kind", kindFrom(ctx), "file", name)
	return nil
}
