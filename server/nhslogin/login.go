package nhslogin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/oidclogin"
)

// loginLifetime is how long a started login may take to come back.
const loginLifetime = 10 * time.Minute

// stateCookie binds a login to the browser that started it, so that a
// callback carrying someone else's state (login CSRF) is refused.
const stateCookie = "nhslogin_state"

// maxReturnTo fits the return_to column on every engine.
const maxReturnTo = 255

// maxAssertion bounds the NHS App's assertedLoginIdentity JWT.
const maxAssertion = 8 << 10

// login starts the authorisation code flow: it stores the state, nonce and
// PKCE verifier and sends the browser to NHS login.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	// The pattern also matches HEAD, which link checkers send; it must not
	// store a login.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	ctx := r.Context()
	state, nonce := randomToken(), randomToken()
	verifier := oauth2.GenerateVerifier()
	now := p.now().UTC()

	create := p.client.OIDCLogin.Create().
		SetStateHash(hashState(state)).
		SetNonce(nonce).
		SetCodeVerifier(verifier).
		SetCreatedAt(now).
		SetExpiresAt(now.Add(loginLifetime))
	if rt := localPath(r.URL.Query().Get("return_to")); rt != "" {
		create.SetReturnTo(rt)
	}
	row, err := create.Save(access.SystemContext(ctx))
	if err != nil {
		p.log.ErrorContext(ctx, "nhslogin: storing login", "err", err)
		http.Error(w, unavailableMessage, http.StatusInternalServerError)
		return
	}

	vtr, _ := json.Marshal(p.vectorsOfTrust())
	opts := []oauth2.AuthCodeOption{
		oidc.Nonce(nonce),
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("vtr", string(vtr)),
	}
	// The NHS App hands over its signed-in user; NHS login then signs them
	// in here without asking again.
	if a := r.URL.Query().Get("assertedLoginIdentity"); looksLikeJWT(a) {
		opts = append(opts,
			oauth2.SetAuthURLParam("asserted_login_identity", a),
			oauth2.SetAuthURLParam("prompt", "none"))
	}

	http.SetCookie(w, &http.Cookie{
		Name:     stateCookie,
		Value:    state,
		Path:     p.cookiePath,
		MaxAge:   int(loginLifetime / time.Second),
		HttpOnly: true,
		Secure:   p.secure,
		// Lax, not Strict: the callback is a top-level navigation from
		// NHS login's site.
		SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	p.log.InfoContext(ctx, "nhslogin: login started", "login", string(row.ID))
	http.Redirect(w, r, p.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

// DeleteExpired removes the stored logins that can no longer complete and
// returns how many it removed. A replay of a deleted login's state is
// still refused, as unknown. Call it now and then: anyone may start a
// login.
func (p *Provider) DeleteExpired(ctx context.Context) (int, error) {
	n, err := p.client.OIDCLogin.Delete().
		Where(oidclogin.ExpiresAtLTE(p.now().UTC())).
		Exec(access.SystemContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("nhslogin: deleting expired logins: %w", err)
	}
	return n, nil
}

func (p *Provider) vectorsOfTrust() []string {
	if len(p.cfg.VectorsOfTrust) > 0 {
		return p.cfg.VectorsOfTrust
	}
	return DefaultVectorsOfTrust
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashState is how a state is stored: a database leak must not hand out
// live states.
func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// localPath returns s when it is a path on this site and "" otherwise, so
// that the redirect after sign-in cannot leave the portal.
func localPath(s string) string {
	if s == "" || len(s) > maxReturnTo || s[0] != '/' || strings.HasPrefix(s, "//") ||
		// Browsers read a backslash as a slash and drop tabs and newlines,
		// so "/\evil.example" and "/\t/evil.example" leave the site.
		strings.ContainsRune(s, '\\') {
		return ""
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return s
}

// looksLikeJWT reports whether s has the shape of a compact JWS; NHS login
// verifies it.
func looksLikeJWT(s string) bool {
	if s == "" || len(s) > maxAssertion || strings.Count(s, ".") != 2 {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
