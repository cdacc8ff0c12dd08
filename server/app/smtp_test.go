package app_test

import (
	"context"
	"strings"
	"testing"

	portalmail "github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/mail/mailtest"
)

func TestInvitationArrivesBySMTPAndRegisters(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	newcomer(t, e, f, "9990000034", adultDOB)
	box, port := mailtest.Start(t)
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
	got := box.Received()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived", len(got))
	}
	m, body := got[0], got[0].Body
	if m.To != "nina@example.org" || !strings.Contains(m.From, "no-reply@portal.example.nhs.uk") {
		t.Errorf("headers: %v", m.Header)
	}
	if internalID.MatchString(body) || strings.Contains(body, "Nina") || strings.Contains(body, "9990000034") {
		t.Errorf("body discloses: %q", body)
	}
	token := linkToken.FindStringSubmatch(body)
	if token == nil {
		t.Fatalf("no link in %q", body)
	}
	accepted := e.post("", acceptMutation, map[string]any{"token": token[1], "dob": "1990-03-04", "password": "a sound passphrase 42"})
	if len(accepted.Errors) > 0 {
		t.Fatalf("accept: %s", accepted.raw)
	}
	e.signIn("nina@example.org", "a sound passphrase 42")
}
