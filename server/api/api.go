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

// Config selects what the endpoint offers.
type Config struct {
	// Introspection answers schema queries (development mode).
	Introspection bool
}

// NewHandler returns the GraphQL HTTP handler. The viewer must already be in
// each request's context (see package auth).
func NewHandler(client *ent.Client, identity graph.Identity, sharing graph.Sharing, cfg Config) http.Handler {
	srv := handler.New(graph.NewSchema(&graph.Resolver{Client: client, Identity: identity, Sharing: sharing}))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(graph.DefaultPages{Cache: lru.New[*ast.QueryDocument](1000)})
	srv.Use(graph.PageLimits{})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverPanic)
	return srv
}
