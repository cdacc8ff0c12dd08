package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// ErrBadConfig reports a mail configuration that cannot work.
var ErrBadConfig = errors.New("mail: bad configuration")

// Security modes of SMTPConfig.
const (
	SecurityStartTLS = "starttls"
	SecurityTLS      = "tls"
	SecurityNone     = "none"
)

// defaultTimeout bounds connecting and each SMTP exchange.
const defaultTimeout = 30 * time.Second

// SMTPConfig says how to reach the SMTP relay.
type SMTPConfig struct {
	// Host is the relay; required.
	Host string
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port int
	// Security is "starttls" (the default: STARTTLS is required), "tls"
	// (implicit TLS) or "none" (meant for a relay on the same host).
	Security string
	// Username turns authentication on, with the strongest mechanism the
	// relay offers; the password is never sent in the clear.
	Username, Password string
	// From is the address patients see, so that they can check that mail
	// is genuine; required.
	From string
	// Timeout bounds the connection and each exchange; default 30s.
	Timeout time.Duration
}

// SMTP sends mail through an SMTP relay. It is safe for concurrent use.
type SMTP struct {
	cfg SMTPConfig
	// tlsConfig replaces the system's roots, for tests only.
	tlsConfig *tls.Config
}

// NewSMTP checks cfg and returns a Sender that uses it. It does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, fmt.Errorf("%w: no SMTP host", ErrBadConfig)
	}
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("%w: From must be an address", ErrBadConfig)
	}
	cfg.Security = strings.ToLower(cfg.Security)
	defaultPort := map[string]int{"": 587, SecurityStartTLS: 587, SecurityTLS: 465, SecurityNone: 25}
	port, ok := defaultPort[cfg.Security]
	if !ok {
		return nil, fmt.Errorf("%w: security %q (want starttls, tls or none)", ErrBadConfig, cfg.Security)
	}
	if cfg.Security == "" {
		cfg.Security = SecurityStartTLS
	}
	if cfg.Port == 0 {
		cfg.Port = port
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("%w: port %d", ErrBadConfig, cfg.Port)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	return &SMTP{cfg: cfg}, nil
}

// Send delivers m in one SMTP session. A new connection per message keeps
// the sender stateless; the outbox sends a few emails a minute.
func (s *SMTP) Send(ctx context.Context, id string, m Message) error {
	msg, err := compose(s.cfg.From, id, m, time.Now())
	if err != nil {
		return err
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.cfg.Timeout),
	}
	switch s.cfg.Security {
	case SecurityTLS:
		opts = append(opts, gomail.WithSSL())
	case SecurityNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(s.tlsConfig))
	}
	if s.cfg.Username != "" {
		// Auto-discovery picks the strongest mechanism and never sends a
		// password in the clear.
		opts = append(opts,
			gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	return nil
}
