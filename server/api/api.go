// Package api serves the GraphQL endpoint: the executable schema with its
// transports and limits, and the one mapping from errors to the codes
// clients read.
package api

import (
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/graph"
)

// MaxUploadSize bounds a multipart request: a 10 MB document and its form.
const MaxUploadSize = 11 << 20

// Config selects what the endpoint offers.
type Config struct {
	// Introspection answers schema queries (development mode).
	Introspection bool
}

// Services are the capabilities behind the resolvers.
type Services struct {
	Identity graph.Identity
	Sharing  graph.Sharing
	Clinical graph.Clinical
	Tracking graph.Tracking
}

// NewHandler returns the GraphQL HTTP handler over client and services.
func NewHandler(client *ent.Client, svc Services, cfg Config) http.Handler {
	srv := handler.New(graph.NewSchema(&graph.Resolver{Client: client, Identity: svc.Identity, Sharing: svc.Sharing, Clinical: svc.Clinical, Tracking: svc.Tracking}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(transport.MultipartForm{MaxUploadSize: MaxUploadSize, MaxMemory: 1 << 20})
	srv.SetQueryCache(graph.DefaultPages{Cache: lru.New[*ast.QueryDocument](1000)})
	srv.Use(graph.PageLimits{})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	return srv
}
