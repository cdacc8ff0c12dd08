package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/server/auth"
)

// socket is a graphql-transport-ws client.
type socket struct {
	t    testing.TB
	conn *websocket.Conn
	msgs chan map[string]any
}

// subscribe opens a websocket signed in with token and subscribes to
// notificationAdded; it fails the test if the server does not accept.
func (e *testEnv) subscribe(t testing.TB, token string) *socket {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	url := "ws" + strings.TrimPrefix(e.server.URL, "http") + "/query"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	s := &socket{t: t, conn: conn, msgs: make(chan map[string]any, 16)}
	go func() {
		defer close(s.msgs)
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				s.msgs <- m
			}
		}
	}()
	s.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token}})
	if m := s.next(5 * time.Second); m == nil || m["type"] != "connection_ack" {
		t.Fatalf("connection_init answered %v", m)
	}
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { notificationAdded { id kind } }"}})
	return s
}

func (s *socket) send(m map[string]any) {
	data, _ := json.Marshal(m)
	if err := s.conn.Write(context.Background(), websocket.MessageText, data); err != nil {
		s.t.Fatal(err)
	}
}

// next returns the next message other than a ping, or nil after wait.
func (s *socket) next(wait time.Duration) map[string]any {
	deadline := time.After(wait)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return nil
			}
			if m["type"] == "ping" || m["type"] == "pong" {
				continue
			}
			return m
		case <-deadline:
			return nil
		}
	}
}

// delivered returns the notification ID a "next" message carries, or "".
func delivered(m map[string]any) string {
	if m == nil || m["type"] != "next" {
		return ""
	}
	payload, _ := m["payload"].(map[string]any)
	data, _ := payload["data"].(map[string]any)
	n, _ := data["notificationAdded"].(map[string]any)
	id, _ := n["id"].(string)
	return id
}

func TestSubscriptionsDeliverOnlyWhatTheRecipientMaySee(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 2, e.clock.Now())
	ctx := access.SystemContext(context.Background())
	notify := func(to pulid.ID, c category.Category) string {
		n, err := e.store.Client.Notification.Create().SetRecipientAccountID(to).SetPatientID(f.Alice.PatientID).
			SetKind(notification.KindRESULT_RELEASED).SetCategory(c).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(n.ID)
	}
	patient := e.subscribe(t, e.signIn(f.Alice.Email, fixturePassword))
	carer := e.subscribe(t, e.signIn(f.Carer.Email, fixturePassword))
	// A subscription starts after what already exists, and it starts a
	// moment after the client asks: probe until one arrives.
	started := func(s *socket, to pulid.ID) {
		t.Helper()
		for range 20 {
			notify(to, category.General)
			if delivered(s.next(500*time.Millisecond)) != "" {
				for s.next(200*time.Millisecond) != nil { // drain later probes
				}
				return
			}
		}
		t.Fatal("the subscription did not start")
	}
	started(carer, f.Carer.AccountID)

	started(patient, f.Alice.AccountID)
	if id := notify(f.Alice.AccountID, category.General); delivered(patient.next(5*time.Second)) != id {
		t.Error("the patient did not receive their notification")
	}
	hidden := notify(f.Carer.AccountID, category.MentalHealth)
	shown := notify(f.Carer.AccountID, category.General)
	if got := delivered(carer.next(5 * time.Second)); got != shown {
		t.Errorf("carer received %q, want the GENERAL notification %s (never %s)", got, shown, hidden)
	}
	if m := carer.next(1500 * time.Millisecond); m != nil {
		t.Errorf("carer received more: %v", m)
	}
	// Revoking the share stops delivery on the open connection.
	if err := e.store.Client.Share.Update().Where(share.GranteeAccountID(f.Carer.AccountID)).SetRevokedAt(e.clock.Now()).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	notify(f.Carer.AccountID, category.General)
	if m := carer.next(2500 * time.Millisecond); delivered(m) != "" {
		t.Errorf("delivered after revocation: %v", m)
	}
}

func TestASubscriptionNeedsAValidToken(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(e.server.URL, "http") + "/query"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(websocket.StatusNormalClosure, "")
	_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{"authToken":"not-a-token"}}`))
	_, data, err := conn.Read(ctx)
	if err == nil && strings.Contains(string(data), "connection_ack") {
		t.Errorf("a bad token was accepted: %s", data)
	}
}

func TestSubscriptionsOverServerSentEvents(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := e.request(`subscription { notificationAdded { id kind } }`, nil).WithContext(ctx)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	// The stream may send its headers only with the first event, so the
	// notification is written while the request waits.
	written := make(chan string, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		n, err := e.store.Client.Notification.Create().SetRecipientAccountID(f.Alice.AccountID).SetPatientID(f.Alice.PatientID).
			SetKind(notification.KindLETTER_RECEIVED).Save(access.SystemContext(context.Background()))
		if err != nil {
			t.Error(err)
		}
		written <- string(n.ID)
	}()
	res, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("content type %q", res.Header.Get("Content-Type"))
	}
	id := <-written
	buf := make([]byte, 4096)
	var got strings.Builder
	for !strings.Contains(got.String(), id) {
		k, err := res.Body.Read(buf)
		if err != nil {
			t.Fatalf("stream ended before the notification: %v (%q)", err, got.String())
		}
		got.Write(buf[:k])
	}
	if !strings.Contains(got.String(), "event: next") {
		t.Errorf("not an SSE next event: %q", got.String())
	}
}

func TestABrowserSubscribesWithItsSessionCookie(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	dial := func(origin string) (*websocket.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		h := http.Header{}
		h.Set("Origin", origin)
		h.Set("Cookie", auth.CookieName+"="+token)
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.server.URL, "http")+"/query",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: h})
		return conn, err
	}
	conn, err := dial(e.server.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(websocket.StatusNormalClosure, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`))
	if _, data, err := conn.Read(ctx); err != nil || !strings.Contains(string(data), "connection_ack") {
		t.Errorf("same-origin cookie: %s %v", data, err)
	}
	if conn, err := dial("https://evil.example"); err == nil {
		conn.Close(websocket.StatusNormalClosure, "")
		t.Error("a cross-origin page opened a websocket with the cookie")
	}
}
