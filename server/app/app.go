// Package app assembles the portal's HTTP service: routes, sessions,
// browser access and the GraphQL endpoint, over an open store.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	httppprof "net/http/pprof"
	"net/url"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/server/api"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/broker"
	"github.com/patientportal/portal/server/clinical"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/drain"
	"github.com/patientportal/portal/server/fhir"
	"github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/nhslogin"
	"github.com/patientportal/portal/server/observe"
	"github.com/patientportal/portal/server/report"
	"github.com/patientportal/portal/server/research"
	"github.com/patientportal/portal/server/sharing"
	"github.com/patientportal/portal/server/tracking"
)

// App is the assembled service.
type App struct {
	// Sessions signs viewers in and resolves them.
	Sessions *auth.Service
	// Broker carries notification wake-ups between servers.
	Broker broker.Broker
	// Metrics are the service's Prometheus metrics, served by the admin
	// listener (see Metrics.Handler).
	Metrics *observe.Metrics
	// Drain ends subscriptions and websockets at shutdown.
	Drain *drain.Drain

	handler    http.Handler
	ready      atomic.Bool
	storeCheck atomic.Pointer[func(context.Context) error]
}

// New assembles the service over client. now is the clock (nil: time.Now).
func New(client *ent.Client, cfg config.Config, now func() time.Time) (*App, error) {
	sessions, err := auth.New(client, auth.Config{
		IdleTimeout:    cfg.IdleTimeout,
		Lifetime:       cfg.SessionLifetime,
		SecureCookie:   cfg.SecureCookie,
		AllowedOrigins: cookieOrigins(cfg),
		PublicURL:      cfg.PublicURL,
		Now:            now,
	})
	if err != nil {
		return nil, err
	}
	a := &App{Sessions: sessions, Metrics: observe.NewMetrics(), Drain: drain.New()}
	if err := a.Metrics.Register(observe.QueryGauge("portal_mail_outbox_backlog",
		"Emails in the outbox neither sent nor abandoned.",
		func(ctx context.Context) (float64, error) {
			n, err := mail.Backlog(ctx, client)
			return float64(n), err
		})); err != nil {
		return nil, err
	}
	wakes, err := broker.Open(cfg.BrokerURL)
	if err != nil {
		return nil, err
	}
	a.Broker = wakes
	broker.PublishNotifications(client, wakes)
	blobs := blob.NewDir(cfg.BlobDir)
	clin := clinical.New(client, clinical.Config{PublicURL: cfg.PublicURL, Now: now, Blobs: blobs})
	studies := research.New(client, research.Config{PublicURL: cfg.PublicURL, Now: now})
	var allow api.Allowlist
	if cfg.OperationsAllowlist != "" {
		if allow, err = api.LoadAllowlist(cfg.OperationsAllowlist); err != nil {
			return nil, err
		}
	}
	limits := api.NewRateLimiter(api.RateConfig{
		PerAddress:         api.Rate{Limit: cfg.AddressRate, Burst: cfg.AddressBurst},
		PerViewer:          api.Rate{Limit: cfg.ViewerRate, Burst: cfg.ViewerBurst},
		TrustedProxyHeader: cfg.TrustedProxyHeader,
		Now:                now,
	})
	gql := api.NewHandler(client, api.Services{
		Identity:  sessions,
		Sharing:   sharing.New(client, sharing.Config{PublicURL: cfg.PublicURL, Now: now}),
		Clinical:  clin,
		Tracking:  tracking.New(client, tracking.Config{Now: now}),
		Research:  studies,
		Reporting: report.New(client, report.Config{PostagePence: cfg.PostagePence, Now: now}),
		Waker:     wakes,
	}, api.Config{Introspection: !cfg.Production, Suggestions: !cfg.Production, AllowedOrigins: cfg.AllowedOrigins,
		FeedInterval: cfg.FeedInterval, RequestTimeout: cfg.RequestTimeout, Allowlist: allow, Metrics: a.Metrics, Drain: a.Drain, Rates: limits,
		Limits: api.Limits{Depth: cfg.MaxQueryDepth, Complexity: cfg.MaxQueryComplexity, Aliases: cfg.MaxQueryAliases}})
	// An address is limited before its session is looked up, a viewer
	// once it is known.
	limited := func(h http.Handler) http.Handler { return limits.ByAddress(sessions.Middleware(limits.ByViewer(h))) }
	browsers := corsFor(cfg.AllowedOrigins)

	mux := http.NewServeMux()
	graphqlSessions := sessions.MiddlewareWith(api.RequestErrorWriter(a.Metrics))
	mux.Handle("/query", browsers.Handler(a.whenReady(a.Drain.Middleware(limits.ByAddress(graphqlSessions(limits.ByViewer(gql)))))))
	mux.Handle("/measurements/upload", browsers.Handler(a.whenReady(limited(tracking.New(client, tracking.Config{Now: now}).UploadHandler()))))
	// Letter documents: a signed link or a bearer token, checked again
	// against the privacy policy (see clinical.DocumentHandler).
	mux.Handle("GET /letters/{id}/document", a.whenReady(clin.DocumentHandler(sessions)))
	// A study's export: bearer tokens only (the middleware takes no cookie
	// on GET), so no link or other site can start a download.
	mux.Handle("GET /research/studies/{id}/export", a.whenReady(sessions.Middleware(studies.ExportHandler())))
	// Trusts' systems push FHIR with an integration key: no browser, no
	// session, no cookie.
	ingest := (&fhir.Importer{Client: client, Blobs: blobs, Now: now}).Handler()
	mux.Handle("/fhir/r4", a.whenReady(ingest))
	mux.Handle("/fhir/r4/", a.whenReady(ingest))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	if !cfg.Production {
		mux.Handle("GET /{$}", graphiQL())
	}
	if cfg.NHSLogin.Issuer != "" {
		nhs, err := newNHSLogin(client, cfg.NHSLogin, now, sessions)
		if err != nil {
			return nil, err
		}
		mux.Handle("/auth/nhs/", nhs.Handler())
	}
	a.handler = observe.Middleware(securityHeaders(mux, cfg.TrustedProxyHeader != ""))
	return a, nil
}

// cookieOrigins are the origins whose POSTs may use the session cookie:
// the listed ones and, behind a proxy that terminates TLS, the portal's
// public origin, which the server cannot recognise as its own from a
// request it receives over plain HTTP.
func cookieOrigins(cfg config.Config) []string {
	origins := slices.Clone(cfg.AllowedOrigins)
	if cfg.TrustedProxyHeader == "" {
		return origins
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	return origins
}

// newNHSLogin connects to NHS login (discovery happens here, at start-up).
func newNHSLogin(client *ent.Client, cfg config.NHSLogin, now func() time.Time, sessions *auth.Service) (*nhslogin.Provider, error) {
	nc := nhslogin.Config{
		Issuer:       cfg.Issuer,
		ClientID:     cfg.ClientID,
		RedirectURL:  cfg.RedirectURL,
		ClientSecret: cfg.ClientSecret,
		KeyID:        cfg.KeyID,
	}
	if cfg.PrivateKeyFile != "" {
		key, err := os.ReadFile(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("NHS login private key: %w", err)
		}
		nc.PrivateKeyPEM = key
	}
	if now == nil {
		now = time.Now
	}
	// The context outlives start-up: go-oidc fetches rotated signing keys
	// with it. The package's HTTP client bounds each request instead.
	return nhslogin.New(context.Background(), nc, client, now, sessions.CompleteNHSLogin)
}

// SetReady marks the service ready: migrations and demo data are done.
func (a *App) SetReady() { a.ready.Store(true) }

// SetStoreCheck makes /readyz ask check whether the store answers (see
// store.Store.Ping).
func (a *App) SetStoreCheck(check func(context.Context) error) { a.storeCheck.Store(&check) }

// readyz tells a load balancer whether to send this server traffic: not
// while starting, not while shutting down, not while the store does not
// answer. It asks the store every time, so it turns ready again as soon
// as the database is back.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	switch {
	case !a.ready.Load():
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	case a.Drain.Draining():
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if check := a.storeCheck.Load(); check != nil {
		if err := (*check)(r.Context()); err != nil {
			slog.WarnContext(r.Context(), "not ready", "err", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ready\n"))
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// whenReady refuses API requests until the store is migrated.
func (a *App) whenReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Admin is the handler of the admin listener: /metrics, and with pprof the
// Go profiler under /debug/pprof/. It has no authentication of its own:
// it belongs on loopback or a private network, never beside /query.
func (a *App) Admin(pprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	if pprof {
		mux.HandleFunc("/debug/pprof/", httppprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	}
	return mux
}
