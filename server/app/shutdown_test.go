package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// At shutdown every subscription ends the way its protocol ends a stream:
// a websocket with close 1001 "going away", server-sent events with their
// complete event; and the server stops reporting ready.
func TestShutdownEndsSubscriptionsWithAProperClose(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	admin := e.app.Admin(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.server.URL, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	write := func(m map[string]any) {
		data, _ := json.Marshal(m)
		if err := conn.Write(ctx, websocket.MessageText, data); err != nil {
			t.Fatal(err)
		}
	}
	write(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token}})
	if _, data, err := conn.Read(ctx); err != nil || !strings.Contains(string(data), "connection_ack") {
		t.Fatalf("connection_init: %s %v", data, err)
	}
	write(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { notificationAdded { id } }"}})
	socketEnd := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				socketEnd <- err
				return
			}
		}
	}()

	body, _ := json.Marshal(map[string]any{"query": "subscription { notificationAdded { id } }"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.server.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	streamEnd := make(chan []string, 1)
	go func() {
		var lines []string
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" && l != ":" {
				lines = append(lines, l)
			}
		}
		streamEnd <- lines
	}()
	waitMetric(t, admin, "portal_graphql_subscriptions_open", "2")

	e.app.Drain.Start()

	select {
	case err := <-socketEnd:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 1001 || ce.Reason != "going away" {
			t.Errorf("the websocket ended with %v, want close 1001 going away", err)
		}
	case <-ctx.Done():
		t.Fatal("the websocket stayed open")
	}
	select {
	case lines := <-streamEnd:
		if len(lines) == 0 || lines[len(lines)-1] != "event: complete" {
			t.Errorf("the event stream ended with %q, want its complete event", lines)
		}
	case <-ctx.Done():
		t.Fatal("the event stream stayed open")
	}
	if err := e.app.Drain.Wait(ctx); err != nil {
		t.Errorf("websockets left open: %v", err)
	}
	waitMetric(t, admin, "portal_graphql_subscriptions_open", "0")
	ready, err := e.server.Client().Get(e.server.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while shutting down: %d", ready.StatusCode)
	}
}
