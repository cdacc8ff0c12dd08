package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// BreakGlass is a professional's emergency access to a record without a
// share: GENERAL only, for a limited time, with a stated reason.
type BreakGlass struct{ ent.Schema }

// Mixin of the BreakGlass.
func (BreakGlass) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "bg"}}
}

// Fields of the BreakGlass.
func (BreakGlass) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.Text("reason").NotEmpty().Immutable(),
		field.Time("started_at").SchemaType(timeSchemaType).Immutable(),
		field.Time("expires_at").SchemaType(timeSchemaType).Immutable(),
	}
}

// Edges of the BreakGlass.
func (BreakGlass) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("break_glasses").Field("patient_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the BreakGlass: a viewer's open windows are loaded per request.
func (BreakGlass) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "started_at"),
		index.Fields("account_id", "expires_at"),
	}
}

// Annotations of the BreakGlass.
func (BreakGlass) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
