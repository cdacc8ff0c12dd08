// Package nhslogin signs patients in with NHS login, the NHS's OpenID
// Connect provider, which is also how they arrive from the NHS App. It is
// the relying party: it starts the authorisation code flow (state, nonce,
// PKCE), takes the callback, exchanges the code and verifies the ID token,
// then hands a verified Identity to the server.
//
// It never decides who the identity is in the portal (the server links it
// to an account and a patient) and it never logs personal data, state,
// codes or tokens.
package nhslogin

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/patientportal/portal/ent"
)

// Paths the handler serves.
const (
	// LoginPath starts a sign-in; ?return_to= names a local path for
	// afterwards.
	LoginPath = "/auth/nhs/login"
	// CallbackPath is where NHS login sends the browser back; the
	// RedirectURL ends with it.
	CallbackPath = "/auth/nhs/callback"
)

// Identity levels from NHS login's vectors of trust.
const (
	// LevelP0 is an identity NHS login has not verified.
	LevelP0 = "P0"
	// LevelP5 is a low-level verified identity.
	LevelP5 = "P5"
	// LevelP9 is a fully verified identity.
	LevelP9 = "P9"
)

// DefaultScopes are requested when Config.Scopes is empty.
var DefaultScopes = []string{oidc.ScopeOpenID, "profile", "email"}

// DefaultVectorsOfTrust accept a P5 or a P9 identity with any of NHS
// login's authentication methods.
var DefaultVectorsOfTrust = []string{"P9.Cp.Cd", "P9.Cp.Ck", "P9.Cm", "P5.Cp.Cd", "P5.Cp.Ck", "P5.Cm"}

// Reasons a sign-in is refused. The browser only ever sees a generic
// message; these go to the log.
var (
	// ErrConfig reports a Config that New cannot use.
	ErrConfig = errors.New("nhslogin: invalid configuration")
	// ErrMalformed reports a callback without a state or a code (HTTP 400).
	ErrMalformed = errors.New("nhslogin: malformed callback")
	// ErrProviderError reports a callback carrying an OAuth error, such as
	// a patient declining to share their details.
	ErrProviderError = errors.New("nhslogin: provider returned an error")
	// ErrStateMismatch reports a callback in a browser other than the one
	// that started the login.
	ErrStateMismatch = errors.New("nhslogin: state does not match this browser")
	// ErrStateUnknown reports a state no stored login has.
	ErrStateUnknown = errors.New("nhslogin: unknown state")
	// ErrStateExpired reports a login older than ten minutes.
	ErrStateExpired = errors.New("nhslogin: login expired")
	// ErrReplayed reports a login that has already been used.
	ErrReplayed = errors.New("nhslogin: login already used")
	// ErrTokenExchange reports a token endpoint that refused the code, the
	// PKCE verifier or the client's authentication.
	ErrTokenExchange = errors.New("nhslogin: code exchange failed")
	// ErrTokenInvalid reports an ID token that is missing or fails
	// signature, issuer, audience or expiry checks.
	ErrTokenInvalid = errors.New("nhslogin: ID token invalid")
	// ErrNonceMismatch reports an ID token for another authorisation
	// request.
	ErrNonceMismatch = errors.New("nhslogin: nonce mismatch")
	// ErrClaimsInvalid reports an ID token with no subject or with a
	// malformed NHS number or birth date.
	ErrClaimsInvalid = errors.New("nhslogin: ID token claims invalid")
)

// Config is the relying party's registration with NHS login.
type Config struct {
	// Issuer is NHS login's issuer URL, from which discovery starts.
	Issuer string
	// ClientID is the client ID NHS login issued to the portal.
	ClientID string
	// RedirectURL is the absolute URL of the callback; its path ends with
	// CallbackPath.
	RedirectURL string
	// ClientSecret authenticates the client with client_secret_basic or
	// client_secret_post. Set either it or PrivateKeyPEM, not both.
	ClientSecret string
	// PrivateKeyPEM is the RSA private key (PKCS #1 or PKCS #8) for
	// private_key_jwt client authentication (RFC 7523), which NHS login
	// requires.
	PrivateKeyPEM []byte
	// KeyID is the kid of PrivateKeyPEM's public key as registered with
	// NHS login; optional.
	KeyID string
	// Scopes to request; DefaultScopes when empty. "openid" is always
	// included.
	Scopes []string
	// VectorsOfTrust is the vtr request parameter; DefaultVectorsOfTrust
	// when empty.
	VectorsOfTrust []string
}

// Identity is a verified NHS login identity.
type Identity struct {
	// Subject is NHS login's stable identifier for the person.
	Subject string
	// NHSNumber is empty when NHS login did not return one.
	NHSNumber string
	// Email is empty when NHS login did not return one.
	Email string
	// Birthdate is a date at UTC midnight, zero when not returned.
	Birthdate time.Time
	// Level is LevelP0, LevelP5 or LevelP9.
	Level string
}

// CompleteFunc finishes a verified sign-in: it links the identity to an
// account, starts the session and responds (usually with a redirect to
// returnTo, a local path, or to a default page when returnTo is empty).
type CompleteFunc func(w http.ResponseWriter, r *http.Request, id Identity, returnTo string)

// Option configures New beyond what Config holds.
type Option func(*Provider)

// WithLogger sets the logger; slog.Default() otherwise.
func WithLogger(l *slog.Logger) Option {
	return func(p *Provider) { p.log = l }
}

// WithHTTPClient sets the client used for discovery, JWKS and the token
// endpoint; a client with a 10-second timeout otherwise.
func WithHTTPClient(c *http.Client) Option {
	return func(p *Provider) { p.http = c }
}

// Provider is the NHS login relying party.
type Provider struct {
	cfg        Config
	client     *ent.Client
	now        func() time.Time
	complete   CompleteFunc
	log        *slog.Logger
	http       *http.Client
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	key        *rsa.PrivateKey // nil with a client secret
	cookiePath string
	secure     bool
}

// New discovers the provider at cfg.Issuer and returns the relying party.
// now is the clock for expiries (time.Now when nil); complete receives
// every verified sign-in.
func New(ctx context.Context, cfg Config, client *ent.Client, now func() time.Time, complete CompleteFunc, opts ...Option) (*Provider, error) {
	if now == nil {
		now = time.Now
	}
	p := &Provider{cfg: cfg, client: client, now: now, complete: complete}
	for _, opt := range opts {
		opt(p)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.http == nil {
		p.http = &http.Client{Timeout: 10 * time.Second}
	}
	if err := p.checkConfig(); err != nil {
		return nil, err
	}

	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.http), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("nhslogin: discovering %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("nhslogin: reading discovery document: %w", err)
	}

	endpoint := op.Endpoint()
	endpoint.AuthStyle = p.authStyle(meta.AuthMethods)
	p.oauth = oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     endpoint,
		RedirectURL:  cfg.RedirectURL,
		Scopes:       scopes(cfg.Scopes),
	}
	p.verifier = op.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: now})
	return p, nil
}

// checkConfig validates the configuration and parses the client key.
func (p *Provider) checkConfig() error {
	cfg := p.cfg
	switch {
	case p.client == nil:
		return fmt.Errorf("%w: no Ent client", ErrConfig)
	case p.complete == nil:
		return fmt.Errorf("%w: no CompleteFunc", ErrConfig)
	case cfg.Issuer == "":
		return fmt.Errorf("%w: Issuer is empty", ErrConfig)
	case cfg.ClientID == "":
		return fmt.Errorf("%w: ClientID is empty", ErrConfig)
	case (cfg.ClientSecret == "") == (len(cfg.PrivateKeyPEM) == 0):
		return fmt.Errorf("%w: set exactly one of ClientSecret and PrivateKeyPEM", ErrConfig)
	}
	u, err := url.Parse(cfg.RedirectURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		!strings.HasSuffix(u.Path, CallbackPath) {
		return fmt.Errorf("%w: RedirectURL must be an absolute http(s) URL ending in %s", ErrConfig, CallbackPath)
	}
	p.cookiePath = u.Path
	p.secure = u.Scheme == "https"
	if len(cfg.PrivateKeyPEM) > 0 {
		key, err := parseKey(cfg.PrivateKeyPEM)
		if err != nil {
			return fmt.Errorf("%w: PrivateKeyPEM: %w", ErrConfig, err)
		}
		p.key = key
	}
	return nil
}

// authStyle picks how the client authenticates at the token endpoint.
// private_key_jwt sends its assertion in the form; a secret goes in the
// Authorization header unless the provider only takes client_secret_post.
// Choosing up front avoids oauth2's auto-detection, which retries a failed
// exchange with the same code.
func (p *Provider) authStyle(supported []string) oauth2.AuthStyle {
	if p.key != nil {
		return oauth2.AuthStyleInParams
	}
	if len(supported) == 0 || slices.Contains(supported, "client_secret_basic") ||
		!slices.Contains(supported, "client_secret_post") {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

// scopes returns the configured scopes with openid first.
func scopes(configured []string) []string {
	if len(configured) == 0 {
		return slices.Clone(DefaultScopes)
	}
	out := []string{oidc.ScopeOpenID}
	for _, s := range configured {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Handler serves LoginPath and CallbackPath; mount it at "/auth/nhs/".
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, p.login)
	mux.HandleFunc("GET "+CallbackPath, p.callback)
	return mux
}
