// Package nhslogintest runs a real OpenID provider in-process, shaped like
// NHS login, so that tests drive the whole sign-in flow over HTTP:
// discovery, JWKS, an authorisation endpoint with no UI, and a token
// endpoint that checks the code, PKCE and the client's authentication
// before it signs an ID token. Hooks mint bad tokens so that negative
// tests go through the same flow.
//
// It is for tests only: it must never be mounted by the server.
package nhslogintest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Endpoint paths on the provider.
const (
	// AuthorizePath is the authorisation endpoint.
	AuthorizePath = "/authorize"
	// TokenPath is the token endpoint, and a client assertion's audience
	// is the issuer followed by it.
	TokenPath = "/token"
	// JWKSPath serves the provider's signing key.
	JWKSPath = "/jwks"
)

// IDTokenLifetime is how long an ID token lives unless ExpiresIn says
// otherwise.
const IDTokenLifetime = 5 * time.Minute

// codeLifetime is how long an authorisation code may wait for exchange.
const codeLifetime = 10 * time.Minute

// keyBits is the RSA key size for every key the package makes.
const keyBits = 2048

// Claims are the identity claims put in ID tokens, "sub" included.
type Claims map[string]any

// Client is a relying party registered with the provider. It
// authenticates with Secret (client_secret_basic or client_secret_post) or,
// when PublicKey is set, with a private_key_jwt signed by the matching
// private key.
type Client struct {
	// ID is the client_id.
	ID string
	// RedirectURI is the one redirect_uri the client may use.
	RedirectURI string
	// Secret is the client secret; empty for a private_key_jwt client.
	Secret string
	// PublicKey verifies the client's assertions; nil for a secret client.
	PublicKey *rsa.PublicKey
}

// Option configures New.
type Option func(*Provider)

// WithClock sets the provider's clock (time.Now otherwise), which dates
// ID tokens and judges codes and client assertions.
func WithClock(now func() time.Time) Option {
	return func(p *Provider) { p.now = now }
}

// Provider is an OpenID provider served by an httptest.Server.
type Provider struct {
	srv *httptest.Server
	now func() time.Time
	key *rsa.PrivateKey
	kid string

	mu         sync.Mutex
	forgeKey   *rsa.PrivateKey
	clients    map[string]Client
	identity   Claims
	tamper     tokenSpec
	authError  string
	codes      map[string]*grant
	jtis       map[string]bool
	lastAuth   url.Values
	clientAuth string
	refusals   []string
}

// grant is an issued authorisation code.
type grant struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	identity    Claims
	expires     time.Time
}

// New starts a provider, closed when the test ends.
func New(t testing.TB, opts ...Option) *Provider {
	t.Helper()
	p := &Provider{
		now:     time.Now,
		key:     generateKey(t),
		kid:     "op-" + rand.Text()[:8],
		clients: map[string]Client{},
		codes:   map[string]*grant{},
		jtis:    map[string]bool{},
	}
	for _, opt := range opts {
		opt(p)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET "+JWKSPath, p.jwks)
	mux.HandleFunc("GET "+AuthorizePath, p.authorize)
	mux.HandleFunc("POST "+TokenPath, p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// Issuer returns the provider's issuer URL, the base of discovery.
func (p *Provider) Issuer() string { return p.srv.URL }

// Register adds or replaces a client.
func (p *Provider) Register(c Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[c.ID] = c
}

// SetIdentity sets the claims of whoever signs in next; codes already
// issued keep the identity they were issued for.
func (p *Provider) SetIdentity(c Claims) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.identity = maps.Clone(c)
}

// Tamper makes every ID token issued from now on bad in the ways opts say;
// Tamper() with no options goes back to good tokens.
func (p *Provider) Tamper(opts ...TokenOption) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = tokenSpec{}
	for _, opt := range opts {
		opt(&p.tamper)
	}
}

// FailAuthorization makes the authorisation endpoint send the browser
// back with this OAuth error code (such as "access_denied") instead of a
// code; "" restores normal service.
func (p *Provider) FailAuthorization(code string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authError = code
}

// LastAuthorization returns the query of the latest authorisation request.
func (p *Provider) LastAuthorization() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.lastAuth)
}

// ClientAuth returns the method ("private_key_jwt", "client_secret_basic"
// or "client_secret_post") that authenticated the latest successful token
// request.
func (p *Provider) ClientAuth() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clientAuth
}

// Refusals returns why the token endpoint refused requests, oldest first.
func (p *Provider) Refusals() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refusals)
}

// NewClientKey returns a new RSA private key in PKCS #8 PEM, for
// nhslogin.Config.PrivateKeyPEM, and its public key, for Client.PublicKey.
func NewClientKey(t testing.TB) ([]byte, *rsa.PublicKey) {
	t.Helper()
	key := generateKey(t)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("nhslogintest: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), &key.PublicKey
}

func generateKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := rsaKey()
	if err != nil {
		t.Fatalf("nhslogintest: generating a key: %v", err)
	}
	return key
}

func rsaKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, keyBits)
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.Issuer()
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + AuthorizePath,
		"token_endpoint":                        iss + TokenPath,
		"jwks_uri":                              iss + JWKSPath,
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{string(jose.RS256)},
		"scopes_supported":                      []string{"openid", "profile", "email", "phone"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{
			"private_key_jwt", "client_secret_basic", "client_secret_post"},
		"token_endpoint_auth_signing_alg_values_supported": []string{
			string(jose.RS256), string(jose.RS512)},
		"vtr_supported": []string{"P0.Cp", "P5.Cp.Cd", "P5.Cp.Ck", "P5.Cm", "P9.Cp.Cd", "P9.Cp.Ck", "P9.Cm"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &p.key.PublicKey, KeyID: p.kid, Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
