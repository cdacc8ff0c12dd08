package nhslogintest

import (
	"crypto/rand"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authorize signs the configured identity in at once: there is no UI. It
// checks the request as NHS login would and redirects back with a code,
// or with an error.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastAuth = maps.Clone(q)

	client, ok := p.clients[q.Get("client_id")]
	// An unknown client or redirect URI gets no redirect: that would make
	// the provider an open redirector.
	if !ok || q.Get("redirect_uri") == "" || q.Get("redirect_uri") != client.RedirectURI {
		http.Error(w, "unknown client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	back := func(params url.Values) {
		u, _ := url.Parse(client.RedirectURI)
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		if s := q.Get("state"); s != "" {
			v.Set("state", s)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	fail := func(code, desc string) {
		back(url.Values{"error": {code}, "error_description": {desc}})
	}

	switch {
	case p.authError != "":
		fail(p.authError, "refused by the test")
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		fail("invalid_scope", "scope must include openid")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		fail("invalid_request", "PKCE with S256 is required")
	case q.Get("nonce") == "":
		fail("invalid_request", "nonce is required")
	default:
		code := rand.Text()
		p.codes[code] = &grant{
			clientID:    client.ID,
			redirectURI: client.RedirectURI,
			challenge:   q.Get("code_challenge"),
			nonce:       q.Get("nonce"),
			identity:    maps.Clone(p.identity),
			expires:     p.now().Add(codeLifetime),
		}
		back(url.Values{"code": {code}})
	}
}
