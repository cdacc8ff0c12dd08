package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/patientportal/portal/graph"
)

// The limits every document is held to before it runs.
const (
	// MaxDepth is the deepest path of fields, leaves included, with
	// fragments expanded.
	MaxDepth = 12
	// MaxComplexity is the most an operation may cost (see measure).
	MaxComplexity = 1000
	// MaxAliases is how many aliased fields an operation may hold.
	MaxAliases = 20
	// MaxOperations is how many operation definitions a document may hold.
	MaxOperations = 10
	// MaxBodyBytes bounds a request body on /query, except a multipart
	// upload, which has MaxUploadSize.
	MaxBodyBytes = 1 << 20
)

// Conditions behind refused requests; classify maps each to its code.
var (
	// ErrQueryLimit is the condition of every LimitError.
	ErrQueryLimit = errors.New("query limit exceeded")
	// ErrIntrospectionDisabled refuses schema queries in production.
	ErrIntrospectionDisabled = errors.New("introspection is disabled")
	// ErrBodyTooLarge refuses a body over MaxBodyBytes.
	ErrBodyTooLarge = errors.New("request body too large")
)

// LimitError says which limit a document went over.
type LimitError struct {
	// Limit names it: depth, complexity, aliases or operations.
	Limit string
	// Max is the limit, Actual what the document came to.
	Max, Actual int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("query %s %d exceeds the limit of %d", e.Limit, e.Actual, e.Max)
}

// Unwrap makes every LimitError an ErrQueryLimit.
func (e *LimitError) Unwrap() error { return ErrQueryLimit }

// Limits overrides the limits of a document's shape; a zero field keeps
// its default (MaxDepth, MaxComplexity, MaxAliases).
type Limits struct {
	Depth, Complexity, Aliases int
}

// withDefaults fills each zero limit with its default.
func (l Limits) withDefaults() Limits {
	if l.Depth <= 0 {
		l.Depth = MaxDepth
	}
	if l.Complexity <= 0 {
		l.Complexity = MaxComplexity
	}
	if l.Aliases <= 0 {
		l.Aliases = MaxAliases
	}
	return l
}

// documentLimits is a gqlgen extension that measures the operation about to
// run with its variables and refuses it when it goes over a limit. It runs
// after graph.PageLimits, which has refused page sizes over the maximum.
type documentLimits struct {
	limits Limits
	// introspection allows __schema and __type.
	introspection bool
}

var (
	_ graphql.HandlerExtension        = documentLimits{}
	_ graphql.OperationContextMutator = documentLimits{}
)

// ExtensionName implements graphql.HandlerExtension.
func (documentLimits) ExtensionName() string { return "DocumentLimits" }

// Validate implements graphql.HandlerExtension.
func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l documentLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if err := check(oc.Doc, oc.Operation, oc.Variables, l.limits, l.introspection); err != nil {
		return documentError(err, oc.Operation.Position)
	}
	return nil
}

// check measures op of doc with vars against every limit.
func check(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any, limits Limits, introspection bool) error {
	if n := len(doc.Operations); n > MaxOperations {
		return &LimitError{Limit: "operations", Max: MaxOperations, Actual: n}
	}
	m := (&measurer{doc: doc, vars: vars, fragments: map[string]measure{}}).set(op.SelectionSet)
	switch {
	case m.introspects && !introspection:
		return ErrIntrospectionDisabled
	case m.depth > limits.Depth:
		return &LimitError{Limit: "depth", Max: limits.Depth, Actual: m.depth}
	case m.aliases > limits.Aliases:
		return &LimitError{Limit: "aliases", Max: limits.Aliases, Actual: m.aliases}
	case m.cost > limits.Complexity:
		return &LimitError{Limit: "complexity", Max: limits.Complexity, Actual: m.cost}
	}
	return nil
}

// documentError is a refusal of the document as a GraphQL error, its code
// set at once so that the transports answer with the status of a request
// error (as for a validation failure).
func documentError(err error, pos *ast.Position) *gqlerror.Error {
	code, message := classify(err)
	e := &gqlerror.Error{Message: message, Err: err, Extensions: map[string]any{"code": code}}
	if pos != nil {
		e.Locations = []gqlerror.Location{{Line: pos.Line, Column: pos.Column}}
	}
	return e
}

func init() {
	for _, code := range []string{CodeQueryLimit, CodeIntrospectionDisabled, CodeOperationNotAllowed} {
		errcode.RegisterErrorType(code, errcode.KindProtocol)
	}
}

// measure is what a selection set comes to.
//
// Cost counts the objects an operation can produce: a scalar or enum field
// costs nothing (its column is loaded with its row, and the alias limit
// bounds repeats), an object field or list that is not a connection costs
// 1 plus its children, and a connection costs 1 plus its page size (first
// or last, else graph.DefaultPageSize) times the cost of its children.
// Inline fragments and fragment spreads add their fields where they stand.
type measure struct {
	depth, cost, aliases int
	introspects          bool
}

type measurer struct {
	doc  *ast.QueryDocument
	vars map[string]any
	// fragments holds each fragment's measure, so that a fragment spread
	// many times is walked once.
	fragments map[string]measure
}

func (m *measurer) set(set ast.SelectionSet) measure {
	var out measure
	for _, sel := range set {
		var s measure
		switch x := sel.(type) {
		case *ast.Field:
			s = m.field(x)
		case *ast.InlineFragment:
			s = m.set(x.SelectionSet)
		case *ast.FragmentSpread:
			s = m.fragment(x.Name)
		}
		out.depth = max(out.depth, s.depth)
		out.cost = sum(out.cost, s.cost)
		out.aliases = sum(out.aliases, s.aliases)
		out.introspects = out.introspects || s.introspects
	}
	return out
}

func (m *measurer) fragment(name string) measure {
	if s, ok := m.fragments[name]; ok {
		return s
	}
	var s measure
	if def := m.doc.Fragments.ForName(name); def != nil {
		// Validation has refused cycles; the placeholder keeps a
		// pathological document from recursing anyway.
		m.fragments[name] = measure{}
		s = m.set(def.SelectionSet)
	}
	m.fragments[name] = s
	return s
}

func (m *measurer) field(f *ast.Field) measure {
	c := m.set(f.SelectionSet)
	out := measure{depth: c.depth + 1, aliases: c.aliases, introspects: c.introspects || f.Name == "__schema" || f.Name == "__type"}
	if f.Alias != "" && f.Alias != f.Name {
		out.aliases = sum(out.aliases, 1)
	}
	// ofType only unwraps a type reference (list, non-null), so its chain
	// is as long as the schema's deepest wrapping and costs nothing to
	// answer: GraphiQL's introspection query nests it eight times.
	if f.Name == "ofType" && f.ObjectDefinition != nil && f.ObjectDefinition.Name == "__Type" {
		out.depth = c.depth
	}
	switch {
	case len(f.SelectionSet) == 0:
	case isConnection(f):
		out.cost = sum(1, product(m.pageSize(f), c.cost))
	default:
		out.cost = sum(1, c.cost)
	}
	return out
}

// pageSize is the larger of first and last, or the default page size.
func (m *measurer) pageSize(f *ast.Field) int {
	args := f.ArgumentMap(m.vars)
	size, given := 0, false
	for _, name := range []string{"first", "last"} {
		var n int64
		switch v := args[name].(type) {
		case int64:
			n = v
		case int:
			n = int64(v)
		default:
			continue
		}
		given = true
		size = max(size, int(min(max(n, 0), ceiling)))
	}
	if !given {
		return graph.DefaultPageSize
	}
	return size
}

func isConnection(f *ast.Field) bool {
	d := f.Definition
	return d != nil && strings.HasSuffix(d.Type.Name(), "Connection") &&
		d.Arguments.ForName("first") != nil && d.Arguments.ForName("last") != nil
}

// ceiling keeps measures from overflowing on a document built to explode.
const ceiling = 1 << 30

func sum(a, b int) int { return min(a+b, ceiling) }

func product(a, b int) int {
	if a != 0 && b > ceiling/a {
		return ceiling
	}
	return min(a*b, ceiling)
}

// limitBody refuses a body over MaxBodyBytes with 413 before gqlgen reads
// it; a multipart upload is bounded by its transport instead.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || isMultipart(r) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxBodyBytes {
			writeRefusal(w, http.StatusRequestEntityTooLarge, ErrBodyTooLarge)
			return
		}
		if r.ContentLength < 0 {
			// Chunked: read up to the bound here, so that an oversized body
			// is answered like one declared too long.
			body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
			if err != nil {
				http.Error(w, "could not read the request body", http.StatusBadRequest)
				return
			}
			if len(body) > MaxBodyBytes {
				writeRefusal(w, http.StatusRequestEntityTooLarge, ErrBodyTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

func isMultipart(r *http.Request) bool {
	t, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && t == "multipart/form-data"
}

// deadline is a gqlgen extension that gives each query and mutation a
// deadline; subscriptions (websocket, server-sent events) live on.
type deadline struct {
	timeout time.Duration
}

var (
	_ graphql.HandlerExtension    = deadline{}
	_ graphql.ResponseInterceptor = deadline{}
)

// ExtensionName implements graphql.HandlerExtension.
func (deadline) ExtensionName() string { return "Deadline" }

// Validate implements graphql.HandlerExtension.
func (deadline) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor: a query or
// mutation runs inside it. (Set earlier, a deadline already passed would
// make gqlgen answer with no response at all.)
func (d deadline) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if d.timeout <= 0 || !graphql.HasOperationContext(ctx) {
		return next(ctx) // an error answered before any operation
	}
	if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation == ast.Subscription {
		return next(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	return next(ctx)
}
