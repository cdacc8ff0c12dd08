package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/patientportal/portal/server/mail/mailtest"
	"github.com/patientportal/portal/server/store/storetest"
)

// childArgs, when set, makes this test binary run the server with these
// arguments (separated by spaces) instead of the tests: the crash test
// needs a server in a process of its own to kill.
const childArgs = "PORTAL_TEST_SERVER_ARGS"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(childArgs); ok {
		// Signals as in main, so that a test can stop the server gracefully.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := run(ctx, strings.Fields(args), os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is a server running in a child process.
type process struct {
	cmd    *exec.Cmd
	url    string
	logins map[string][2]string
}

var loginLine = regexp.MustCompile(`^demo (\S+) (\S+@\S+) password: (\S+)$`)

// spawn starts the server in a child process with env added to the
// environment, and waits until it is ready.
func spawn(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childArgs+"="+strings.Join(append([]string{"--addr", "127.0.0.1:0"}, args...), " ")), env...)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logins: map[string][2]string{}}
	t.Cleanup(func() { p.kill() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the server process exited before it was ready")
			}
			if u, found := strings.CutPrefix(line, "patient portal listening on "); found {
				p.url = strings.TrimSuffix(u, "/")
			}
			if m := loginLine.FindStringSubmatch(line); m != nil {
				p.logins[m[1]] = [2]string{m[2], m[3]}
			}
		case <-deadline:
			t.Fatal("the server process is not ready")
		case <-time.After(50 * time.Millisecond):
			if p.url != "" && get(p.url+"/readyz") == http.StatusOK {
				// Ready comes after the sign-ins are printed: read them all.
			drain:
				for {
					select {
					case line, ok := <-lines:
						if !ok {
							break drain
						}
						if m := loginLine.FindStringSubmatch(line); m != nil {
							p.logins[m[1]] = [2]string{m[2], m[3]}
						}
					case <-time.After(300 * time.Millisecond):
						break drain
					}
				}
				go func() {
					for range lines {
					}
				}()
				return p
			}
		}
	}
}

// kill ends the process at once, as a crash or `kill -9` would.
func (p *process) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
	}
}

// post sends a GraphQL request as token and decodes data into out.
func (p *process) post(t *testing.T, token, query string, vars map[string]any, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, p.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors []json.RawMessage
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil || len(r.Errors) > 0 {
		t.Fatalf("%s: %v %s", query, err, r.Errors)
	}
	if out != nil {
		if err := json.Unmarshal(r.Data, out); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *process) signIn(t *testing.T, who string) string {
	t.Helper()
	login, ok := p.logins[who]
	if !ok {
		t.Fatalf("no demo %s sign-in printed", who)
	}
	var data struct{ SignIn struct{ Token string } }
	p.post(t, "", `mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { token } }`,
		map[string]any{"e": login[0], "p": login[1]}, &data)
	return data.SignIn.Token
}

// events opens a server-sent-events subscription to notificationAdded
// after the given notification and returns the IDs it delivers, and a
// function that closes it.
func (p *process) events(t *testing.T, token, after string) (<-chan string, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	vars := map[string]any{}
	if after != "" {
		vars["after"] = after
	}
	body, _ := json.Marshal(map[string]any{
		"query":     `subscription($after: ID) { notificationAdded(after: $after) { id } }`,
		"variables": vars,
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	ids := make(chan string, 16)
	go func() {
		defer close(ids)
		defer cancel()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Data struct{ NotificationAdded struct{ ID string } }
			}
			if json.Unmarshal([]byte(data), &ev) == nil && ev.Data.NotificationAdded.ID != "" {
				ids <- ev.Data.NotificationAdded.ID
			}
		}
	}()
	return ids, cancel
}

// A notification is written with its change; the process dies before it
// is sent, by email or live. After a restart it is delivered, once.
func TestANotificationSurvivesACrashBeforeItIsSent(t *testing.T) {
	box, port := mailtest.Start(t)
	db := "sqlite:" + t.TempDir() + "/portal.db"
	mailEnv := func(interval string) []string {
		return []string{"PORTAL_SMTP_HOST=127.0.0.1", fmt.Sprintf("PORTAL_SMTP_PORT=%d", port), "PORTAL_SMTP_SECURITY=none",
			"PORTAL_MAIL_INTERVAL=" + interval, "PORTAL_PUBLIC_URL=https://portal.example.nhs.uk"}
	}
	// The first process sends mail only as it starts, so nothing written
	// afterwards leaves it before it dies.
	first := spawn(t, mailEnv("1h"), "--database", db)
	patient, clinician := first.signIn(t, "patient"), first.signIn(t, "clinician")
	patientID, orgID := demoIDs(t, first, patient, clinician)
	first.post(t, patient, `mutation { setNotificationEmail(preference: IMMEDIATE) { notificationEmail } }`, nil, nil)

	// The patient's app sees one notification live, then goes offline.
	live, offline := first.events(t, patient, "")
	time.Sleep(time.Second) // the subscription starts
	release(t, first, clinician, patientID, orgID)
	var seen string
	select {
	case seen = <-live:
		if seen == "" {
			t.Fatal("the live stream ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first notification was not delivered live")
	}

	offline()

	// The change commits and the process dies before anything is sent.
	lost := release(t, first, clinician, patientID, orgID)
	first.kill()
	if n := len(box.Received()); n != 0 {
		t.Fatalf("%d emails left before the crash", n)
	}

	second := spawn(t, mailEnv("200ms"), "--database", db)
	patient = second.signIn(t, "patient")
	resumed, _ := second.events(t, patient, seen)
	var delivered []string
	timeout := time.After(10 * time.Second)
	for len(delivered) < 1 {
		select {
		case id, ok := <-resumed:
			if !ok {
				t.Fatal("the resumed stream ended")
			}
			delivered = append(delivered, id)
		case <-timeout:
			t.Fatal("the notification written before the crash was not delivered after the restart")
		}
	}
	// Nothing more arrives: each notification once.
	select {
	case id, ok := <-resumed:
		if ok {
			delivered = append(delivered, id)
		}
	case <-time.After(2 * time.Second):
	}
	var subject struct {
		Node struct{ Subject struct{ ID string } }
	}
	second.post(t, patient, `query($id: ID!) { node(id: $id) { ... on Notification { subject { id } } } }`, map[string]any{"id": delivered[0]}, &subject)
	if len(delivered) != 1 || subject.Node.Subject.ID != lost {
		t.Errorf("after the restart the subscription delivered %v (about %s), want one notification about %s", delivered, subject.Node.Subject.ID, lost)
	}

	// Both results were released while the first process lived; they
	// leave in one email, once.
	deadline := time.Now().Add(10 * time.Second)
	for len(box.Received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would come within this
	got := box.Received()
	if len(got) != 1 || !strings.Contains(got[0].Body, "2 new test results") {
		t.Fatalf("after the restart %d emails arrived: %+v", len(got), got)
	}
	if got[0].To != second.logins["patient"][0] || strings.Contains(got[0].Body, "Urea") || strings.Contains(got[0].Body, "Sodium") {
		t.Errorf("email: %+v", got[0])
	}
}

// Two server processes on one store (MariaDB when the suite runs on it),
// joined by a real broker: a result released on one reaches a patient
// subscribed on the other at once. Subscriptions look for news unprompted
// only once a minute, so a delivery within seconds came through the broker.
func TestTwoServerProcessesShareNotificationsThroughABroker(t *testing.T) {
	const nats = "127.0.0.1:4222"
	if c, err := net.DialTimeout("tcp", nats, time.Second); err != nil {
		t.Skipf("needs NATS on %s (CI starts it): %v", nats, err)
	} else {
		c.Close()
	}
	db := storetest.URL(t)
	if err := run(context.Background(), []string{"migrate", "--database", db}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	env := []string{"PORTAL_BROKER_URL=nats://" + nats, "PORTAL_FEED_INTERVAL=1m"}
	first := spawn(t, env, "--database", db, "--demo")
	second := spawn(t, env, "--database", db, "--demo")
	patient := second.signIn(t, "patient")
	clinician := first.signIn(t, "clinician")
	patientID, orgID := demoIDs(t, first, patient, clinician)

	onSecond, _ := second.events(t, patient, "")
	for range 20 {
		release(t, first, clinician, patientID, orgID)
		select {
		case id, ok := <-onSecond:
			if !ok {
				t.Fatal("the subscription ended")
			}
			if id != "" {
				return
			}
		case <-time.After(2 * time.Second):
		}
	}
	t.Fatal("no release on the first process reached the subscriber on the second")
}

// demoIDs returns the demo patient's record and the demo clinician's
// organisation, as they read them.
func demoIDs(t *testing.T, p *process, patient, clinician string) (patientID, orgID string) {
	t.Helper()
	var who struct {
		Viewer struct {
			Patients []struct{ ID string }
			Account  struct {
				Memberships []struct{ Organisation struct{ ID string } }
			}
		}
	}
	p.post(t, patient, `{ viewer { patients { id } } }`, nil, &who)
	p.post(t, clinician, `{ viewer { account { memberships { organisation { id } } } } }`, nil, &who)
	return who.Viewer.Patients[0].ID, who.Viewer.Account.Memberships[0].Organisation.ID
}

// release adds a result for the patient, released at once, as the
// clinician, and returns its ID.
func release(t *testing.T, p *process, clinician, patientID, orgID string) string {
	t.Helper()
	var data struct{ AddResult struct{ ID string } }
	now := time.Now().UTC()
	p.post(t, clinician, `mutation($in: AddResultInput!) { addResult(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"patientId": patientID, "organisationId": orgID, "name": "Urea and electrolytes", "releaseNow": true,
		"takenAt": now.Add(-2 * time.Hour).Format(time.RFC3339), "reportedAt": now.Add(-time.Hour).Format(time.RFC3339),
		"components": []any{map[string]any{"name": "Sodium", "valueNumeric": 139, "unit": "mmol/L"}},
	}}, &data)
	return data.AddResult.ID
}
