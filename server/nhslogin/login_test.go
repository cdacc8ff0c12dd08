package nhslogin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/nhslogin"
	"github.com/patientportal/portal/server/nhslogin/nhslogintest"
)

func TestAuthorizationRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	authURL := h.login(nil)

	if !strings.HasPrefix(authURL.String(), h.op.Issuer()+nhslogintest.AuthorizePath+"?") {
		t.Fatalf("login redirected to %s, not the provider's authorisation endpoint", authURL)
	}
	q := authURL.Query()
	for param, want := range map[string]string{
		"response_type":         "code",
		"client_id":             clientID,
		"redirect_uri":          h.rp.URL + nhslogin.CallbackPath,
		"scope":                 "openid profile email",
		"code_challenge_method": "S256",
		"vtr":                   `["P9.Cp.Cd","P9.Cp.Ck","P9.Cm","P5.Cp.Cd","P5.Cp.Ck","P5.Cm"]`,
	} {
		if got := q.Get(param); got != want {
			t.Errorf("%s = %q, want %q", param, got, want)
		}
	}
	// 256 random bits, base64url: 43 characters.
	for _, param := range []string{"state", "nonce", "code_challenge"} {
		if n := len(q.Get(param)); n < 43 {
			t.Errorf("%s has %d characters, want at least 43", param, n)
		}
	}
	for _, param := range []string{"asserted_login_identity", "prompt"} {
		if q.Has(param) {
			t.Errorf("%s sent without the NHS App asking", param)
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state and nonce are the same value")
	}
	again := h.login(nil).Query()
	if again.Get("state") == q.Get("state") || again.Get("nonce") == q.Get("nonce") ||
		again.Get("code_challenge") == q.Get("code_challenge") {
		t.Error("a second login reused the state, nonce or PKCE challenge")
	}
}

func TestStateCookie(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	resp := h.get(h.rp.URL + nhslogin.LoginPath)
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	loc, _ := resp.Location()
	switch {
	case c.Value != loc.Query().Get("state"):
		t.Error("cookie does not carry the state")
	case !c.HttpOnly:
		t.Error("cookie is readable by scripts")
	case c.SameSite != http.SameSiteLaxMode:
		t.Errorf("SameSite = %v, want Lax so that NHS login's redirect carries it", c.SameSite)
	case c.Path != nhslogin.CallbackPath:
		t.Errorf("Path = %q, want %q", c.Path, nhslogin.CallbackPath)
	case c.MaxAge != 600:
		t.Errorf("MaxAge = %d, want the login's ten minutes", c.MaxAge)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

func TestReturnTo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		returnTo string
		want     string
	}{
		{"local path with a query is kept", "/records/appointments?view=upcoming", "/records/appointments?view=upcoming"},
		{"no return path gives none", "", ""},
		{"protocol-relative URL is dropped", "//evil.example/records", ""},
		{"absolute URL is dropped", "https://evil.example/", ""},
		{"backslash path that browsers read as another host is dropped", `/\evil.example`, ""},
		{"relative path is dropped", "records", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, registeredKey)
			h.op.SetIdentity(nhslogintest.Claims{"sub": "sub-1", "identity_proofing_level": "P9"})

			status, _, _ := h.signIn(url.Values{"return_to": {tt.returnTo}})

			got := h.completions()
			if status != http.StatusSeeOther || len(got) != 1 {
				t.Fatalf("status %d with %d completions; refusals %v", status, len(got), h.refusals())
			}
			if got[0].returnTo != tt.want {
				t.Errorf("returnTo = %q, want %q", got[0].returnTo, tt.want)
			}
		})
	}
}

func TestNHSAppAssertedLoginIdentity(t *testing.T) {
	t.Parallel()
	const assertion = "eyJhbGciOiJSUzUxMiJ9.eyJjb2RlIjoiYWJjIn0.c2lnbmF0dXJl"
	tests := []struct {
		name       string
		query      url.Values
		wantPassed bool
	}{
		{"arrival from the NHS App passes its assertion on with prompt=none",
			url.Values{"assertedLoginIdentity": {assertion}}, true},
		{"assertion that is not a JWT is not passed on",
			url.Values{"assertedLoginIdentity": {"not a jwt"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, registeredKey)
			q := h.login(tt.query).Query()
			passed := q.Get("asserted_login_identity") == assertion && q.Get("prompt") == "none"
			if passed != tt.wantPassed || (!tt.wantPassed && (q.Has("asserted_login_identity") || q.Has("prompt"))) {
				t.Errorf("asserted_login_identity=%q prompt=%q, want passed on: %v",
					q.Get("asserted_login_identity"), q.Get("prompt"), tt.wantPassed)
			}
		})
	}
}

func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	h.login(nil)
	h.rpClock.Advance(5 * time.Minute)
	h.login(nil)
	h.rpClock.Advance(5 * time.Minute) // the first login has just expired

	n, err := h.portal.DeleteExpired(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("deleted %d logins, want 1", n)
	}
	left, err := h.client.OIDCLogin.Query().Count(access.SystemContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Errorf("%d logins left, want 1", left)
	}
}

func TestLoginAnswersOnlyGET(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, h.rp.URL+nhslogin.LoginPath, nil)
	resp, err := h.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("HEAD: status %d, want 405", resp.StatusCode)
	}
	if n, _ := h.client.OIDCLogin.Query().Count(access.SystemContext(t.Context())); n != 0 {
		t.Errorf("HEAD stored %d logins", n)
	}
}
