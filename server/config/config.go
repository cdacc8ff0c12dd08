// Package config reads the server's configuration once, at start-up, from
// flags and the environment. Flags win over the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/patientportal/portal/server/mail"
)

// Config is everything the server and its subcommands are configured with.
type Config struct {
	// DatabaseURL is sqlite:<path> or mysql://user:pass@host:port/db.
	DatabaseURL string
	// Addr is the listen address of the HTTP server.
	Addr string
	// AdminAddr is the listen address of the admin server (/metrics and,
	// with PProf, /debug/pprof/); off when empty. It is meant for a
	// private network or loopback, never the internet.
	AdminAddr string
	// PProf serves net/http/pprof on the admin listener.
	PProf bool
	// ShutdownTimeout bounds a graceful shutdown: in-flight requests,
	// closing subscriptions and the last outbox flush.
	ShutdownTimeout time.Duration
	// Production turns off GraphiQL and introspection, and needs TLS: the
	// server's own (TLSCert, TLSKey) or a proxy's (TrustedProxyHeader).
	Production bool
	// TLSCert and TLSKey are PEM files; when both are set the server
	// serves HTTPS.
	TLSCert, TLSKey string
	// TrustedProxyHeader names the header a trusted reverse proxy sets with
	// the client's address (e.g. X-Forwarded-For); it also means the proxy
	// terminates TLS and reports the scheme in X-Forwarded-Proto. Empty:
	// no proxy header is believed.
	TrustedProxyHeader string
	// Demo loads the demo data into an empty store.
	Demo bool
	// AllowedOrigins may call the API from a browser with the session cookie.
	AllowedOrigins []string
	// IdleTimeout ends a session unused for this long.
	IdleTimeout time.Duration
	// SessionLifetime ends a session this long after sign-in.
	SessionLifetime time.Duration
	// SecureCookie marks the session cookie Secure.
	SecureCookie bool
	// PublicURL is where people reach the portal, for links in emails.
	PublicURL string
	// BlobDir is the folder that holds letter documents.
	BlobDir string
	// BrokerURL is redis:// or nats:// for more than one server; empty for
	// one process.
	BrokerURL string
	// FeedInterval is how often subscriptions poll the store.
	FeedInterval time.Duration
	// MailInterval is how often the outbox is turned into emails and sent.
	MailInterval time.Duration
	// Mail configures outgoing email (see package mail for each variable).
	Mail mail.Config
	// NHSLogin configures sign-in with NHS login; off when Issuer is empty.
	NHSLogin NHSLogin
	// PostagePence is what one posted letter costs, for reporting the
	// postage letters read in the portal save.
	PostagePence int
	// APIKey is what the apikey subcommand is asked to do.
	APIKey APIKeyCommand

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and HTTPIdleTimeout are
	// the HTTP server's (HTTPIdleTimeout bounds an idle keep-alive
	// connection; IdleTimeout above is the session's).
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, HTTPIdleTimeout time.Duration
	// RequestTimeout is the deadline of each GraphQL query and mutation.
	RequestTimeout time.Duration
	// AddressRate and AddressBurst limit each client address (requests a
	// second and at once); a zero rate turns the limit off.
	AddressRate  float64
	AddressBurst int
	// ViewerRate and ViewerBurst limit each signed-in account likewise.
	ViewerRate  float64
	ViewerBurst int
	// MaxQueryDepth, MaxQueryComplexity and MaxQueryAliases override the
	// API's limits on a document (zero: the defaults, 12, 1,000 and 20).
	MaxQueryDepth, MaxQueryComplexity, MaxQueryAliases int
	// OperationsAllowlist is a JSON file of SHA-256 hashes to documents:
	// when set, only those operations run.
	OperationsAllowlist string
}

// APIKeyCommand manages an organisation's FHIR integration keys.
type APIKeyCommand struct {
	// Org is the organisation's ODS code.
	Org string
	// Revoke is the ID of a key to revoke; empty to create one.
	Revoke string
	// List lists the organisation's keys instead.
	List bool
}

// NHSLogin is the OpenID Connect client registration with NHS login.
type NHSLogin struct {
	// Issuer is the OpenID provider's issuer URL.
	Issuer string
	// ClientID is the portal's client id there.
	ClientID string
	// ClientSecret authenticates the client when no private key is given.
	ClientSecret string
	// PrivateKeyFile is a PEM RSA key for private_key_jwt authentication.
	PrivateKeyFile string
	// KeyID is the key's id registered with the provider.
	KeyID string
	// RedirectURL is the portal's callback, e.g. https://portal.example/auth/nhs/callback.
	RedirectURL string
}

// ErrInsecureProduction is a production start without TLS: neither the
// server's own certificate nor a proxy in front that terminates TLS.
var ErrInsecureProduction = errors.New("production mode needs TLS: give --tls-cert and --tls-key (PORTAL_TLS_CERT, PORTAL_TLS_KEY), " +
	"or --trusted-proxy-header (PORTAL_TRUSTED_PROXY_HEADER) when a reverse proxy terminates TLS")

// Defaults.
const (
	DefaultDatabaseURL = "sqlite:portal.db"
	DefaultAddr        = ":8080"
)

// Load parses args (without the program and subcommand names) over the
// environment read through getenv.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	envDuration := func(key string, def time.Duration) (time.Duration, error) {
		v := getenv(key)
		if v == "" {
			return def, nil
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		return d, nil
	}
	var c Config
	idle, err := envDuration("PORTAL_IDLE_TIMEOUT", 30*time.Minute)
	if err != nil {
		return c, err
	}
	lifetime, err := envDuration("PORTAL_SESSION_LIFETIME", 12*time.Hour)
	if err != nil {
		return c, err
	}
	mailEvery, err := envDuration("PORTAL_MAIL_INTERVAL", 5*time.Second)
	if err != nil {
		return c, err
	}
	feedEvery, err := envDuration("PORTAL_FEED_INTERVAL", time.Second)
	if err != nil {
		return c, err
	}
	shutdown, err := envDuration("PORTAL_SHUTDOWN_TIMEOUT", 20*time.Second)
	if err != nil {
		return c, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.DatabaseURL, "database", env("PORTAL_DATABASE_URL", DefaultDatabaseURL),
		"database: sqlite:<path> or mysql://user:pass@host:port/db (PORTAL_DATABASE_URL)")
	fs.StringVar(&c.Addr, "addr", env("PORTAL_ADDR", DefaultAddr), "listen address (PORTAL_ADDR)")
	fs.StringVar(&c.AdminAddr, "admin-addr", env("PORTAL_ADMIN_ADDR", ""),
		"listen address of the admin server with /metrics, e.g. 127.0.0.1:9090; off when empty (PORTAL_ADMIN_ADDR)")
	fs.BoolVar(&c.PProf, "pprof", env("PORTAL_PPROF", "") == "true",
		"serve net/http/pprof on the admin listener (PORTAL_PPROF=true)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", shutdown,
		"how long a graceful shutdown may take before connections are cut (PORTAL_SHUTDOWN_TIMEOUT)")
	fs.BoolVar(&c.Production, "production", env("PORTAL_ENV", "development") == "production",
		"production mode: no GraphiQL, no introspection, TLS required (PORTAL_ENV=production)")
	fs.StringVar(&c.TLSCert, "tls-cert", getenv("PORTAL_TLS_CERT"), "PEM certificate chain: serve HTTPS (PORTAL_TLS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", getenv("PORTAL_TLS_KEY"), "PEM private key of --tls-cert (PORTAL_TLS_KEY)")
	fs.StringVar(&c.TrustedProxyHeader, "trusted-proxy-header", getenv("PORTAL_TRUSTED_PROXY_HEADER"),
		"header a trusted reverse proxy sets with the client address, e.g. X-Forwarded-For; the proxy terminates TLS (PORTAL_TRUSTED_PROXY_HEADER)")
	fs.BoolVar(&c.Demo, "demo", false, "load the demo data into an empty store")
	origins := fs.String("allowed-origins", env("PORTAL_ALLOWED_ORIGINS", ""),
		"comma-separated browser origins allowed to use the session cookie (PORTAL_ALLOWED_ORIGINS)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", idle, "end sessions unused this long (PORTAL_IDLE_TIMEOUT)")
	fs.DurationVar(&c.SessionLifetime, "session-lifetime", lifetime, "end sessions this long after sign-in (PORTAL_SESSION_LIFETIME)")
	fs.BoolVar(&c.SecureCookie, "secure-cookie", env("PORTAL_SECURE_COOKIE", "") == "true",
		"mark the session cookie Secure, when served over TLS (PORTAL_SECURE_COOKIE=true)")
	fs.StringVar(&c.PublicURL, "public-url", env("PORTAL_PUBLIC_URL", "http://localhost:8080"),
		"where people reach the portal, for links in emails (PORTAL_PUBLIC_URL)")
	fs.StringVar(&c.BlobDir, "blob-dir", env("PORTAL_BLOB_DIR", "documents"),
		"folder for letter documents (PORTAL_BLOB_DIR)")
	fs.StringVar(&c.BrokerURL, "broker", env("PORTAL_BROKER_URL", ""),
		"redis://host:port or nats://host:port when several servers share the store (PORTAL_BROKER_URL)")
	fs.DurationVar(&c.MailInterval, "mail-interval", mailEvery,
		"how often notification emails are written and the mail outbox is sent (PORTAL_MAIL_INTERVAL)")
	postage := 85
	if p := getenv("PORTAL_POSTAGE_PENCE"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return c, fmt.Errorf("PORTAL_POSTAGE_PENCE: %q is not a number of pence", p)
		}
		postage = n
	}
	fs.IntVar(&c.PostagePence, "postage-pence", postage, "what posting one letter costs, in pence, for reporting (PORTAL_POSTAGE_PENCE)")
	fs.DurationVar(&c.FeedInterval, "feed-interval", feedEvery,
		"how often each subscription re-checks its session and looks for news without a wake-up (PORTAL_FEED_INTERVAL)")
	c.Mail.Host = getenv("PORTAL_SMTP_HOST")
	if p := getenv("PORTAL_SMTP_PORT"); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return c, fmt.Errorf("PORTAL_SMTP_PORT: %w", err)
		}
		c.Mail.Port = port
	}
	c.Mail.Security = getenv("PORTAL_SMTP_SECURITY")
	c.Mail.Username = getenv("PORTAL_SMTP_USERNAME")
	c.Mail.Password = getenv("PORTAL_SMTP_PASSWORD")
	c.Mail.From = env("PORTAL_MAIL_FROM", "Patient portal <no-reply@localhost>")
	c.Mail.OutboxDir = env("PORTAL_OUTBOX_DIR", "outbox")
	c.NHSLogin = NHSLogin{
		Issuer:         getenv("PORTAL_NHS_LOGIN_ISSUER"),
		ClientID:       getenv("PORTAL_NHS_LOGIN_CLIENT_ID"),
		ClientSecret:   getenv("PORTAL_NHS_LOGIN_CLIENT_SECRET"),
		PrivateKeyFile: getenv("PORTAL_NHS_LOGIN_PRIVATE_KEY_FILE"),
		KeyID:          getenv("PORTAL_NHS_LOGIN_KEY_ID"),
		RedirectURL:    getenv("PORTAL_NHS_LOGIN_REDIRECT_URL"),
	}
	if err := limitFlags(fs, &c, env); err != nil {
		return c, err
	}
	if name == "apikey" {
		fs.StringVar(&c.APIKey.Org, "org", "", "the organisation's ODS code")
		fs.StringVar(&c.APIKey.Revoke, "revoke", "", "revoke the key with this ID (ak...) instead of making one")
		fs.BoolVar(&c.APIKey.List, "list", false, "list the organisation's keys instead of making one")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if name == "apikey" && c.APIKey.Org == "" {
		return c, fmt.Errorf("apikey needs --org <ODS code>")
	}
	if c.MailInterval <= 0 || c.FeedInterval <= 0 {
		return c, fmt.Errorf("mail and feed intervals must be positive, not %v and %v", c.MailInterval, c.FeedInterval)
	}
	if c.AddressRate < 0 || c.ViewerRate < 0 || (c.AddressRate > 0 && c.AddressBurst < 1) || (c.ViewerRate > 0 && c.ViewerBurst < 1) {
		return c, fmt.Errorf("rate limits must be at least 0 a second with bursts of at least 1")
	}
	if c.PProf && c.AdminAddr == "" {
		return c, fmt.Errorf("--pprof needs --admin-addr: profiles are never served on the public listener")
	}
	if c.ShutdownTimeout <= 0 {
		return c, fmt.Errorf("shutdown timeout must be positive, not %v", c.ShutdownTimeout)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.Production {
		if name == "serve" && c.TLSCert == "" && c.TrustedProxyHeader == "" {
			return c, ErrInsecureProduction
		}
		// Browsers reach a production portal over HTTPS only, whether
		// this server or a proxy in front of it speaks TLS.
		c.SecureCookie = true
	}
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			if err := checkOrigin(o); err != nil {
				return c, err
			}
			c.AllowedOrigins = append(c.AllowedOrigins, o)
		}
	}
	return c, nil
}

// limitFlags declares the HTTP server's timeouts and the API's abuse limits.
func limitFlags(fs *flag.FlagSet, c *Config, env func(key, def string) string) error {
	durations := []struct {
		to             *time.Duration
		flag, variable string
		def            time.Duration
		usage          string
	}{
		{&c.ReadHeaderTimeout, "read-header-timeout", "PORTAL_READ_HEADER_TIMEOUT", 10 * time.Second, "longest time to read a request's headers"},
		{&c.ReadTimeout, "read-timeout", "PORTAL_READ_TIMEOUT", 30 * time.Second, "longest time to read a whole request, body included"},
		{&c.WriteTimeout, "write-timeout", "PORTAL_WRITE_TIMEOUT", 60 * time.Second, "longest time from the end of a request's headers to the end of its answer (not subscriptions)"},
		{&c.HTTPIdleTimeout, "http-idle-timeout", "PORTAL_HTTP_IDLE_TIMEOUT", 120 * time.Second, "how long an idle keep-alive connection stays open"},
		{&c.RequestTimeout, "request-timeout", "PORTAL_REQUEST_TIMEOUT", 15 * time.Second, "deadline of each GraphQL query and mutation (not subscriptions)"},
	}
	for _, d := range durations {
		def := d.def
		if v := env(d.variable, ""); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed < 0 {
				return fmt.Errorf("%s: %q is not a duration", d.variable, v)
			}
			def = parsed
		}
		fs.DurationVar(d.to, d.flag, def, d.usage+" ("+d.variable+")")
	}
	rates := []struct {
		rate           *float64
		burst          *int
		flag, variable string
		def            float64
		defBurst       int
		who            string
	}{
		{&c.AddressRate, &c.AddressBurst, "address", "ADDRESS", 100, 200, "client address"},
		{&c.ViewerRate, &c.ViewerBurst, "viewer", "VIEWER", 50, 100, "signed-in account"},
	}
	for _, r := range rates {
		def, defBurst := r.def, r.defBurst
		rateVar, burstVar := "PORTAL_RATE_LIMIT_"+r.variable, "PORTAL_RATE_BURST_"+r.variable
		if v := env(rateVar, ""); v != "" {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number of requests a second", rateVar, v)
			}
			def = n
		}
		if v := env(burstVar, ""); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a number of requests", burstVar, v)
			}
			defBurst = n
		}
		fs.Float64Var(r.rate, "rate-limit-"+r.flag, def, "requests a second allowed to each "+r.who+" on /query and uploads, 0 for no limit ("+rateVar+")")
		fs.IntVar(r.burst, "rate-burst-"+r.flag, defBurst, "requests at once allowed to each "+r.who+" ("+burstVar+")")
	}
	ints := []struct {
		to             *int
		flag, variable string
		def            int
		usage          string
	}{
		{&c.MaxQueryDepth, "max-query-depth", "PORTAL_MAX_QUERY_DEPTH", 12, "deepest field nesting a GraphQL operation may have"},
		{&c.MaxQueryComplexity, "max-query-complexity", "PORTAL_MAX_QUERY_COMPLEXITY", 1000, "most a GraphQL operation may cost (connections: page size times their fields)"},
		{&c.MaxQueryAliases, "max-query-aliases", "PORTAL_MAX_QUERY_ALIASES", 20, "most aliased fields a GraphQL operation may hold"},
	}
	for _, n := range ints {
		def := n.def
		if v := env(n.variable, ""); v != "" {
			parsed, err := strconv.Atoi(v)
			if err != nil || parsed < 1 {
				return fmt.Errorf("%s: %q is not a positive number", n.variable, v)
			}
			def = parsed
		}
		fs.IntVar(n.to, n.flag, def, n.usage+" ("+n.variable+")")
	}
	fs.StringVar(&c.OperationsAllowlist, "operations-allowlist", env("PORTAL_OPERATIONS_ALLOWLIST", ""),
		"JSON file of SHA-256 hashes to GraphQL documents: only those run (PORTAL_OPERATIONS_ALLOWLIST)")
	return nil
}

// ErrBadOrigin is an allowed origin that is not exactly one origin.
var ErrBadOrigin = errors.New("an allowed origin is scheme://host[:port], lowercase, with no path and no wildcard")

// checkOrigin accepts an origin exactly as browsers send it in Origin: a
// wildcard or a path would match pages nobody meant to trust.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(o, "*") ||
		o != strings.ToLower(o) || u.Scheme+"://"+u.Host != o {
		return fmt.Errorf("%w: %q", ErrBadOrigin, o)
	}
	return nil
}
