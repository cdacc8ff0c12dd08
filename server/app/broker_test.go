package app_test

import (
	"context"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store/storetest"
)

// TestANotificationOnOneServerReachesASubscriberOnAnother runs two servers,
// each with its own connection to one store, joined by a real broker. The
// subscriptions poll only once a minute, so a delivery within seconds can
// only come through the broker.
func TestANotificationOnOneServerReachesASubscriberOnAnother(t *testing.T) {
	for _, b := range []struct{ name, url, addr string }{
		{"redis", "redis://127.0.0.1:6379/0", "127.0.0.1:6379"},
		{"nats", "nats://127.0.0.1:4222", "127.0.0.1:4222"},
	} {
		t.Run(b.name, func(t *testing.T) {
			if c, err := net.DialTimeout("tcp", b.addr, time.Second); err != nil {
				t.Skipf("needs %s on %s (CI starts it): %v", b.name, b.addr, err)
			} else {
				c.Close()
			}
			url := storetest.URL(t)
			first := storetest.OpenEmpty(t, url)
			if err := first.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			second := storetest.OpenEmpty(t, url)
			cfg := config.Config{BrokerURL: b.url, FeedInterval: time.Minute}
			serve := func(a *app.App, err error) *testEnv {
				if err != nil {
					t.Fatal(err)
				}
				a.SetReady()
				srv := httptest.NewServer(a)
				t.Cleanup(srv.Close)
				t.Cleanup(func() { a.Broker.Close() })
				return &testEnv{t: t, server: srv, clock: &clock{now: time.Now().UTC()}}
			}
			a := serve(app.New(first.Client, cfg, nil))
			b := serve(app.New(second.Client, cfg, nil))
			a.store, b.store = first, second
			f := seed(t, first.Client, 1, time.Now().UTC())

			onB := b.subscribe(t, b.signIn(f.Alice.Email, fixturePassword))
			ctx := access.SystemContext(context.Background())
			// Written through the first server's client: its hook publishes.
			// The subscription begins a moment after the client asks, and
			// what exists when it begins is not news: write until one
			// arrives. Polls come once a minute, so within these 40 s any
			// delivery came through the broker.
			for range 20 {
				if err := first.Client.Notification.Create().SetRecipientAccountID(f.Alice.AccountID).
					SetPatientID(f.Alice.PatientID).SetKind(notification.KindLETTER_RECEIVED).Exec(ctx); err != nil {
					t.Fatal(err)
				}
				if delivered(onB.next(2*time.Second)) != "" {
					return
				}
			}
			t.Fatal("no notification written on one server reached the subscriber on the other")
		})
	}
}
