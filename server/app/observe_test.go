package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/observe"
)

// logCapture replaces the default logger, as main sets it up, with one
// writing into a buffer, until the test ends.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// lines returns the JSON log records.
func (c *logCapture) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(c.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func captureLogs(t *testing.T) *logCapture {
	c := &logCapture{}
	old := slog.Default()
	slog.SetDefault(slog.New(observe.NewLogHandler(slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	t.Cleanup(func() { slog.SetDefault(old) })
	return c
}

// postWithID sends a GraphQL request with an X-Request-Id and returns the
// id the server answered with.
func (e *testEnv) postWithID(id, token, query string, vars map[string]any) (gqlResponse, string) {
	e.t.Helper()
	req := e.request(query, vars)
	if id != "" {
		req.Header.Set(observe.HeaderRequestID, id)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var out gqlResponse
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatalf("status %d, body %q: %v", res.StatusCode, body, err)
	}
	out.raw = body
	return out, res.Header.Get(observe.HeaderRequestID)
}

func TestLogsNameTheRequestAndOperationButNoPersonalData(t *testing.T) {
	logs := captureLogs(t)
	e := newEnv(t)
	f := seed(t, e.store.Client, 2, e.clock.Now())
	alice := string(f.Alice.PatientID)

	signIn := `mutation SignIn($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) { token account { id email displayName } }
}`
	res, id := e.postWithID("lb-7f3a.signin:1", "", signIn, map[string]any{"email": f.Alice.Email, "password": fixturePassword})
	if len(res.Errors) > 0 || id != "lb-7f3a.signin:1" {
		t.Fatalf("sign-in answered id %q: %s", id, res.raw)
	}
	var data struct{ SignIn struct{ Token string } }
	res.decode(t, &data)
	token := data.SignIn.Token

	// An id that is not a plain token is replaced, not logged.
	res, dashID := e.postWithID("alice@example.org <script>", token, dashboardQuery,
		map[string]any{"patient": alice, "now": e.clock.Now().Format(time.RFC3339)})
	if len(res.Errors) > 0 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(dashID) {
		t.Fatalf("dashboard answered id %q: %s", dashID, res.raw)
	}
	if !strings.Contains(string(res.Data), "Alice") {
		t.Fatalf("dashboard has no name to leak: %s", res.raw)
	}
	// A failed sign-in is logged with its code, not its email.
	wrong, _ := e.postWithID("", "", signIn, map[string]any{"email": f.Bob.Email, "password": "wrong password entirely"})
	if got := wrong.codes(); len(got) != 1 || got[0] != "UNAUTHENTICATED" {
		t.Fatalf("wrong password: %s", wrong.raw)
	}

	find := func(requestID string) map[string]any {
		t.Helper()
		for _, l := range logs.lines(t) {
			if l["msg"] == "request" && l["request_id"] == requestID {
				return l
			}
		}
		t.Fatalf("no request line with id %q in:\n%s", requestID, logs)
		return nil
	}
	for _, want := range []struct{ id, operation, kind string }{
		{"lb-7f3a.signin:1", "SignIn", "mutation"},
		{dashID, "Dashboard", "query"},
	} {
		line := find(want.id)
		if line["operation"] != want.operation || line["operation_type"] != want.kind ||
			line["path"] != "/query" || line["method"] != "POST" || line["status"] != float64(200) {
			t.Errorf("request line %v, want operation %s (%s)", line, want.operation, want.kind)
		}
	}
	var failed bool
	for _, l := range logs.lines(t) {
		if codes, ok := l["error_codes"].([]any); ok && l["operation"] == "SignIn" && len(codes) == 1 && codes[0] == "UNAUTHENTICATED" {
			failed = true
		}
	}
	if !failed {
		t.Errorf("the failed sign-in has no line with its error code:\n%s", logs)
	}

	text := logs.String()
	for _, secret := range []string{
		f.Alice.Email, f.Bob.Email, "alice@", fixturePassword, "wrong password", token,
		"Alice", "Example", "9990000018", "<script>", "signIn(input", alice,
	} {
		if strings.Contains(text, secret) {
			t.Errorf("the log contains %q:\n%s", secret, text)
		}
	}
}

// scrape reads the admin listener's /metrics.
func scrape(t *testing.T, admin http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// metric returns the value of the sample named with its labels exactly as
// written in the exposition, and whether it is there.
func metric(text, sample string) (string, bool) {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			return v, true
		}
	}
	return "", false
}

func TestMetricsCountOperationsErrorsSubscriptionsPoolAndOutbox(t *testing.T) {
	e := newEnv(t)
	if err := e.app.Metrics.Register(collectors.NewDBStatsCollector(e.store.DB, "portal")); err != nil {
		t.Fatal(err)
	}
	admin := e.app.Admin(false)
	f := seed(t, e.store.Client, 2, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	vars := map[string]any{"patient": string(f.Alice.PatientID), "now": e.clock.Now().Format(time.RFC3339)}
	for range 3 {
		if res := e.post(token, dashboardQuery, vars); len(res.Errors) > 0 {
			t.Fatal(res.raw)
		}
	}
	e.post(token, `{ viewer { account { id } } }`, nil)
	e.post("", `mutation Bad($email: String!, $password: String!) { signIn(input: {email: $email, password: $password}) { token } }`,
		map[string]any{"email": f.Bob.Email, "password": "not the password at all"})
	e.post(token, `query Broken { noSuchField }`, nil)
	// A client inventing names cannot grow the metrics without bound.
	for i := range 120 {
		e.post(token, fmt.Sprintf(`query Invented%d { viewer { account { id } } }`, i), nil)
	}
	// One email waiting in the outbox.
	if err := e.store.Client.MailMessage.Create().SetRecipient("someone@example.org").SetSubject("News").
		SetTextBody("Sign in to read it").SetKind("TEST").Exec(access.SystemContext(context.Background())); err != nil {
		t.Fatal(err)
	}
	sock := e.subscribe(t, token)

	text := scrape(t, admin)
	for sample, want := range map[string]string{
		`portal_graphql_request_duration_seconds_count{operation="Dashboard",type="query"}`: "3",
		`portal_graphql_request_duration_seconds_count{operation="anonymous",type="query"}`: "1",
		`portal_graphql_request_duration_seconds_count{operation="Bad",type="mutation"}`:    "1",
		`portal_graphql_errors_total{code="UNAUTHENTICATED"}`:                               "1",
		`portal_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}`:                     "1",
		`portal_mail_outbox_backlog`:                    "1",
		`go_sql_max_open_connections{db_name="portal"}`: "",
	} {
		got, ok := metric(text, sample)
		if !ok || (want != "" && got != want) {
			t.Errorf("%s = %q (present %v), want %q", sample, got, ok, want)
		}
	}
	if got, ok := metric(text, `portal_graphql_request_duration_seconds_count{operation="other",type="query"}`); !ok || got == "0" {
		t.Errorf("names past the limit are not folded into other: %q", got)
	}
	ops := map[string]bool{}
	for _, m := range regexp.MustCompile(`portal_graphql_request_duration_seconds_count\{operation="([^"]+)"`).FindAllStringSubmatch(text, -1) {
		ops[m[1]] = true
	}
	if len(ops) > 102 {
		t.Errorf("%d operation labels", len(ops))
	}
	if !strings.Contains(text, `portal_graphql_request_duration_seconds_bucket{operation="Dashboard",type="query",le="0.025"}`) {
		t.Error("no latency buckets for the dashboard")
	}

	// The open subscription is counted while it runs, and not after.
	waitMetric(t, admin, "portal_graphql_subscriptions_open", "1")
	sock.conn.Close(1000, "")
	waitMetric(t, admin, "portal_graphql_subscriptions_open", "0")

	// Neither metrics nor profiles are on the public listener; profiles
	// are on the admin listener only when asked for.
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		res, err := e.server.Client().Get(e.server.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK || strings.Contains(string(body), "portal_") {
			t.Errorf("public %s answered %d", path, res.StatusCode)
		}
	}
	for pprof, want := range map[bool]int{false: http.StatusNotFound, true: http.StatusOK} {
		rec := httptest.NewRecorder()
		e.app.Admin(pprof).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil))
		if rec.Code != want {
			t.Errorf("admin with pprof %v: /debug/pprof/ answered %d", pprof, rec.Code)
		}
	}
}

// waitMetric scrapes until the sample has the value; a gauge follows an
// event on another goroutine.
func waitMetric(t *testing.T, admin http.Handler, sample, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := metric(scrape(t, admin), sample)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", sample, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
