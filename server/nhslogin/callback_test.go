package nhslogin_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/nhslogin"
	"github.com/patientportal/portal/server/nhslogin/nhslogintest"
)

const (
	nhsNumber = "9434765919"
	email     = "pat.example@example.com"
	birthdate = "1970-01-23"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	dob := time.Date(1970, 1, 23, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		auth     clientAuth
		identity nhslogintest.Claims
		want     nhslogin.Identity
		wantAuth string
	}{
		{
			name: "P9 patient signs in with NHS number, birth date and the level from identity_proofing_level",
			identity: nhslogintest.Claims{"sub": "sub-p9", "nhs_number": nhsNumber, "birthdate": birthdate,
				"email": email, "identity_proofing_level": "P9", "vot": "P9.Cp.Cd", "family_name": "Example"},
			want:     nhslogin.Identity{Subject: "sub-p9", NHSNumber: nhsNumber, Email: email, Birthdate: dob, Level: nhslogin.LevelP9},
			wantAuth: "private_key_jwt",
		},
		{
			name:     "P9 patient whose token has only vot signs in at P9",
			identity: nhslogintest.Claims{"sub": "sub-vot", "nhs_number": "9449304424", "birthdate": birthdate, "vot": "P9.Cp.Ck"},
			want:     nhslogin.Identity{Subject: "sub-vot", NHSNumber: "9449304424", Birthdate: dob, Level: nhslogin.LevelP9},
			wantAuth: "private_key_jwt",
		},
		{
			name:     "P5 patient signs in at P5 without an NHS number",
			identity: nhslogintest.Claims{"sub": "sub-p5", "email": email, "identity_proofing_level": "P5", "vot": "P5.Cp.Cd"},
			want:     nhslogin.Identity{Subject: "sub-p5", Email: email, Level: nhslogin.LevelP5},
			wantAuth: "private_key_jwt",
		},
		{
			name:     "P5 patient whose token has only vot signs in at P5",
			identity: nhslogintest.Claims{"sub": "sub-p5m", "vot": "P5.Cm"},
			want:     nhslogin.Identity{Subject: "sub-p5m", Level: nhslogin.LevelP5},
			wantAuth: "private_key_jwt",
		},
		{
			name:     "identity with an unknown level signs in at P0",
			identity: nhslogintest.Claims{"sub": "sub-p0", "identity_proofing_level": "P7", "vot": "X1.Cp"},
			want:     nhslogin.Identity{Subject: "sub-p0", Level: nhslogin.LevelP0},
			wantAuth: "private_key_jwt",
		},
		{
			name:     "portal registered with a secret authenticates with client_secret_basic",
			auth:     rightSecret,
			identity: nhslogintest.Claims{"sub": "sub-secret", "identity_proofing_level": "P9", "nhs_number": nhsNumber},
			want:     nhslogin.Identity{Subject: "sub-secret", NHSNumber: nhsNumber, Level: nhslogin.LevelP9},
			wantAuth: "client_secret_basic",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.auth)
			h.op.SetIdentity(tt.identity)

			status, _, loc := h.signIn(url.Values{"return_to": {"/records?tab=results"}})

			if status != http.StatusSeeOther || loc != "/records?tab=results" {
				t.Fatalf("callback answered %d to %q, want 303 to the return path; refusals %v, provider refusals %v",
					status, loc, h.refusals(), h.op.Refusals())
			}
			got := h.completions()
			if len(got) != 1 {
				t.Fatalf("complete called %d times, want once", len(got))
			}
			if got[0].id != tt.want {
				t.Errorf("identity = %+v, want %+v", got[0].id, tt.want)
			}
			if got[0].returnTo != "/records?tab=results" {
				t.Errorf("returnTo = %q", got[0].returnTo)
			}
			if a := h.op.ClientAuth(); a != tt.wantAuth {
				t.Errorf("provider saw client authentication %q, want %q", a, tt.wantAuth)
			}
		})
	}
}

func TestSignInRefused(t *testing.T) {
	t.Parallel()
	good := nhslogintest.Claims{"sub": "sub-1", "nhs_number": nhsNumber, "birthdate": birthdate,
		"email": email, "identity_proofing_level": "P9"}
	tests := []struct {
		name string
		auth clientAuth
		// identity replaces good when set.
		identity nhslogintest.Claims
		// before runs before the login starts.
		before func(h *harness)
		// spoilAuthorization changes the request to the provider.
		spoilAuthorization func(h *harness, u *url.URL)
		// spoilCallback runs just before the callback, which it may change.
		spoilCallback func(h *harness, u *url.URL)
		wantStatus    int
		wantReason    error
		// wantProvider is part of a reason the provider's token endpoint
		// gave for refusing.
		wantProvider string
	}{
		{
			name:       "ID token signed with another key under the provider's kid is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.ForgeSignature()) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:       "unsigned ID token is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.Unsigned()) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:       "ID token for another audience is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.Audience("other")) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:       "ID token for several audiences without azp is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.Audience(clientID, "other")) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:       "ID token from another issuer is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.IssuedBy("https://auth.login.nhs.uk")) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:       "expired ID token is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.ExpiresIn(-time.Minute)) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:          "ID token expired by the portal's clock is refused",
			before:        func(h *harness) { h.op.Tamper(nhslogintest.ExpiresIn(10 * time.Second)) },
			spoilCallback: func(h *harness, _ *url.URL) { h.rpClock.Advance(30 * time.Second) },
			wantStatus:    http.StatusUnauthorized, wantReason: nhslogin.ErrTokenInvalid,
		},
		{
			name:       "ID token with another nonce is refused",
			before:     func(h *harness) { h.op.Tamper(nhslogintest.Nonce("other")) },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrNonceMismatch,
		},
		{
			name:       "provider error is refused",
			before:     func(h *harness) { h.op.FailAuthorization("access_denied") },
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrProviderError,
		},
		{
			name: "unknown state is refused",
			spoilCallback: func(h *harness, u *url.URL) {
				q := u.Query()
				q.Set("state", "forged-state-value-forged-state-value")
				u.RawQuery = q.Encode()
				h.setStateCookie(q.Get("state"))
			},
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrStateUnknown,
		},
		{
			name:          "callback in a browser that did not start the login is refused",
			spoilCallback: func(h *harness, _ *url.URL) { h.newBrowser() },
			wantStatus:    http.StatusUnauthorized, wantReason: nhslogin.ErrStateMismatch,
		},
		{
			name:          "callback after the login expired is refused",
			spoilCallback: func(h *harness, _ *url.URL) { h.rpClock.Advance(11 * time.Minute) },
			wantStatus:    http.StatusUnauthorized, wantReason: nhslogin.ErrStateExpired,
		},
		{
			name: "callback without a code is malformed",
			spoilCallback: func(h *harness, u *url.URL) {
				q := u.Query()
				q.Del("code")
				u.RawQuery = q.Encode()
			},
			wantStatus: http.StatusBadRequest, wantReason: nhslogin.ErrMalformed,
		},
		{
			name: "code issued for another PKCE challenge is refused at the token endpoint",
			spoilAuthorization: func(h *harness, u *url.URL) {
				sum := sha256.Sum256([]byte(strings.Repeat("attacker-verifier", 4)))
				q := u.Query()
				q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
				u.RawQuery = q.Encode()
			},
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenExchange,
			wantProvider: "code_verifier does not match",
		},
		{
			name:       "portal signing its client assertion with an unregistered key is refused by the provider",
			auth:       unregisteredKey,
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenExchange,
			wantProvider: "client assertion signature does not verify",
		},
		{
			name:       "portal with the wrong client secret is refused by the provider",
			auth:       wrongSecret,
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrTokenExchange,
			wantProvider: "wrong client secret",
		},
		{
			name:       "NHS number failing its check digit is refused",
			identity:   nhslogintest.Claims{"sub": "sub-1", "nhs_number": "9434765918", "identity_proofing_level": "P9"},
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrClaimsInvalid,
		},
		{
			name:       "birth date not in YYYY-MM-DD is refused",
			identity:   nhslogintest.Claims{"sub": "sub-1", "birthdate": "23/01/1970", "identity_proofing_level": "P9"},
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrClaimsInvalid,
		},
		{
			name:       "ID token without a subject is refused",
			identity:   nhslogintest.Claims{"identity_proofing_level": "P9"},
			wantStatus: http.StatusUnauthorized, wantReason: nhslogin.ErrClaimsInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.auth)
			h.op.SetIdentity(good)
			if tt.identity != nil {
				h.op.SetIdentity(tt.identity)
			}
			if tt.before != nil {
				tt.before(h)
			}
			authURL := h.login(url.Values{"return_to": {"/"}})
			if tt.spoilAuthorization != nil {
				tt.spoilAuthorization(h, authURL)
			}
			cb := h.authorize(authURL)
			if tt.spoilCallback != nil {
				tt.spoilCallback(h, cb)
			}

			status, body, _ := h.callback(cb)

			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if n := len(h.completions()); n != 0 {
				t.Errorf("complete called %d times, want never", n)
			}
			if got := h.refusals(); !slices.Equal(got, []string{tt.wantReason.Error()}) {
				t.Errorf("logged reasons %q, want [%q]", got, tt.wantReason)
			}
			// The browser learns that sign-in failed, not why.
			if strings.Contains(strings.ToLower(body), "nonce") || strings.Contains(body, "nhslogin:") ||
				strings.Contains(strings.ToLower(body), "token") {
				t.Errorf("body %q says which check failed", body)
			}
			if tt.wantProvider != "" && !slices.ContainsFunc(h.op.Refusals(), func(r string) bool {
				return strings.Contains(r, tt.wantProvider)
			}) {
				t.Errorf("provider refusals %q, want one containing %q", h.op.Refusals(), tt.wantProvider)
			}
		})
	}
}

func TestReplayedCallbackIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	h.op.SetIdentity(nhslogintest.Claims{"sub": "sub-1", "identity_proofing_level": "P9"})
	cb := h.authorize(h.login(nil))
	state := cb.Query().Get("state")

	if status, _, _ := h.callback(cb); status != http.StatusSeeOther {
		t.Fatalf("first callback: status %d, want 303; refusals %v", status, h.refusals())
	}
	// Same state, same code, and the state cookie put back.
	h.setStateCookie(state)
	status, _, _ := h.callback(cb)

	if status != http.StatusUnauthorized {
		t.Errorf("second callback: status %d, want 401", status)
	}
	if n := len(h.completions()); n != 1 {
		t.Errorf("complete called %d times, want once", n)
	}
	if got := h.refusals(); !slices.Equal(got, []string{nhslogin.ErrReplayed.Error()}) {
		t.Errorf("logged reasons %q, want [%q]", got, nhslogin.ErrReplayed)
	}
	if n := len(h.op.Refusals()); n != 0 {
		t.Errorf("the replay reached the token endpoint: %q", h.op.Refusals())
	}
}

func TestConcurrentCallbacksCompleteOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	h.op.SetIdentity(nhslogintest.Claims{"sub": "sub-1", "identity_proofing_level": "P9"})
	cb := h.authorize(h.login(nil))
	cookie := &http.Cookie{Name: h.cookieName, Value: cb.Query().Get("state")}

	const n = 5
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, cb.String(), nil)
			req.AddCookie(cookie)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()

	slices.Sort(statuses)
	want := []int{http.StatusSeeOther, http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized}
	if !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want one 303 and the rest 401", statuses)
	}
	if got := len(h.completions()); got != 1 {
		t.Errorf("complete called %d times, want once", got)
	}
}

func TestLoginIsSpentAndStoresOnlyAHashOfTheState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	h.op.SetIdentity(nhslogintest.Claims{"sub": "sub-1"})
	cb := h.authorize(h.login(nil))
	state := cb.Query().Get("state")
	if status, _, _ := h.callback(cb); status != http.StatusSeeOther {
		t.Fatalf("callback: status %d; refusals %v", status, h.refusals())
	}

	rows, err := h.client.OIDCLogin.Query().All(access.SystemContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d logins stored, want 1", len(rows))
	}
	sum := sha256.Sum256([]byte(state))
	row := rows[0]
	if row.StateHash == state || row.StateHash != hex.EncodeToString(sum[:]) {
		t.Errorf("state_hash is not the SHA-256 of the state")
	}
	if row.UsedAt == nil || !row.UsedAt.Equal(start) {
		t.Errorf("used_at = %v, want %v", row.UsedAt, start)
	}
	if !row.ExpiresAt.Equal(start.Add(10 * time.Minute)) {
		t.Errorf("expires_at = %v, want ten minutes after the start", row.ExpiresAt)
	}
	if !strings.HasPrefix(string(row.ID), "ol") {
		t.Errorf("ID %q lacks the ol prefix", row.ID)
	}
}

func TestOIDCLoginsAreHiddenOutsideTheSystemContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	h.login(nil)

	_, err := h.client.OIDCLogin.Query().All(t.Context())
	if err == nil {
		t.Fatal("OIDCLogin rows were readable without the system context")
	}
}

func TestLogsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	h := newHarness(t, registeredKey)
	h.op.SetIdentity(nhslogintest.Claims{"sub": "sub-private", "nhs_number": nhsNumber, "birthdate": birthdate,
		"email": email, "family_name": "Example", "identity_proofing_level": "P9"})

	cb := h.authorize(h.login(url.Values{"return_to": {"/records"}}))
	nonce := h.op.LastAuthorization().Get("nonce")
	if status, _, _ := h.callback(cb); status != http.StatusSeeOther {
		t.Fatalf("callback: status %d; refusals %v", status, h.refusals())
	}
	h.op.Tamper(nhslogintest.Nonce("other"))
	bad := h.authorize(h.login(nil))
	if status, _, _ := h.callback(bad); status != http.StatusUnauthorized {
		t.Fatalf("nonce mismatch: status %d", status)
	}

	logs := h.logs.String()
	if logs == "" {
		t.Fatal("nothing was logged")
	}
	for name, secret := range map[string]string{
		"NHS number": nhsNumber, "birth date": birthdate, "email": email, "family name": "Example",
		"subject": "sub-private", "state": cb.Query().Get("state"), "code": cb.Query().Get("code"),
		"nonce": nonce, "return path": "/records",
	} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain the %s", name)
		}
	}
}
