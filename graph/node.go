package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// validateIDs refuses malformed IDs before anything is looked up, so that a
// well-formed ID of a hidden record answers exactly like a missing one.
func validateIDs(ids ...pulid.ID) error {
	for _, id := range ids {
		if _, err := pulid.TableOf(id); err != nil {
			return badInput("%q is not a valid ID", string(id))
		}
	}
	return nil
}

// nodeType tells entgql which table an ID names, from its prefix.
var nodeType = ent.WithNodeType(func(_ context.Context, id pulid.ID) (string, error) {
	return pulid.TableOf(id)
})

// node resolves one ID; missing and hidden both give nil.
func (r *Resolver) node(ctx context.Context, id pulid.ID) (ent.Noder, error) {
	if err := validateIDs(id); err != nil {
		return nil, err
	}
	if access.FromContext(ctx) == nil {
		return nil, access.ErrNoViewer
	}
	n, err := r.Client.Noder(ctx, id, nodeType)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return n, err
}

// nodes resolves many IDs with one query per type. Missing and hidden both
// give a null entry and no error, so neither can be told from the other.
func (r *Resolver) nodes(ctx context.Context, ids []pulid.ID) ([]ent.Noder, error) {
	if err := validateIDs(ids...); err != nil {
		return nil, err
	}
	if access.FromContext(ctx) == nil {
		return nil, access.ErrNoViewer
	}
	if len(ids) == 1 {
		// Noders hands a single ID to Noder, which reports a missing one
		// as an error; answer it as an entry instead.
		n, err := r.node(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		return []ent.Noder{n}, nil
	}
	// Noders reports each missing entry as a response error; collect those
	// in a throwaway response context and keep only real failures.
	scratch := graphql.WithResponseContext(ctx, graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	noders, err := r.Client.Noders(scratch, ids, nodeType)
	if err != nil {
		return nil, err
	}
	for _, e := range graphql.GetErrors(scratch) {
		if e.Extensions["code"] == "NOT_FOUND" || ent.IsNotFound(e.Err) {
			continue
		}
		if e.Err != nil {
			return nil, e.Err
		}
		return nil, e
	}
	return noders, nil
}
