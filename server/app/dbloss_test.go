package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// answer is how one request under load ended.
type answer struct {
	at   time.Time
	took time.Duration
	kind string // "ok", "unavailable", or what else happened
}

// The database goes away under load (a proxy between the server and
// MariaDB drops every connection and refuses new ones) and comes back.
// Every answer meanwhile is the right data or a clean UNAVAILABLE error,
// never an internal error or a hang; /readyz says 503 while the database
// is away; and once it is back every request succeeds, with no restart.
func TestDatabaseLossGivesUnavailableAndRecoversWithoutARestart(t *testing.T) {
	dsn := os.Getenv(storetest.EnvMySQLDSN)
	if dsn == "" {
		t.Skip("needs MariaDB to put a TCP proxy in front of: set " + storetest.EnvMySQLDSN + " (CI does)")
	}
	direct, err := url.Parse(storetest.MySQLURL(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	proxy := storetest.StartProxy(t, direct.Host)
	via := *direct
	via.Host = proxy.Addr()
	st := storetest.OpenEmpty(t, via.String())
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := envOn(t, st)
	f := seed(t, st.Client, 2, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	alice := string(f.Alice.PatientID)
	dashVars := map[string]any{"patient": alice, "now": e.clock.Now().Format(time.RFC3339)}
	const setEmail = `mutation { setNotificationEmail(preference: DAILY) { notificationEmail } }`

	// The deadline past which an answer counts as a hang.
	client := &http.Client{Timeout: 15 * time.Second}
	ask := func(token, query string, vars map[string]any, ok func(json.RawMessage) bool) answer {
		start := time.Now()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		a := answer{at: start}
		res, err := client.Do(req)
		a.took = time.Since(start)
		if err != nil {
			a.kind = "transport: " + err.Error()
			return a
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out gqlResponse
		if res.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil {
			a.kind = res.Status + " " + string(raw)
			return a
		}
		switch codes := out.codes(); {
		case len(codes) == 0 && ok(out.Data):
			a.kind = "ok"
		case len(codes) > 0 && !slices.ContainsFunc(codes, func(c string) bool { return c != "UNAVAILABLE" }):
			a.kind = "unavailable"
		default:
			a.kind = string(raw)
		}
		return a
	}
	dashboard := func() answer {
		return ask(token, dashboardQuery, dashVars, func(d json.RawMessage) bool {
			var data struct {
				Viewer  struct{ Account struct{ ID string } }
				Patient *struct{ ID string }
			}
			return json.Unmarshal(d, &data) == nil && data.Patient != nil && data.Patient.ID == alice &&
				data.Viewer.Account.ID == string(f.Alice.AccountID)
		})
	}
	write := func() answer {
		return ask(token, setEmail, nil, func(d json.RawMessage) bool {
			return bytes.Contains(d, []byte(`"notificationEmail":"DAILY"`))
		})
	}
	ready := func() int {
		res, err := client.Get(e.server.URL + "/readyz")
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}

	// Four clients, three reading the dashboard and one writing, through
	// a healthy second, an outage and what follows.
	var (
		mu      sync.Mutex
		answers []answer
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	for i := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := dashboard
				if i == 0 {
					a = write
				}
				got := a()
				mu.Lock()
				answers = append(answers, got)
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)

	cutStart := time.Now()
	proxy.Cut()
	cutAt := time.Now()
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database away: %d", code)
	}
	// Signing in while the database is away is not a wrong password.
	in := ask("", signInMutation, map[string]any{"email": f.Bob.Email, "password": fixturePassword}, func(json.RawMessage) bool { return false })
	if in.kind != "unavailable" {
		t.Errorf("sign-in with the database away: %s", in.kind)
	}
	time.Sleep(3 * time.Second)

	restoreStart := time.Now()
	proxy.Restore()
	restoredAt := time.Now()
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()

	var straddling, outageOK, outageUnavailable, afterFailures int
	var firstOK, lastFailure time.Duration
	var slowest time.Duration
	for _, a := range answers {
		slowest = max(slowest, a.took)
		end := a.at.Add(a.took)
		switch {
		case a.kind != "ok" && a.kind != "unavailable":
			t.Errorf("an answer at %v after the cut was neither data nor UNAVAILABLE: %s", a.at.Sub(cutAt), a.kind)
		case end.Before(cutStart):
			if a.kind != "ok" {
				t.Errorf("before the cut: %s", a.kind)
			}
		case a.at.Before(cutAt) || !end.Before(restoreStart) && a.at.Before(restoredAt):
			straddling++ // in flight at the cut or at the restore: either answer is right
		case a.at.Before(restoredAt):
			if a.kind == "ok" {
				outageOK++
			} else {
				outageUnavailable++
			}
		default:
			if a.kind == "ok" {
				if d := end.Sub(restoredAt); firstOK == 0 || d < firstOK {
					firstOK = d
				}
			} else {
				afterFailures++
				lastFailure = max(lastFailure, end.Sub(restoredAt))
			}
		}
	}
	t.Logf("%d answers; %d in flight at the cut or the restore; begun and ended during the %v outage: %d UNAVAILABLE, %d ok; "+
		"after restore: first success after %v, %d failures, the last %v after; slowest answer %v",
		len(answers), straddling, restoredAt.Sub(cutAt).Round(time.Millisecond), outageUnavailable, outageOK,
		firstOK.Round(time.Millisecond), afterFailures, lastFailure.Round(time.Millisecond), slowest.Round(time.Millisecond))
	if outageUnavailable == 0 || outageOK > 0 {
		t.Errorf("during the outage %d requests were answered UNAVAILABLE and %d with data", outageUnavailable, outageOK)
	}
	if firstOK == 0 {
		t.Error("no request succeeded after the database came back")
	}

	// Back for good, without a restart.
	if code := ready(); code != http.StatusOK {
		t.Errorf("/readyz with the database back: %d", code)
	}
	for i := range 20 {
		a := dashboard
		if i%4 == 0 {
			a = write
		}
		if got := a(); got.kind != "ok" {
			t.Fatalf("request %d after recovery: %s", i, got.kind)
		}
	}
	// The outage is visible in the metrics by its code.
	got, _ := metric(scrape(t, e.app.Admin(false)), `portal_graphql_errors_total{code="UNAVAILABLE"}`)
	if n, err := strconv.Atoi(got); err != nil || n < outageUnavailable {
		t.Errorf("UNAVAILABLE errors counted: %q, want at least %d", got, outageUnavailable)
	}
}

// envOn starts the portal over st, which the test opened itself.
func envOn(t *testing.T, st *store.Store) *testEnv {
	t.Helper()
	clk := &clock{now: time.Now().UTC()}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a, err := app.New(st.Client, config.Config{}, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	a.SetStoreCheck(st.Ping)
	a.SetReady()
	handler = a
	return &testEnv{t: t, store: st, server: srv, clock: clk, app: a}
}
