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
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// TestANotificationOnOneServerReachesASubscriberOnAnother runs two servers,
// each with its own connection to one store, joined by a real broker. The
// subscriptions poll only once a minute, so a delivery within seconds can
// only come through the broker.
func TestANotificationOnOneServerReachesASubscriberOnAnother(t *testing.T) {
	for _, br := range brokers {
		t.Run(br.name, func(t *testing.T) {
			br.need(t)
			a, b, f := twoServers(t, br.url)
			first := a.store
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

// brokers are the real brokers CI runs.
var brokers = []broker{
	{"redis", "redis://127.0.0.1:6379/0", "127.0.0.1:6379"},
	{"nats", "nats://127.0.0.1:4222", "127.0.0.1:4222"},
}

type broker struct{ name, url, addr string }

// need skips the test when the broker is not running.
func (b broker) need(t testing.TB) {
	t.Helper()
	c, err := net.DialTimeout("tcp", b.addr, time.Second)
	if err != nil {
		t.Skipf("needs %s on %s (CI starts it): %v", b.name, b.addr, err)
	}
	c.Close()
}

// twoServers runs two servers, each with its own connection to one store,
// joined by the broker at brokerURL, and seeds the fixture through the
// first. Their subscriptions poll only once a minute, so what reaches a
// subscriber sooner came through the broker.
func twoServers(t testing.TB, brokerURL string) (first, second *testEnv, f *fixture) {
	t.Helper()
	url := storetest.URL(t)
	one := storetest.OpenEmpty(t, url)
	if err := one.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	two := storetest.OpenEmpty(t, url)
	cfg := config.Config{BrokerURL: brokerURL, FeedInterval: time.Minute}
	serve := func(st *store.Store) *testEnv {
		clk := &clock{now: time.Now().UTC()}
		a, err := app.New(st.Client, cfg, clk.Now)
		if err != nil {
			t.Fatal(err)
		}
		a.SetReady()
		srv := httptest.NewServer(a)
		t.Cleanup(srv.Close)
		t.Cleanup(func() { a.Broker.Close() })
		return &testEnv{t: t, server: srv, clock: clk, store: st, app: a}
	}
	first, second = serve(one), serve(two)
	return first, second, seed(t, one.Client, 1, first.clock.Now())
}
