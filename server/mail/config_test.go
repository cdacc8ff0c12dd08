package mail

import (
	"errors"
	"testing"
)

func TestNewPicksTheSender(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantDir string // "" for SMTP
		wantErr error
	}{
		{"no relay writes to the default outbox folder", Config{}, "outbox", nil},
		{"no relay writes to the configured folder", Config{OutboxDir: "/var/tmp/mail"}, "/var/tmp/mail", nil},
		{"a relay host selects SMTP", Config{SMTPConfig: SMTPConfig{Host: "smtp.example.org", From: "no-reply@example.org"}}, "", nil},
		{"a relay without a From address is refused", Config{SMTPConfig: SMTPConfig{Host: "smtp.example.org"}}, "", ErrBadConfig},
		{"a From that is not an address is refused for the folder too", Config{SMTPConfig: SMTPConfig{From: "portal"}}, "", ErrBadConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch s := s.(type) {
			case *Dir:
				if s.dir != tt.wantDir {
					t.Errorf("folder = %q, want %q", s.dir, tt.wantDir)
				}
			case *SMTP:
				if tt.wantDir != "" {
					t.Errorf("got SMTP, want a folder")
				}
			default:
				t.Errorf("New = %T", s)
			}
		})
	}
}
