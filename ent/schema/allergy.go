package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Allergy is an allergy or intolerance, from the trust or recorded by the
// patient.
type Allergy struct{ ent.Schema }

// Mixin of the Allergy.
func (Allergy) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "al"}, TimeMixin{}, RecordMixin{Ref: "allergies"}}
}

// Fields of the Allergy.
func (Allergy) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("ALLERGY", "NO_KNOWN_ALLERGIES").Default("ALLERGY").
			Comment("NO_KNOWN_ALLERGIES is a statement, distinct from nothing recorded."),
		field.String("substance").NotEmpty().Annotations(noFilter),
		field.String("reaction").Optional().Nillable().Annotations(noFilter),
		field.Enum("severity").Values("MILD", "MODERATE", "SEVERE").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipOrderField)),
		field.Enum("criticality").Values("LOW", "HIGH", "UNABLE_TO_ASSESS").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipOrderField)),
		field.Enum("status").Values("ACTIVE", "INACTIVE", "RESOLVED").Default("ACTIVE"),
		field.Enum("recorded_by").Values("TRUST", "PATIENT").
			Comment("Whether a trust or the patient recorded it."),
		field.String("recorder").Optional().Nillable().Comment("Who recorded it.").Annotations(noFilter),
		field.Time("recorded_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("RECORDED_AT")),
	}
}

// Indexes of the Allergy.
func (Allergy) Indexes() []ent.Index {
	return []ent.Index{index.Fields("patient_id", "recorded_at")}
}

// Annotations of the Allergy.
func (Allergy) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
