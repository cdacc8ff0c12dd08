package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// testEnv is a running portal over a fresh store, reached over real HTTP.
type testEnv struct {
	t       testing.TB
	store   *store.Store
	server  *httptest.Server
	counter *store.StatementCounter
	clock   *clock
	app     *app.App
}

// clock is an injected clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	return newEnvWith(t, func(string) config.Config { return config.Config{} })
}

// newEnvWith starts the portal with the configuration configure returns
// for the server's URL.
func newEnvWith(t testing.TB, configure func(url string) config.Config) *testEnv {
	t.Helper()
	counter := &store.StatementCounter{}
	st := storetest.Open(t, store.WithStatementCounter(counter))
	clk := &clock{now: time.Now().UTC()}
	var handler http.Handler
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	a, err := app.New(st.Client, configure(srv.URL), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	a.SetReady()
	handler = a
	return &testEnv{t: t, store: st, server: srv, counter: counter, clock: clk, app: a}
}

// gqlResponse is a GraphQL response as a client reads it.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	raw    []byte
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (r gqlResponse) codes() []string {
	var codes []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		codes = append(codes, c)
	}
	return codes
}

// decode unmarshals the data into v.
func (r gqlResponse) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Data, err)
	}
}

// post sends a GraphQL request with a bearer token ("" for none).
func (e *testEnv) post(token, query string, vars map[string]any) gqlResponse {
	e.t.Helper()
	req := e.request(query, vars)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.send(req)
}

func (e *testEnv) request(query string, vars map[string]any) *http.Request {
	e.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.server.URL+"/query", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func (e *testEnv) send(req *http.Request) gqlResponse {
	e.t.Helper()
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		e.t.Fatal(err)
	}
	var out gqlResponse
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		e.t.Fatalf("status %d, body %q: %v", res.StatusCode, buf.String(), err)
	}
	out.raw = buf.Bytes()
	return out
}

const signInMutation = `mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) { token account { id email } }
}`

// signIn signs in through the API and returns the token.
func (e *testEnv) signIn(email, password string) string {
	e.t.Helper()
	res := e.post("", signInMutation, map[string]any{"email": email, "password": password})
	if len(res.Errors) > 0 {
		e.t.Fatalf("signIn %s: %+v", email, res.Errors)
	}
	var data struct {
		SignIn struct{ Token string }
	}
	res.decode(e.t, &data)
	return data.SignIn.Token
}

var (
	hashOnce     sync.Once
	passwordHash string
)

// fixturePassword is the password of every fixture account; hashed once per
// test binary, since argon2id is deliberately slow.
const fixturePassword = "correct horse battery staple"

func fixtureHash(t testing.TB) string {
	hashOnce.Do(func() {
		h, err := auth.HashPassword(fixturePassword)
		if err != nil {
			t.Fatal(err)
		}
		passwordHash = h
	})
	return passwordHash
}
