package app_test

import (
	"context"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"

	portalmail "github.com/patientportal/portal/server/mail"
)

// inbox is an in-process SMTP server keeping what it receives.
type inbox struct {
	mu       sync.Mutex
	messages []*mail.Message
	bodies   []string
}

func (b *inbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &inboxSession{b}, nil }

type inboxSession struct{ inbox *inbox }

func (s *inboxSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *inboxSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *inboxSession) Reset()                               {}
func (s *inboxSession) Logout() error                        { return nil }
func (s *inboxSession) Data(r io.Reader) error {
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
	s.inbox.mu.Lock()
	defer s.inbox.mu.Unlock()
	s.inbox.messages = append(s.inbox.messages, m)
	s.inbox.bodies = append(s.inbox.bodies, string(body))
	return nil
}

// startInbox serves an inbox on loopback and returns its port.
func startInbox(t *testing.T) (*inbox, int) {
	t.Helper()
	b := &inbox{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(b)
	srv.Domain = "inbox.test"
	srv.AllowInsecureAuth = true
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return b, l.Addr().(*net.TCPAddr).Port
}

func TestInvitationArrivesBySMTPAndRegisters(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	newcomer(t, e, f, "9990000034", adultDOB)
	box, port := startInbox(t)
	sender, err := portalmail.NewSMTP(portalmail.SMTPConfig{Host: "127.0.0.1", Port: port, Security: portalmail.SecurityNone,
		From: "NHS Patient Portal <no-reply@portal.example.nhs.uk>"})
	if err != nil {
		t.Fatal(err)
	}
	worker := &portalmail.Worker{Client: e.store.Client, Sender: sender}

	e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000034", "dob": "1990-03-04", "email": "nina@example.org"})
	if sent, err := worker.SendDue(context.Background()); err != nil || sent != 1 {
		t.Fatalf("sent %d: %v", sent, err)
	}
	if sent, _ := worker.SendDue(context.Background()); sent != 0 {
		t.Errorf("sent again: %d", sent)
	}
	box.mu.Lock()
	if len(box.messages) != 1 {
		t.Fatalf("%d messages arrived", len(box.messages))
	}
	m, body := box.messages[0], box.bodies[0]
	box.mu.Unlock()
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil || to.Address != "nina@example.org" || !strings.Contains(m.Header.Get("From"), "no-reply@portal.example.nhs.uk") {
		t.Errorf("headers: %v", m.Header)
	}
	if internalID.MatchString(body) || strings.Contains(body, "Nina") || strings.Contains(body, "9990000034") {
		t.Errorf("body discloses: %q", body)
	}
	token := linkToken.FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("no link in %q", body)
	}
	got := e.post("", acceptMutation, map[string]any{"token": token[1], "dob": "1990-03-04", "password": "a sound passphrase 42"})
	if len(got.Errors) > 0 {
		t.Fatalf("accept: %s", got.raw)
	}
	e.signIn("nina@example.org", "a sound passphrase 42")
}
