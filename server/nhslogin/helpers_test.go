package nhslogin_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/server/nhslogin"
	"github.com/patientportal/portal/server/nhslogin/nhslogintest"
	"github.com/patientportal/portal/server/store/storetest"
)

// start is in the past on purpose: tokens dated then only verify if the
// relying party reads the injected clock rather than time.Now.
var start = time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)

const clientID = "portal-test"

// clock is a settable clock shared by a test and the code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// clientAuth is how the portal authenticates at the token endpoint.
type clientAuth int

const (
	registeredKey   clientAuth = iota // private_key_jwt with the registered key
	unregisteredKey                   // private_key_jwt with a key the provider does not know
	rightSecret                       // client_secret_basic
	wrongSecret                       // a secret the provider does not know
)

// completion is one call of the CompleteFunc.
type completion struct {
	id       nhslogin.Identity
	returnTo string
}

// harness is a portal with NHS login wired to an in-process provider, and
// a browser that does not follow redirects so that each step can be
// inspected or spoiled.
type harness struct {
	t       *testing.T
	op      *nhslogintest.Provider
	opClock *clock
	rpClock *clock
	rp      *httptest.Server
	portal  *nhslogin.Provider
	client  *ent.Client
	browser *http.Client
	logs    *syncBuffer

	// cookieName is the state cookie's name, learnt from the login response.
	cookieName string

	mu   sync.Mutex
	done []completion
}

func newHarness(t *testing.T, auth clientAuth) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		opClock: &clock{t: start},
		rpClock: &clock{t: start},
		client:  storetest.Open(t).Client,
		logs:    &syncBuffer{},
	}
	h.op = nhslogintest.New(t, nhslogintest.WithClock(h.opClock.Now))

	var handler http.Handler
	h.rp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.rp.Close)
	redirect := h.rp.URL + nhslogin.CallbackPath

	cfg := nhslogin.Config{Issuer: h.op.Issuer(), ClientID: clientID, RedirectURL: redirect, KeyID: "portal-1"}
	registered := nhslogintest.Client{ID: clientID, RedirectURI: redirect}
	switch auth {
	case registeredKey:
		cfg.PrivateKeyPEM, registered.PublicKey = nhslogintest.NewClientKey(t)
	case unregisteredKey:
		_, registered.PublicKey = nhslogintest.NewClientKey(t)
		cfg.PrivateKeyPEM, _ = nhslogintest.NewClientKey(t)
	case rightSecret:
		cfg.ClientSecret, registered.Secret = "s3cret/with+odd&chars", "s3cret/with+odd&chars"
	case wrongSecret:
		cfg.ClientSecret, registered.Secret = "guessed", "s3cret"
	}
	h.op.Register(registered)

	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := nhslogin.New(t.Context(), cfg, h.client, h.rpClock.Now, h.complete, nhslogin.WithLogger(logger))
	if err != nil {
		t.Fatalf("nhslogin.New: %v", err)
	}
	h.portal = p
	mux := http.NewServeMux()
	mux.Handle("/auth/nhs/", p.Handler())
	handler = mux

	h.newBrowser()
	return h
}

// newBrowser gives the harness a browser with an empty cookie jar.
func (h *harness) newBrowser() {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.browser = &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (h *harness) complete(w http.ResponseWriter, r *http.Request, id nhslogin.Identity, returnTo string) {
	h.mu.Lock()
	h.done = append(h.done, completion{id, returnTo})
	h.mu.Unlock()
	if returnTo == "" {
		returnTo = "/"
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

func (h *harness) completions() []completion {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]completion(nil), h.done...)
}

// login opens the login path with query and returns the authorisation URL
// the portal redirects to.
func (h *harness) login(query url.Values) *url.URL {
	h.t.Helper()
	resp := h.get(h.rp.URL + nhslogin.LoginPath + "?" + query.Encode())
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("login: status %d, want 302", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		h.cookieName = c.Name
	}
	return h.location(resp)
}

// authorize follows the redirect to the provider and returns the callback
// URL it sends the browser back to.
func (h *harness) authorize(u *url.URL) *url.URL {
	h.t.Helper()
	resp := h.get(u.String())
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	return h.location(resp)
}

// callback opens the callback URL and returns the response's status,
// body and Location.
func (h *harness) callback(u *url.URL) (int, string, string) {
	h.t.Helper()
	resp := h.get(u.String())
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

// signIn runs the whole flow and returns what the callback answered.
func (h *harness) signIn(query url.Values) (int, string, string) {
	h.t.Helper()
	return h.callback(h.authorize(h.login(query)))
}

// setStateCookie puts a state cookie in the browser, as a replaying or
// forging browser would.
func (h *harness) setStateCookie(value string) {
	u, _ := url.Parse(h.rp.URL + nhslogin.CallbackPath)
	h.browser.Jar.SetCookies(u, []*http.Cookie{{Name: h.cookieName, Value: value, Path: nhslogin.CallbackPath}})
}

func (h *harness) get(u string) *http.Response {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := h.browser.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", u, err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (h *harness) location(resp *http.Response) *url.URL {
	h.t.Helper()
	u, err := resp.Location()
	if err != nil {
		h.t.Fatalf("no Location: %v", err)
	}
	return u
}

// refusals returns the reasons the portal logged for refused sign-ins.
func (h *harness) refusals() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		var rec struct {
			Msg    string `json:"msg"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "nhslogin: sign-in refused" {
			out = append(out, rec.Reason)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
