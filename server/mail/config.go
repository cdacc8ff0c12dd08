package mail

import (
	"fmt"
	"net/mail"
)

// defaultOutboxDir is where development mail goes when no folder is set.
const defaultOutboxDir = "outbox"

// Config chooses and configures the Sender. The package documentation
// lists the environment variable behind each field.
type Config struct {
	// SMTPConfig is used when Host is set; its From applies to the outbox
	// folder too.
	SMTPConfig
	// OutboxDir is the folder for .eml files when Host is empty; default
	// "outbox".
	OutboxDir string
}

// New returns an SMTP sender when cfg.Host is set and otherwise a Dir
// writing into cfg.OutboxDir.
func New(cfg Config) (Sender, error) {
	if cfg.Host != "" {
		return NewSMTP(cfg.SMTPConfig)
	}
	dir := cfg.OutboxDir
	if dir == "" {
		dir = defaultOutboxDir
	}
	d := NewDir(dir)
	if cfg.From != "" {
		if _, err := mail.ParseAddress(cfg.From); err != nil {
			return nil, fmt.Errorf("%w: From must be an address", ErrBadConfig)
		}
		d.From = cfg.From
	}
	return d, nil
}
