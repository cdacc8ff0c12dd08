package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// marshalInOrder marshals a list of objects element by element on the
// calling goroutine. ent/entc.go puts it in place of gqlgen's
// graphql.MarshalSliceConcurrently, which starts a goroutine per element:
// a list's elements are loaded before it is marshalled, so those buy no
// parallelism, only a stack each that grows (and is copied) as the
// element's fields resolve. The arguments and the answer are gqlgen's, a
// panic in one element still nulls that element alone, and the worker
// limit has nothing to bound.
func marshalInOrder(ctx context.Context, length int, _ int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, length)
	for i := range length {
		elementCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
		ret[i] = marshalElementOf(elementCtx, i, omitPanicHandler, marshalElement)
	}
	return ret
}

// marshalElementOf is element i, or null with the panic's error.
func marshalElementOf(ctx context.Context, i int, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(ctx, graphql.Recover(ctx, r))
				m = graphql.Null
			}
		}()
	}
	return marshalElement(ctx, i)
}
