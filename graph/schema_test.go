package graph

import (
	"strings"
	"testing"
)

// Ent runs has...With filters and edge-count ordering as subqueries outside
// the privacy filter, so either would reveal hidden rows: the schema offers
// neither.
func TestSchemaOffersNoFilterOrOrderingAcrossEdges(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	var inputs, orders int
	for name, def := range schema.Types {
		switch {
		case strings.HasSuffix(name, "WhereInput"):
			inputs++
			for _, f := range def.Fields {
				if strings.HasPrefix(f.Name, "has") {
					t.Errorf("%s.%s filters across an edge", name, f.Name)
				}
			}
		case strings.HasSuffix(name, "OrderField"):
			orders++
			for _, v := range def.EnumValues {
				if strings.HasSuffix(v.Name, "_COUNT") {
					t.Errorf("%s.%s orders by an edge count", name, v.Name)
				}
			}
		}
	}
	if inputs == 0 || orders == 0 {
		t.Fatalf("found %d where-inputs and %d order enums: the walk is broken", inputs, orders)
	}
}

// Every connection on Patient filters by category the way the portal's
// clients expect (entgql's naming).
func TestRecordConnectionsFilterByCategory(t *testing.T) {
	schema := NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
	patient := schema.Types["Patient"]
	for _, name := range []string{"appointments", "allergies", "results", "encounters", "letters",
		"measurements", "symptoms", "journalEntries", "careResources"} {
		f := patient.Fields.ForName(name)
		if f == nil {
			t.Errorf("Patient.%s is missing", name)
			continue
		}
		for _, arg := range []string{"first", "after", "last", "before", "orderBy", "where"} {
			if f.Arguments.ForName(arg) == nil {
				t.Errorf("Patient.%s has no %s argument", name, arg)
			}
		}
		where := schema.Types[f.Arguments.ForName("where").Type.Name()]
		for _, field := range []string{"category", "categoryIn", "categoryNEQ"} {
			if where.Fields.ForName(field) == nil {
				t.Errorf("Patient.%s where-input lacks %s", name, field)
			}
		}
	}
}
