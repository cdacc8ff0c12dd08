// Package api serves the GraphQL endpoint: the executable schema with its
// transports and limits, and the one mapping from errors to the codes
// clients read.
package api

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"net/http"

	coderws "github.com/coder/websocket"
	"github.com/patientportal/portal/ent/access"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/server/drain"
	"github.com/patientportal/portal/server/observe"
)

// MaxUploadSize bounds a multipart request: a 10 MB document and its form.
const MaxUploadSize = 11 << 20

// Config selects what the endpoint offers.
type Config struct {
	// Introspection answers schema queries (development mode).
	Introspection bool
	// Suggestions adds "Did you mean ..." to validation errors
	// (development mode): in production they would map out the schema.
	Suggestions bool
	// Limits overrides the limits of a document's shape (zero: defaults).
	Limits Limits
	// RequestTimeout is the deadline of each query and mutation; none when
	// zero. Subscriptions are not bounded by it.
	RequestTimeout time.Duration
	// Allowlist, when not nil, is the only operations that run.
	Allowlist Allowlist
	// AllowedOrigins are the browser origins (besides the server's own)
	// that may open a websocket.
	AllowedOrigins []string
	// FeedInterval is how often subscriptions poll; a second when zero.
	FeedInterval time.Duration
	// Metrics records operations and errors; optional.
	Metrics *observe.Metrics
	// Drain ends subscriptions at shutdown; optional.
	Drain *drain.Drain
	// Rates, when set, also counts each operation sent over a websocket
	// (see RateLimiter.Sockets); HTTP requests are the caller's to wrap.
	Rates *RateLimiter
}

// Services are the capabilities behind the resolvers.
type Services struct {
	Identity graph.Identity
	Sharing  graph.Sharing
	Clinical graph.Clinical
	Tracking graph.Tracking
	// Reporting and Research serve analysts and researchers.
	Reporting graph.Reporting
	Research  graph.Research
	// Waker wakes subscriptions; optional.
	Waker graph.Waker
}

// NewHandler returns the GraphQL HTTP handler over client and services,
// with the limits of limits.go; rate limits are the caller's to wire (see
// RateLimiter), around the session middleware.
func NewHandler(client *ent.Client, svc Services, cfg Config) http.Handler {
	srv := handler.New(graph.NewSchema(&graph.Resolver{Client: client, Identity: svc.Identity, Sharing: svc.Sharing, Clinical: svc.Clinical, Tracking: svc.Tracking,
		Reports: svc.Reporting, Research: svc.Research, Waker: svc.Waker, FeedInterval: cfg.FeedInterval}))
	srv.AddTransport(transport.Options{})
	// SSE first: it claims POSTs that accept text/event-stream, which the
	// POST transport would otherwise answer.
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.MultipartForm{MaxUploadSize: MaxUploadSize, MaxMemory: 1 << 20})
	var sockets transport.WebsocketImplementation = transport.CoderWebsocketImplementation{
		// rs/cors does not cover the upgrade: the same list applies here.
		AcceptOptions: coderws.AcceptOptions{OriginPatterns: originHosts(cfg.AllowedOrigins)},
	}
	if cfg.Drain != nil {
		sockets = cfg.Drain.Websocket(sockets)
	}
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		Implementation:        sockets,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			ctx, ack, err := authenticateSocket(ctx, svc.Identity, p)
			if err == nil && cfg.Drain != nil {
				// The connection closes when this context ends.
				ctx = cfg.Drain.Context(ctx)
			}
			return ctx, ack, err
		},
	})
	// Last: it takes every other GET and POST (see httpspec.go).
	srv.AddTransport(httpSpec{})
	srv.SetQueryCache(graph.DefaultPages{Cache: lru.New[*ast.QueryDocument](1000)})
	srv.SetDisableSuggestion(!cfg.Suggestions)
	srv.Use(newPersisted(cfg.Allowlist))
	srv.Use(graph.PageLimits{})
	srv.Use(documentLimits{limits: cfg.Limits.withDefaults(), introspection: cfg.Introspection})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(deadline{timeout: cfg.RequestTimeout})
	if cfg.Rates != nil {
		srv.Use(cfg.Rates.Sockets())
	}
	if cfg.Metrics != nil {
		srv.Use(cfg.Metrics.Extension())
	}
	if cfg.Drain != nil {
		srv.Use(cfg.Drain.Extension())
	}
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		presented := presentError(ctx, err)
		if cfg.Metrics != nil {
			code, _ := presented.Extensions["code"].(string)
			cfg.Metrics.CountError(ctx, code)
		}
		return presented
	})
	srv.SetRecoverFunc(recoverPanic)
	return unboundStreams(limitBody(srv))
}

// unboundStreams lifts the server's write timeout (and, for a websocket,
// its read timeout) from a subscription's long-lived response: those
// timeouts are for ordinary requests, and each subscription has its own
// keep-alive and session checks.
func unboundStreams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		switch {
		case strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
			_ = rc.SetReadDeadline(time.Time{})
			_ = rc.SetWriteDeadline(time.Time{})
		case strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
			_ = rc.SetWriteDeadline(time.Time{})
		}
		next.ServeHTTP(w, r)
	})
}

// authenticateSocket signs a websocket in from connection_init's
// {"authToken": "<token>"}; without one, the connection keeps whatever
// viewer the upgrade request had.
func authenticateSocket(ctx context.Context, identity graph.Identity, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	token := p.GetString("authToken")
	if token == "" {
		token = strings.TrimPrefix(p.Authorization(), "Bearer ")
	}
	if token != "" {
		v, err := identity.Resolve(ctx, token)
		if err != nil {
			return ctx, nil, err
		}
		if v == nil {
			return ctx, nil, errors.New("sign in to continue")
		}
		return access.NewContext(ctx, v), nil, nil
	}
	if access.FromContext(ctx) == nil {
		return ctx, nil, errors.New("sign in to continue")
	}
	return ctx, nil, nil
}

// originHosts turns origins (https://app.example) into the host patterns
// the websocket library matches.
func originHosts(origins []string) []string {
	hosts := make([]string, 0, len(origins))
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}
