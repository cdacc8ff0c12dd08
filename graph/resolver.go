// Package graph translates GraphQL into calls on the data layer and back.
// Resolvers stay a few lines each: who may see what is decided by the Ent
// privacy policies (package access), never here.
package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent"
)

// Sessions signs viewers in and out. The server implements it, so that the
// GraphQL layer never handles tokens, cookies or password hashes itself.
type Sessions interface {
	// SignIn checks the credentials and starts a session.
	SignIn(ctx context.Context, email, password string) (token string, account *ent.Account, err error)
	// SignOut ends the session the request came with.
	SignOut(ctx context.Context) error
}

// Resolver is the root resolver; it carries the dependencies.
type Resolver struct {
	Client   *ent.Client
	Sessions Sessions
}

// NewSchema returns the executable schema over r.
func NewSchema(r *Resolver) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: r})
}
