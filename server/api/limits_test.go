package api

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/patientportal/portal/graph"
)

var schema = graph.NewSchema(&graph.Resolver{}).Schema()

// measured validates doc against the schema and measures its first
// operation.
func measured(t *testing.T, doc string, introspection bool) (measure, error) {
	t.Helper()
	q, errs := gqlparser.LoadQuery(schema, doc)
	if errs != nil {
		t.Fatalf("%v\n%s", errs, doc)
	}
	op := q.Operations[0]
	m := (&measurer{doc: q, fragments: map[string]measure{}}).set(op.SelectionSet)
	return m, check(q, op, nil, Limits{}.withDefaults(), introspection)
}

func TestEveryQueryInTheREADMEFitsTheLimits(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```graphql\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d GraphQL blocks in the README, want the sign-in and the dashboard at least", len(blocks))
	}
	for _, b := range blocks {
		m, err := measured(t, b[1], false)
		if err != nil {
			t.Errorf("%v:\n%s", err, b[1])
		}
		t.Logf("depth %d, complexity %d, aliases %d: %.60q", m.depth, m.cost, m.aliases, b[1])
	}
}

func TestGraphiQLsIntrospectionQueryFitsInDevelopmentAndIsRefusedInProduction(t *testing.T) {
	doc, err := os.ReadFile("testdata/introspection.graphql")
	if err != nil {
		t.Fatal(err)
	}
	m, err := measured(t, string(doc), true)
	if err != nil {
		t.Errorf("development: %v", err)
	}
	t.Logf("GraphiQL's introspection: depth %d, complexity %d", m.depth, m.cost)
	if _, err := measured(t, string(doc), false); !errors.Is(err, ErrIntrospectionDisabled) {
		t.Errorf("production: %v, want introspection disabled", err)
	}
}

func TestMeasures(t *testing.T) {
	for _, c := range []struct {
		name                 string
		doc                  string
		depth, cost, aliases int
	}{
		{"scalars cost nothing, objects one each", `{ viewer { account { id email } } }`, 3, 2, 0},
		{"a connection costs its page size times its children", `query($p: ID!) { patient(id: $p) { appointments(first: 5) { totalCount edges { node { id title } } } } }`, 5, 1 + 1 + 5*2, 0},
		{"an omitted page size is the default", `query($p: ID!) { patient(id: $p) { letters { edges { node { id } } } } }`, 5, 1 + 1 + graph.DefaultPageSize*2, 0},
		{"nested connections multiply", `query($p: ID!) { patient(id: $p) { appointments(first: 10) { edges { node { patient { letters(first: 10) { edges { node { id } } } } } } } } }`,
			9, 1 + 1 + 10*(1+1+1+1+10*2), 0},
		{"fragments and inline fragments count where they stand", `query($p: ID!) { patient(id: $p) { ...F } node(id: $p) { ... on Patient { id familyName } } }
			fragment F on Patient { appointments(first: 2) { edges { node { id } } } }`, 5, 1 + 1 + 2*2 + 1, 0},
		{"aliases are counted, fields without one are not", `{ a: viewer { account { id } } b: viewer { account { e: email } } viewer { account { id } } }`, 3, 6, 3},
		{"introspection counts, ofType does not deepen", `{ __type(name: "Patient") { fields { type { ofType { ofType { name } } } } } }`, 4, 5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, _ := measured(t, c.doc, true)
			if m.depth != c.depth || m.cost != c.cost || m.aliases != c.aliases {
				t.Errorf("depth %d, cost %d, aliases %d; want %d, %d, %d", m.depth, m.cost, m.aliases, c.depth, c.cost, c.aliases)
			}
		})
	}
}

func TestAFragmentSpreadManyTimesIsMeasuredOnceAndRefused(t *testing.T) {
	// Each fragment spreads the next twice: 2^40 copies of one field,
	// which a walk without the fragment memo would never finish.
	var b strings.Builder
	b.WriteString("query { ...F0 }\n")
	for i := range 40 {
		b.WriteString("fragment F" + strconv.Itoa(i) + " on Query { ...F" + strconv.Itoa(i+1) + " ...F" + strconv.Itoa(i+1) + " }\n")
	}
	b.WriteString("fragment F40 on Query { v: viewer { account { id } } }\n")
	doc, err := parser.ParseQuery(&ast.Source{Input: b.String()})
	if err != nil {
		t.Fatal(err)
	}
	err = check(doc, doc.Operations[0], nil, Limits{}.withDefaults(), false)
	var limit *LimitError
	if !errors.As(err, &limit) || limit.Limit != "aliases" {
		t.Fatalf("got %v, want the alias limit", err)
	}
}

// BenchmarkCheckDashboard is what the limits add to each dashboard request.
func BenchmarkCheckDashboard(b *testing.B) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		b.Fatal(err)
	}
	dashboard := regexp.MustCompile("(?s)```graphql\n(query Dashboard.*?)```").FindStringSubmatch(string(readme))[1]
	doc, errs := gqlparser.LoadQuery(schema, dashboard)
	if errs != nil {
		b.Fatal(errs)
	}
	limits := Limits{}.withDefaults()
	b.ReportAllocs()
	for b.Loop() {
		if err := check(doc, doc.Operations[0], nil, limits, false); err != nil {
			b.Fatal(err)
		}
	}
}
