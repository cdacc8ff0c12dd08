package nhslogintest_test

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/patientportal/portal/server/nhslogin/nhslogintest"
)

const (
	clientID    = "client-1"
	redirectURI = "https://portal.example/auth/nhs/callback"
	verifier    = "a-verifier-of-forty-three-characters-or-more-0123456789"
)

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fixture is a provider with one private_key_jwt client.
type fixture struct {
	op  *nhslogintest.Provider
	key any
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	keyPEM, pub := nhslogintest.NewClientKey(t)
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 6, 3, 9, 0, 0, 0, time.UTC)
	f := &fixture{op: nhslogintest.New(t, nhslogintest.WithClock(func() time.Time { return now })), key: key, now: now}
	f.op.Register(nhslogintest.Client{ID: clientID, RedirectURI: redirectURI, PublicKey: pub})
	f.op.SetIdentity(nhslogintest.Claims{"sub": "sub-1"})
	return f
}

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize asks for a code and returns the redirect's query.
func (f *fixture) authorize(t *testing.T, change func(url.Values)) (int, url.Values) {
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"openid profile"}, "state": {"st"}, "nonce": {"n-1"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	if change != nil {
		change(q)
	}
	resp, err := noRedirects.Get(f.op.Issuer() + nhslogintest.AuthorizePath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, loc.Query()
}

func (f *fixture) assertion(t *testing.T, change func(*jwt.Claims)) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS512, Key: f.key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{f.op.Issuer() + nhslogintest.TokenPath},
		ID: rand.Text(), IssuedAt: jwt.NewNumericDate(f.now), Expiry: jwt.NewNumericDate(f.now.Add(time.Minute))}
	if change != nil {
		change(&c)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) tokenForm(t *testing.T, code string) url.Values {
	return url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"code_verifier":         {verifier},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {f.assertion(t, nil)},
	}
}

func (f *fixture) token(t *testing.T, form url.Values) int {
	resp, err := http.PostForm(f.op.Issuer()+nhslogintest.TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		change     func(t *testing.T, f *fixture, form url.Values)
		wantStatus int
		wantReason string
	}{
		{"valid private_key_jwt request gets tokens", func(*testing.T, *fixture, url.Values) {}, http.StatusOK, ""},
		{"missing client authentication is refused", func(_ *testing.T, _ *fixture, form url.Values) {
			form.Del("client_assertion_type")
			form.Del("client_assertion")
		}, http.StatusUnauthorized, "no client authentication"},
		{"client assertion for another audience is refused", func(t *testing.T, f *fixture, form url.Values) {
			form.Set("client_assertion", f.assertion(t, func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://other.example/token"} }))
		}, http.StatusUnauthorized, "client assertion claims"},
		{"expired client assertion is refused", func(t *testing.T, f *fixture, form url.Values) {
			form.Set("client_assertion", f.assertion(t, func(c *jwt.Claims) {
				c.IssuedAt = jwt.NewNumericDate(f.now.Add(-10 * time.Minute))
				c.Expiry = jwt.NewNumericDate(f.now.Add(-5 * time.Minute))
			}))
		}, http.StatusUnauthorized, "client assertion claims"},
		{"client assertion without jti is refused", func(t *testing.T, f *fixture, form url.Values) {
			form.Set("client_assertion", f.assertion(t, func(c *jwt.Claims) { c.ID = "" }))
		}, http.StatusUnauthorized, "no jti"},
		{"client_id other than the assertion's issuer is refused", func(_ *testing.T, _ *fixture, form url.Values) {
			form.Set("client_id", "someone-else")
		}, http.StatusUnauthorized, "client_id differs"},
		{"wrong code_verifier is refused", func(_ *testing.T, _ *fixture, form url.Values) {
			form.Set("code_verifier", strings.Repeat("x", 43))
		}, http.StatusBadRequest, "code_verifier does not match"},
		{"missing code_verifier is refused", func(_ *testing.T, _ *fixture, form url.Values) {
			form.Del("code_verifier")
		}, http.StatusBadRequest, "code_verifier missing"},
		{"redirect_uri other than the authorisation request's is refused", func(_ *testing.T, _ *fixture, form url.Values) {
			form.Set("redirect_uri", "https://portal.example/elsewhere")
		}, http.StatusBadRequest, "redirect_uri differs"},
		{"unknown code is refused", func(_ *testing.T, _ *fixture, form url.Values) {
			form.Set("code", "made-up")
		}, http.StatusBadRequest, "unknown or spent code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			_, q := f.authorize(t, nil)
			form := f.tokenForm(t, q.Get("code"))
			tt.change(t, f, form)

			if got := f.token(t, form); got != tt.wantStatus {
				t.Errorf("status %d, want %d; refusals %q", got, tt.wantStatus, f.op.Refusals())
			}
			refusals := f.op.Refusals()
			if tt.wantReason == "" && len(refusals) != 0 {
				t.Errorf("refusals %q, want none", refusals)
			}
			if tt.wantReason != "" && !slices.ContainsFunc(refusals, func(r string) bool { return strings.Contains(r, tt.wantReason) }) {
				t.Errorf("refusals %q, want one containing %q", refusals, tt.wantReason)
			}
		})
	}
}

func TestCodeIsGoodOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, q := f.authorize(t, nil)
	if got := f.token(t, f.tokenForm(t, q.Get("code"))); got != http.StatusOK {
		t.Fatalf("first exchange: %d; refusals %q", got, f.op.Refusals())
	}
	if got := f.token(t, f.tokenForm(t, q.Get("code"))); got != http.StatusBadRequest {
		t.Errorf("second exchange: %d, want 400", got)
	}
}

func TestClientAssertionIsGoodOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, q1 := f.authorize(t, nil)
	_, q2 := f.authorize(t, nil)
	form := f.tokenForm(t, q1.Get("code"))
	if got := f.token(t, form); got != http.StatusOK {
		t.Fatalf("first exchange: %d; refusals %q", got, f.op.Refusals())
	}
	form.Set("code", q2.Get("code"))
	if got := f.token(t, form); got != http.StatusUnauthorized {
		t.Errorf("replayed assertion: %d, want 401", got)
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		change     func(url.Values)
		wantStatus int
		wantError  string
	}{
		{"valid request is sent back with a code", nil, http.StatusFound, ""},
		{"unregistered redirect_uri gets no redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
			http.StatusBadRequest, ""},
		{"request without PKCE is sent back with invalid_request", func(q url.Values) { q.Del("code_challenge") },
			http.StatusFound, "invalid_request"},
		{"plain PKCE is sent back with invalid_request", func(q url.Values) { q.Set("code_challenge_method", "plain") },
			http.StatusFound, "invalid_request"},
		{"request without a nonce is sent back with invalid_request", func(q url.Values) { q.Del("nonce") },
			http.StatusFound, "invalid_request"},
		{"request without the openid scope is sent back with invalid_scope", func(q url.Values) { q.Set("scope", "profile") },
			http.StatusFound, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			status, q := f.authorize(t, tt.change)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d", status, tt.wantStatus)
			}
			if status != http.StatusFound {
				return
			}
			if q.Get("state") != "st" {
				t.Errorf("state %q not returned", q.Get("state"))
			}
			if q.Get("error") != tt.wantError {
				t.Errorf("error = %q, want %q", q.Get("error"), tt.wantError)
			}
			if (tt.wantError == "") != q.Has("code") {
				t.Errorf("code present = %v, want %v", q.Has("code"), tt.wantError == "")
			}
		})
	}
}
