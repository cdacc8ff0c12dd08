package nhslogintest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// clientAssertionType is RFC 7523's client_assertion_type for a JWT.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLeeway is the clock skew allowed on a client assertion.
const assertionLeeway = time.Minute

// TokenOption spoils the ID tokens the provider issues; see Tamper.
type TokenOption func(*tokenSpec)

type tokenSpec struct {
	forge     bool
	unsigned  bool
	audience  []string
	expiresIn *time.Duration
	nonce     *string
	issuer    string
}

// ForgeSignature signs ID tokens with a key that is not in the JWKS,
// under the kid of the one that is.
func ForgeSignature() TokenOption { return func(s *tokenSpec) { s.forge = true } }

// Unsigned issues ID tokens with "alg": "none" and no signature.
func Unsigned() TokenOption { return func(s *tokenSpec) { s.unsigned = true } }

// Audience sets the aud claim instead of the client's ID.
func Audience(aud ...string) TokenOption { return func(s *tokenSpec) { s.audience = aud } }

// ExpiresIn sets exp to issue time plus d; a negative d issues tokens
// that have already expired.
func ExpiresIn(d time.Duration) TokenOption { return func(s *tokenSpec) { s.expiresIn = &d } }

// Nonce sets the nonce claim instead of the one the authorisation
// request carried.
func Nonce(n string) TokenOption { return func(s *tokenSpec) { s.nonce = &n } }

// IssuedBy sets the iss claim instead of the provider's issuer.
func IssuedBy(iss string) TokenOption { return func(s *tokenSpec) { s.issuer = iss } }

// errRefused carries the OAuth error a token request is refused with.
type errRefused struct {
	status int
	code   string
	why    string
}

func (e *errRefused) Error() string { return e.code + ": " + e.why }

func invalidClient(format string, a ...any) error {
	return &errRefused{http.StatusUnauthorized, "invalid_client", fmt.Sprintf(format, a...)}
}

func invalidGrant(format string, a ...any) error {
	return &errRefused{http.StatusBadRequest, "invalid_grant", fmt.Sprintf(format, a...)}
}

// token exchanges a code for an ID token and an access token after
// authenticating the client and checking the PKCE verifier.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	resp, err := p.exchange(r)
	if err != nil {
		var refused *errRefused
		if !errors.As(err, &refused) {
			refused = &errRefused{http.StatusInternalServerError, "server_error", err.Error()}
		}
		p.refusals = append(p.refusals, refused.Error())
		writeJSON(w, refused.status, map[string]string{"error": refused.code, "error_description": refused.why})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) exchange(r *http.Request) (map[string]any, error) {
	if err := r.ParseForm(); err != nil {
		return nil, &errRefused{http.StatusBadRequest, "invalid_request", "unreadable form"}
	}
	form := r.PostForm
	client, method, err := p.authenticate(r)
	if err != nil {
		return nil, err
	}
	if form.Get("grant_type") != "authorization_code" {
		return nil, &errRefused{http.StatusBadRequest, "unsupported_grant_type", "only authorization_code"}
	}
	g, ok := p.codes[form.Get("code")]
	if !ok {
		return nil, invalidGrant("unknown or spent code")
	}
	delete(p.codes, form.Get("code")) // a code is good once, even when refused
	switch {
	case g.clientID != client.ID:
		return nil, invalidGrant("code issued to another client")
	case form.Get("redirect_uri") != g.redirectURI:
		return nil, invalidGrant("redirect_uri differs from the authorisation request")
	case !p.now().Before(g.expires):
		return nil, invalidGrant("code expired")
	}
	v := form.Get("code_verifier")
	if len(v) < 43 || len(v) > 128 {
		return nil, invalidGrant("code_verifier missing or of the wrong length")
	}
	sum := sha256.Sum256([]byte(v))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		return nil, invalidGrant("code_verifier does not match the code_challenge")
	}

	idToken, err := p.idToken(client.ID, g)
	if err != nil {
		return nil, err
	}
	p.clientAuth = method
	return map[string]any{
		"access_token": rand.Text(),
		"token_type":   "Bearer",
		"expires_in":   int(IDTokenLifetime / time.Second),
		"id_token":     idToken,
	}, nil
}

// authenticate identifies the client by a private_key_jwt assertion, HTTP
// Basic credentials or a client_secret in the form, and returns it with
// the method used.
func (p *Provider) authenticate(r *http.Request) (Client, string, error) {
	form := r.PostForm
	if t := form.Get("client_assertion_type"); t != "" {
		if t != clientAssertionType {
			return Client{}, "", invalidClient("unsupported client_assertion_type")
		}
		c, err := p.checkAssertion(form.Get("client_assertion"), form.Get("client_id"))
		return c, "private_key_jwt", err
	}
	if id, secret, ok := r.BasicAuth(); ok {
		// RFC 6749 section 2.3.1: both are form-encoded first.
		id, err1 := url.QueryUnescape(id)
		secret, err2 := url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, "", invalidClient("malformed Basic credentials")
		}
		c, err := p.checkSecret(id, secret)
		return c, "client_secret_basic", err
	}
	if secret := form.Get("client_secret"); secret != "" {
		c, err := p.checkSecret(form.Get("client_id"), secret)
		return c, "client_secret_post", err
	}
	return Client{}, "", invalidClient("no client authentication")
}

func (p *Provider) checkSecret(id, secret string) (Client, error) {
	c, ok := p.clients[id]
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return Client{}, invalidClient("wrong client secret")
	}
	return c, nil
}

// checkAssertion verifies an RFC 7523 client assertion against the
// client's registered public key.
func (p *Provider) checkAssertion(raw, clientID string) (Client, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS512})
	if err != nil {
		return Client{}, invalidClient("malformed client assertion")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Client{}, invalidClient("malformed client assertion")
	}
	c, ok := p.clients[unverified.Issuer]
	if !ok || c.PublicKey == nil {
		return Client{}, invalidClient("client assertion from an unknown client")
	}
	if clientID != "" && clientID != c.ID {
		return Client{}, invalidClient("client_id differs from the client assertion's issuer")
	}
	var claims jwt.Claims
	if err := tok.Claims(c.PublicKey, &claims); err != nil {
		return Client{}, invalidClient("client assertion signature does not verify")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{
		Issuer:      c.ID,
		Subject:     c.ID,
		AnyAudience: jwt.Audience{p.Issuer() + TokenPath},
		Time:        p.now(),
	}, assertionLeeway); err != nil {
		return Client{}, invalidClient("client assertion claims: %v", err)
	}
	switch {
	case claims.Expiry == nil:
		return Client{}, invalidClient("client assertion has no exp")
	case claims.ID == "":
		return Client{}, invalidClient("client assertion has no jti")
	case p.jtis[claims.ID]:
		return Client{}, invalidClient("client assertion replayed")
	}
	p.jtis[claims.ID] = true
	return c, nil
}

// idToken signs the ID token for g, spoiled as Tamper said.
func (p *Provider) idToken(clientID string, g *grant) (string, error) {
	now := p.now()
	spec := p.tamper
	claims := maps.Clone(g.identity)
	if claims == nil {
		claims = map[string]any{}
	}
	lifetime := IDTokenLifetime
	if spec.expiresIn != nil {
		lifetime = *spec.expiresIn
	}
	claims["iss"] = p.Issuer()
	if spec.issuer != "" {
		claims["iss"] = spec.issuer
	}
	claims["aud"] = clientID
	if spec.audience != nil {
		claims["aud"] = spec.audience
	}
	claims["nonce"] = g.nonce
	if spec.nonce != nil {
		claims["nonce"] = *spec.nonce
	}
	claims["iat"] = now.Unix()
	claims["auth_time"] = now.Unix()
	claims["exp"] = now.Add(lifetime).Unix()

	if spec.unsigned {
		payload, err := json.Marshal(claims)
		if err != nil {
			return "", err
		}
		enc := base64.RawURLEncoding
		return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + ".", nil
	}
	key := p.key
	if spec.forge {
		if p.forgeKey == nil {
			k, err := rsaKey()
			if err != nil {
				return "", err
			}
			p.forgeKey = k
		}
		key = p.forgeKey
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: p.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(map[string]any(claims)).Serialize()
}
