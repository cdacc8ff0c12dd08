package graph

import (
	"context"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/patientportal/portal/ent"
)

// Page sizes of every connection: entgql returns every row when neither
// first nor last is given, so the server supplies a default and a ceiling.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// PageLimits is a gqlgen extension that enforces the page sizes. A
// connection field with neither first nor last gets first: DefaultPageSize
// written into the document (once, when it is parsed, before it is cached
// or shared), so that entgql's eager loading and the resolver agree; a size
// from a variable is checked per request.
type PageLimits struct{}

var (
	_ graphql.HandlerExtension        = PageLimits{}
	_ graphql.OperationContextMutator = PageLimits{}
)

// ExtensionName implements graphql.HandlerExtension.
func (PageLimits) ExtensionName() string { return "PageLimits" }

// Validate implements graphql.HandlerExtension.
func (PageLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext checks every connection's page size with the
// request's variables, and fills a page size left null by a variable.
func (PageLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	var err *gqlerror.Error
	walkConnections(oc.Doc, func(f *ast.Field) {
		if err != nil {
			return
		}
		args := f.ArgumentMap(oc.Variables)
		for _, name := range []string{"after", "before"} {
			if v := args[name]; v != nil {
				var c ent.Cursor
				if c.UnmarshalGQL(v) != nil {
					err = gqlerror.Errorf("%s on %s is not a valid cursor", name, f.Name)
					err.Extensions = map[string]any{"code": "BAD_USER_INPUT"}
					return
				}
			}
		}
		first, last := args["first"], args["last"]
		if first == nil && last == nil {
			if a := f.Arguments.ForName("first"); a != nil && a.Value.Kind == ast.Variable {
				if oc.Variables == nil {
					oc.Variables = map[string]any{}
				}
				oc.Variables[a.Value.Raw] = DefaultPageSize
			}
			return
		}
		for name, v := range map[string]any{"first": first, "last": last} {
			if v == nil {
				continue
			}
			n, ok := v.(int64)
			if !ok {
				if i, isInt := v.(int); isInt {
					n, ok = int64(i), true
				}
			}
			if !ok || n < 0 || n > MaxPageSize {
				err = gqlerror.Errorf("%s on %s must be between 0 and %d", name, f.Name, MaxPageSize)
				err.Extensions = map[string]any{"code": "BAD_USER_INPUT"}
				return
			}
		}
	})
	return err
}

// DefaultPages wraps gqlgen's query cache: every document is parsed and
// validated, then added here, before any request shares it; that is when
// the default page size is written in.
type DefaultPages struct {
	graphql.Cache[*ast.QueryDocument]
}

// Add implements graphql.Cache.
func (c DefaultPages) Add(ctx context.Context, key string, doc *ast.QueryDocument) {
	walkConnections(doc, func(f *ast.Field) {
		first, last := f.Arguments.ForName("first"), f.Arguments.ForName("last")
		if isGiven(first) || isGiven(last) {
			return
		}
		if first != nil {
			first.Value = intValue(DefaultPageSize)
			return
		}
		f.Arguments = append(f.Arguments, &ast.Argument{Name: "first", Value: intValue(DefaultPageSize)})
	})
	c.Cache.Add(ctx, key, doc)
}

func isGiven(a *ast.Argument) bool {
	return a != nil && a.Value != nil && a.Value.Kind != ast.NullValue
}

func intValue(n int) *ast.Value {
	return &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(n)}
}

// walkConnections calls fn for every connection field of the document, in
// operations and fragments alike.
func walkConnections(doc *ast.QueryDocument, fn func(*ast.Field)) {
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if isConnection(s) {
					fn(s)
				}
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, frag := range doc.Fragments {
		walk(frag.SelectionSet)
	}
}

func isConnection(f *ast.Field) bool {
	d := f.Definition
	return d != nil && strings.HasSuffix(d.Type.Name(), "Connection") &&
		d.Arguments.ForName("first") != nil && d.Arguments.ForName("last") != nil
}
