// Package mailtest runs an SMTP server in the test's process that keeps
// what it receives, so tests read the emails the portal really sent.
package mailtest

import (
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Email is one received message as its reader sees it.
type Email struct {
	// To is the bare address of the first recipient.
	To      string
	From    string
	Subject string
	// Header is the whole header.
	Header mail.Header
	// Body is the decoded text.
	Body string
}

// Inbox keeps every message an SMTP client hands it, in arrival order.
type Inbox struct {
	mu       sync.Mutex
	received []Email
}

// Start serves an Inbox on loopback until the test ends and returns it
// with its port.
func Start(t testing.TB) (*Inbox, int) {
	t.Helper()
	b := &Inbox{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(backend{b})
	srv.Domain = "inbox.test"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return b, l.Addr().(*net.TCPAddr).Port
}

// Received returns a copy of what has arrived so far.
func (b *Inbox) Received() []Email {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Email(nil), b.received...)
}

type backend struct{ inbox *Inbox }

func (be backend) NewSession(*smtp.Conn) (smtp.Session, error) { return session(be), nil }

type session struct{ inbox *Inbox }

func (s session) Mail(string, *smtp.MailOptions) error { return nil }
func (s session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s session) Reset()                               {}
func (s session) Logout() error                        { return nil }

func (s session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	var text io.Reader = m.Body
	if m.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		text = quotedprintable.NewReader(m.Body)
	}
	body, err := io.ReadAll(text)
	if err != nil {
		return err
	}
	e := Email{From: m.Header.Get("From"), Subject: m.Header.Get("Subject"), Header: m.Header, Body: string(body)}
	if to, err := mail.ParseAddress(m.Header.Get("To")); err == nil {
		e.To = to.Address
	}
	s.inbox.mu.Lock()
	defer s.inbox.mu.Unlock()
	s.inbox.received = append(s.inbox.received, e)
	return nil
}
