package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/patientportal/portal/server/mail/mailtest"
)

// SIGTERM stops the server gracefully: it stops accepting, lets a request
// already in flight (here a clinician's release, its body still arriving)
// finish, closes a patient's websocket with 1001 "going away" and ends
// their event stream with its complete event, and flushes the outbox, so
// the email about the release written by that last request leaves before
// the process exits, with status 0.
func TestSIGTERMFinishesRequestsClosesStreamsAndFlushesMail(t *testing.T) {
	box, port := mailtest.Start(t)
	// Mail goes out only as the server starts and as it stops.
	p := spawn(t, []string{"PORTAL_SMTP_HOST=127.0.0.1", fmt.Sprintf("PORTAL_SMTP_PORT=%d", port), "PORTAL_SMTP_SECURITY=none",
		"PORTAL_MAIL_INTERVAL=1h", "PORTAL_SHUTDOWN_TIMEOUT=30s"}, "--database", "sqlite:"+t.TempDir()+"/portal.db")
	patient, clinician := p.signIn(t, "patient"), p.signIn(t, "clinician")
	patientID, orgID := demoIDs(t, p, patient, clinician)
	p.post(t, patient, `mutation { setNotificationEmail(preference: IMMEDIATE) { notificationEmail } }`, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A websocket subscription.
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.url, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, m := range []string{
		fmt.Sprintf(`{"type":"connection_init","payload":{"authToken":%q}}`, patient),
		`{"id":"1","type":"subscribe","payload":{"query":"subscription { notificationAdded { id } }"}}`,
	} {
		if err := conn.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	socketEnd := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				socketEnd <- err
				return
			}
		}
	}()

	// An event stream.
	sub, _ := json.Marshal(map[string]any{"query": "subscription { notificationAdded { id } }"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/query", bytes.NewReader(sub))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+patient)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	streamEnd := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && l != ":" {
				lines = append(lines, l)
			}
		}
		streamEnd <- lines
	}()

	// A request in flight: its headers and half its body are sent.
	now := time.Now().UTC()
	release, _ := json.Marshal(map[string]any{
		"query": `mutation($in: AddResultInput!) { addResult(input: $in) { id } }`,
		"variables": map[string]any{"in": map[string]any{
			"patientId": patientID, "organisationId": orgID, "name": "Full blood count", "releaseNow": true,
			"takenAt": now.Add(-2 * time.Hour).Format(time.RFC3339), "reportedAt": now.Add(-time.Hour).Format(time.RFC3339),
			"components": []any{map[string]any{"name": "Haemoglobin", "valueNumeric": 131, "unit": "g/L"}},
		}},
	})
	pr, pw := io.Pipe()
	inflight, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/query", pr)
	inflight.Header.Set("Content-Type", "application/json")
	inflight.Header.Set("Authorization", "Bearer "+clinician)
	answered := make(chan *http.Response, 1)
	go func() {
		res, err := (&http.Client{Transport: &http.Transport{}}).Do(inflight)
		if err != nil {
			t.Errorf("the request in flight failed: %v", err)
		}
		answered <- res
	}()
	half := len(release) / 2
	if _, err := pw.Write(release[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the subscriptions start on the server

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	select {
	case err := <-socketEnd:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
			t.Errorf("the websocket ended with %v, want close 1001", err)
		}
	case <-ctx.Done():
		t.Fatal("the websocket stayed open after SIGTERM")
	}
	select {
	case lines := <-streamEnd:
		if len(lines) == 0 || lines[len(lines)-1] != "event: complete" {
			t.Errorf("the event stream ended with %q, want its complete event", lines)
		}
	case <-ctx.Done():
		t.Fatal("the event stream stayed open after SIGTERM")
	}
	// No new connection is accepted.
	u, _ := url.Parse(p.url)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The request in flight completes.
	if _, err := pw.Write(release[half:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-answered
	if res == nil {
		t.FailNow()
	}
	var out struct {
		Data struct{ AddResult struct{ ID string } }
	}
	err = json.NewDecoder(res.Body).Decode(&out)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || out.Data.AddResult.ID == "" {
		t.Fatalf("the request in flight answered %d %+v %v", res.StatusCode, out, err)
	}

	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the server exited with %v, want status 0", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the server did not exit after SIGTERM")
	}
	got := box.Received()
	if len(got) != 1 || got[0].To != p.logins["patient"][0] || !strings.Contains(got[0].Body, "test result") {
		t.Errorf("emails sent by the last flush: %+v", got)
	}
}
