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

// Paths the handler serves; the RedirectURL must end with CallbackPath.
const (
	LoginPath    = "/auth/nhs/login"
	CallbackPath = "/auth/nhs/callback"
)

// Identity levels from NHS login's vectors of trust: P9 is a fully
// verified identity, P5 a low-level one, P0 none.
const (
	LevelP0 = "P0"
	LevelP5 = "P5"
	LevelP9 = "P9"
)

// DefaultScopes are requested when Config.Scopes is empty.
var DefaultScopes = []string{oidc.ScopeOpenID, "profile", "email"}

// DefaultVectorsOfTrust accept a P5 or a P9 identity with any of NHS
// login's authentication methods.
var DefaultVectorsOfTrust = []string{"P9.Cp.Cd", "P9.Cp.Ck", "P9.Cm", "P5.Cp.Cd", "P5.Cp.Ck", "P5.Cm"}

// Reasons a sign-in is refused. The browser only ever sees a generic
// message; these go to the log and to callers' errors.Is checks.
var (
	ErrConfig        = errors.New("nhslogin: invalid configuration")
	ErrMalformed     = errors.New("nhslogin: malformed callback")
	ErrProviderError = errors.New("nhslogin: provider returned an error")
	ErrStateMismatch = errors.New("nhslogin: state does not match this browser")
	ErrStateUnknown  = errors.New("nhslogin: unknown state")
	ErrStateExpired  = errors.New("nhslogin: login expired")
	ErrReplayed      = errors.New("nhslogin: login already used")
	ErrTokenExchange = errors.New("nhslogin: code exchange failed")
	ErrTokenInvalid  = errors.New("nhslogin: ID token invalid")
	ErrNonceMismatch = errors.New("nhslogin: nonce mismatch")
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
