package mail

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// envelope is one message as the test relay received it.
type envelope struct {
	From string
	To   []string
	Data []byte
}

// relay is an in-process SMTP server that records what it receives. With
// a username it requires AUTH PLAIN; rejectRcpt refuses every recipient
// with a reply that quotes the address back.
type relay struct {
	username, password string
	rejectRcpt         bool

	mu       sync.Mutex
	received []envelope
}

func (r *relay) envelopes() []envelope {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]envelope(nil), r.received...)
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &relaySession{relay: r}, nil
}

type relaySession struct {
	relay  *relay
	authed bool
	env    envelope
}

func (s *relaySession) AuthMechanisms() []string {
	if s.relay.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.relay.username || password != s.relay.password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error {
	if s.relay.username != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.env = envelope{From: from}
	return nil
}

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.relay.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: no such user"}
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *relaySession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.env.Data = data
	s.relay.mu.Lock()
	s.relay.received = append(s.relay.received, s.env)
	s.relay.mu.Unlock()
	return nil
}

func (s *relaySession) Reset()        { s.env = envelope{} }
func (s *relaySession) Logout() error { return nil }

// startRelay serves r on 127.0.0.1 with the given security and returns its
// port and the TLS client configuration that trusts it.
func startRelay(t *testing.T, r *relay, security string) (int, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := selfSigned(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	switch security {
	case SecurityStartTLS:
		srv.TLSConfig = serverTLS
	case SecurityTLS:
		l = tls.NewListener(l, serverTLS)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			t.Errorf("relay: %v", err)
		}
	})
	return l.Addr().(*net.TCPAddr).Port, clientTLS
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// configuration that trusts only it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "relay.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

// newTestSMTP returns an SMTP sender for a relay started with security.
func newTestSMTP(t *testing.T, r *relay, security string) *SMTP {
	t.Helper()
	port, clientTLS := startRelay(t, r, security)
	s, err := NewSMTP(SMTPConfig{
		Host:     "127.0.0.1",
		Port:     port,
		Security: security,
		Username: r.username,
		Password: r.password,
		From:     "NHS Patient Portal <no-reply@portal.example.nhs.uk>",
		Timeout:  10 * time.Second,
	})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	s.tlsConfig = clientTLS
	return s
}

func TestOutboxDeliversThroughSMTPRelay(t *testing.T) {
	tests := []struct {
		name     string
		security string
		username string
	}{
		{"plain connection to a local relay without authentication", SecurityNone, ""},
		{"STARTTLS with AUTH PLAIN", SecurityStartTLS, "portal"},
		{"implicit TLS with AUTH PLAIN", SecurityTLS, "portal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &relay{username: tt.username, password: "s3cret"}
			sender := newTestSMTP(t, r, tt.security)
			client := openClient(t)
			want := []Message{
				{To: "Ada Lovelace <ada@example.org>", Subject: "You have a new letter", Text: "A new letter is in your record.\nSign in to read it: https://portal.example.nhs.uk/letters\n"},
				{To: "zoë@example.org", Subject: "Invitation to the patient portal – please sign in", Text: "Hello,\n\nYou can now see your record online. It costs £0.\n"},
			}
			outbox := enqueue(t, client, want...)
			w := &Worker{Client: client, Sender: sender, Now: newClock().Now, Logger: discardLogger()}

			sent, err := w.SendDue(t.Context())
			if err != nil || sent != 2 {
				t.Fatalf("SendDue = %d, %v; want 2, nil", sent, err)
			}
			again, err := w.SendDue(t.Context())
			if err != nil || again != 0 {
				t.Fatalf("second SendDue = %d, %v; want 0, nil", again, err)
			}

			got := r.envelopes()
			if len(got) != len(want) {
				t.Fatalf("relay received %d messages, want %d", len(got), len(want))
			}
			seen := map[string]int{}
			for _, env := range got {
				p := parseEmail(t, env.Data)
				var row int = -1
				for i, o := range outbox {
					if p.MessageID == "<"+string(o.ID)+"@portal.example.nhs.uk>" {
						row = i
					}
				}
				if row < 0 {
					t.Fatalf("Message-ID %q names no outbox row", p.MessageID)
				}
				seen[string(outbox[row].ID)]++
				m := want[row]
				wantTo := outbox[row].Recipient
				if env.From != "no-reply@portal.example.nhs.uk" || p.From != env.From {
					t.Errorf("from: envelope %q, header %q; want the configured From", env.From, p.From)
				}
				if len(env.To) != 1 || env.To[0] != wantTo || p.To != wantTo {
					t.Errorf("to: envelope %q, header %q; want %q", env.To, p.To, wantTo)
				}
				if p.Subject != m.Subject {
					t.Errorf("Subject = %q, want %q", p.Subject, m.Subject)
				}
				if p.MediaType != "text/plain" || p.Charset != "utf-8" {
					t.Errorf("Content-Type = %s; charset=%s, want text/plain; charset=utf-8", p.MediaType, p.Charset)
				}
				if p.Body != strings.TrimRight(m.Text, "\n") {
					t.Errorf("body = %q, want %q", p.Body, m.Text)
				}
				if internalID.MatchString(p.Subject) || internalID.MatchString(p.Body) {
					t.Errorf("an internal ID reached the subject or body: %q / %q", p.Subject, p.Body)
				}
			}
			for _, o := range outbox {
				if seen[string(o.ID)] != 1 {
					t.Errorf("%s arrived %d times, want once", o.ID, seen[string(o.ID)])
				}
				if r := row(t, client, o); r.SentAt == nil || r.ClaimedUntil != nil || r.Attempts != 0 {
					t.Errorf("%s: sent_at %v, claimed_until %v, attempts %d; want sent, unclaimed, 0", o.ID, r.SentAt, r.ClaimedUntil, r.Attempts)
				}
			}
		})
	}
}

func TestRelayRejectionIsRecordedWithoutTheAddress(t *testing.T) {
	r := &relay{rejectRcpt: true}
	sender := newTestSMTP(t, r, SecurityNone)
	client := openClient(t)
	outbox := enqueue(t, client, Message{To: "grace@example.org", Subject: "Your results are ready", Text: "Sign in to see them."})
	clk := newClock()
	logs := &logBuffer{}
	w := &Worker{Client: client, Sender: sender, Now: clk.Now, Logger: logs.logger()}

	sent, err := w.SendDue(t.Context())
	if err != nil || sent != 0 {
		t.Fatalf("SendDue = %d, %v; want 0, nil", sent, err)
	}
	got := row(t, client, outbox[0])
	if got.Attempts != 1 || got.LastError == nil || got.SentAt != nil || got.AbandonedAt != nil || got.ClaimedUntil != nil {
		t.Fatalf("row after a rejection: attempts %d, last_error %v, sent %v, abandoned %v, claimed %v",
			got.Attempts, got.LastError, got.SentAt, got.AbandonedAt, got.ClaimedUntil)
	}
	if !strings.Contains(*got.LastError, "550") {
		t.Errorf("last_error %q does not say what the relay answered", *got.LastError)
	}
	if want := clk.Now().Add(30 * time.Second); !got.NextAttemptAt.Equal(want.Truncate(time.Microsecond)) {
		t.Errorf("next_attempt_at = %v, want %v", got.NextAttemptAt, want)
	}
	for where, text := range map[string]string{"last_error": *got.LastError, "log": logs.String()} {
		if strings.Contains(text, "@") {
			t.Errorf("%s holds an address: %s", where, text)
		}
	}
	if !strings.Contains(logs.String(), string(outbox[0].ID)) {
		t.Errorf("log does not name the outbox id: %s", logs.String())
	}
}

func TestNewSMTPRefusesConfigurationThatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		cfg  SMTPConfig
	}{
		{"no host", SMTPConfig{From: "a@example.org"}},
		{"no From address", SMTPConfig{Host: "smtp.example.org"}},
		{"From that is not an address", SMTPConfig{Host: "smtp.example.org", From: "portal"}},
		{"unknown security", SMTPConfig{Host: "smtp.example.org", From: "a@example.org", Security: "ssl3"}},
		{"port out of range", SMTPConfig{Host: "smtp.example.org", From: "a@example.org", Port: 70000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSMTP(tt.cfg); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("NewSMTP = %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestNewSMTPDefaultsPortToSecurity(t *testing.T) {
	tests := []struct {
		security string
		want     int
	}{
		{"", 587}, {"STARTTLS", 587}, {"tls", 465}, {"none", 25},
	}
	for _, tt := range tests {
		t.Run("security "+strconv.Quote(tt.security)+" uses port "+strconv.Itoa(tt.want), func(t *testing.T) {
			s, err := NewSMTP(SMTPConfig{Host: "smtp.example.org", From: "a@example.org", Security: tt.security})
			if err != nil {
				t.Fatal(err)
			}
			if s.cfg.Port != tt.want {
				t.Errorf("port = %d, want %d", s.cfg.Port, tt.want)
			}
		})
	}
}
