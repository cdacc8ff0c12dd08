package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store/storetest"
)

const allowedOrigin = "https://app.example.org"

func TestEveryResponseCarriesTheSecurityHeaders(t *testing.T) {
	e := newEnvWith(t, func(string) config.Config { return config.Config{AllowedOrigins: []string{allowedOrigin}} })
	routes := []struct{ method, path, body string }{
		{"POST", "/query", `{"query":"{ __typename }"}`},
		{"GET", "/query?query=%7B__typename%7D", ""},
		{"GET", "/letters/lt01HZZZZZZZZZZZZZZZZZZZZZZZ/document", ""},
		{"GET", "/research/studies/rs01HZZZZZZZZZZZZZZZZZZZZZZZ/export", ""},
		{"POST", "/measurements/upload", ""},
		{"POST", "/fhir/r4", ""},
		{"GET", "/healthz", ""},
		{"GET", "/", ""},
		{"GET", "/no-such-page", ""},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			req, _ := http.NewRequest(rt.method, e.server.URL+rt.path, strings.NewReader(rt.body))
			req.Header.Set("Content-Type", "application/json")
			res, err := e.server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			want := map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"Cache-Control":          "no-store",
			}
			// (The FHIR CapabilityStatement alone says it may be cached:
			// it is the same public document for everyone.)
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			if hsts := res.Header.Get("Strict-Transport-Security"); hsts != "" {
				t.Errorf("HSTS over plain HTTP: %q", hsts)
			}
		})
	}
}

func TestGraphiQLHasAPolicyThatLetsItLoad(t *testing.T) {
	e := newEnv(t)
	res, err := e.server.Client().Get(e.server.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src https://cdn.jsdelivr.net 'sha256-", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("GraphiQL policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'unsafe-inline'") {
		t.Errorf("GraphiQL policy allows arbitrary script: %q", csp)
	}
}

func TestHSTSOnlyWhenTheRequestCameOverTLS(t *testing.T) {
	hstsOf := func(srv *httptest.Server, proto string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/healthz", nil)
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header.Get("Strict-Transport-Security")
	}
	const want = "max-age=63072000; includeSubDomains"

	direct := serve(t, config.Config{}, true)
	if got := hstsOf(direct, ""); got != want {
		t.Errorf("over TLS: HSTS = %q, want %q", got, want)
	}
	proxied := serve(t, config.Config{TrustedProxyHeader: "X-Forwarded-For"}, false)
	if got := hstsOf(proxied, "https"); got != want {
		t.Errorf("behind a trusted proxy reached over HTTPS: HSTS = %q", got)
	}
	if got := hstsOf(proxied, "http"); got != "" {
		t.Errorf("behind a trusted proxy reached over HTTP: HSTS = %q", got)
	}
	untrusted := serve(t, config.Config{}, false)
	if got := hstsOf(untrusted, "https"); got != "" {
		t.Errorf("X-Forwarded-Proto believed without a trusted proxy: HSTS = %q", got)
	}
}

// serve starts the portal over a fresh store, over TLS when tls is set.
func serve(t *testing.T, cfg config.Config, tls bool) *httptest.Server {
	t.Helper()
	st := storetest.Open(t)
	a, err := app.New(st.Client, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetReady()
	srv := httptest.NewUnstartedServer(a)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestCORSAllowsExactlyTheListedOrigins(t *testing.T) {
	listed := newEnvWith(t, func(string) config.Config { return config.Config{AllowedOrigins: []string{allowedOrigin}} })
	unlisted := newEnv(t)
	preflight := func(e *testEnv, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, e.server.URL+"/query", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		res, err := e.server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	actual := func(e *testEnv, origin string) *http.Response {
		t.Helper()
		req := e.request(`{ __typename }`, nil)
		req.Header.Set("Origin", origin)
		res, err := e.server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	t.Run("a listed origin's preflight is answered, with credentials", func(t *testing.T) {
		res := preflight(listed, allowedOrigin)
		if res.StatusCode/100 != 2 {
			t.Errorf("preflight status %d", res.StatusCode)
		}
		h := res.Header
		if h.Get("Access-Control-Allow-Origin") != allowedOrigin || h.Get("Access-Control-Allow-Credentials") != "true" ||
			!strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "content-type") ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
			t.Errorf("preflight headers %v", h)
		}
		res = actual(listed, allowedOrigin)
		if res.Header.Get("Access-Control-Allow-Origin") != allowedOrigin || res.Header.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("POST from the listed origin: %v", res.Header)
		}
	})
	for _, tc := range []struct {
		name   string
		env    *testEnv
		origin string
	}{
		{"an unlisted origin", listed, "https://evil.example"},
		{"a listed origin over the other scheme", listed, "http://app.example.org"},
		{"a subdomain of a listed origin", listed, "https://x.app.example.org"},
		{"the null origin", listed, "null"},
		{"any origin when none is listed", unlisted, allowedOrigin},
	} {
		t.Run(tc.name+" gets no CORS headers", func(t *testing.T) {
			for _, res := range []*http.Response{preflight(tc.env, tc.origin), actual(tc.env, tc.origin)} {
				if acao := res.Header.Get("Access-Control-Allow-Origin"); acao != "" {
					t.Errorf("%s: Access-Control-Allow-Origin %q", res.Request.Method, acao)
				}
				if acac := res.Header.Get("Access-Control-Allow-Credentials"); acac != "" {
					t.Errorf("%s: Access-Control-Allow-Credentials %q", res.Request.Method, acac)
				}
			}
		})
	}
}

func TestWebsocketUpgradeChecksTheOriginList(t *testing.T) {
	e := newEnvWith(t, func(string) config.Config { return config.Config{AllowedOrigins: []string{allowedOrigin}} })
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	dial := func(origin string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := http.Header{}
		h.Set("Origin", origin)
		h.Set("Cookie", auth.CookieName+"="+token)
		conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.server.URL, "http")+"/query",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: h})
		if err != nil {
			if res != nil && res.StatusCode == http.StatusSwitchingProtocols {
				t.Errorf("%s: upgraded, then %v", origin, err)
			}
			return err
		}
		defer conn.Close(websocket.StatusNormalClosure, "")
		if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`)); err != nil {
			return err
		}
		_, data, err := conn.Read(ctx)
		if err == nil && !strings.Contains(string(data), "connection_ack") {
			t.Errorf("%s: %s", origin, data)
		}
		return err
	}
	if err := dial(allowedOrigin); err != nil {
		t.Errorf("the listed origin could not subscribe with its cookie: %v", err)
	}
	for _, o := range []string{"https://evil.example", "https://x.app.example.org"} {
		if err := dial(o); err == nil {
			t.Errorf("%s upgraded with the cookie", o)
		}
	}
}

func TestBehindATLSProxyThePublicOriginUsesTheCookie(t *testing.T) {
	const public = "https://portal.example.org"
	e := newEnvWith(t, func(string) config.Config {
		return config.Config{TrustedProxyHeader: "X-Forwarded-For", PublicURL: public + "/"}
	})
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	me := func(origin string) string {
		req := e.request(`{ viewer { account { email } } }`, nil)
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: token})
		req.Header.Set("Origin", origin)
		req.Header.Set("X-Forwarded-Proto", "https")
		return string(e.send(req).Data)
	}
	// The proxy speaks HTTPS to the browser and HTTP to the server: the
	// SPA's own origin is the public one, which the request cannot show.
	if got := me(public); !strings.Contains(got, f.Alice.Email) {
		t.Errorf("the portal's own page behind the proxy: %s", got)
	}
	if got := me("https://evil.example"); strings.Contains(got, f.Alice.Email) {
		t.Errorf("another origin behind the proxy: %s", got)
	}
}
