package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Symptom is a symptom the patient recorded.
type Symptom struct{ ent.Schema }

// Mixin of the Symptom.
func (Symptom) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "sy"}, TimeMixin{}, RecordMixin{Ref: "symptoms"}}
}

// Fields of the Symptom.
func (Symptom) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Annotations(noFilter),
		field.Int("severity").Range(0, 10).Annotations(noFilter),
		field.Time("occurred_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("OCCURRED_AT")),
		field.Text("notes").Optional().Nillable().Annotations(noFilter),
	}
}

// Indexes of the Symptom.
func (Symptom) Indexes() []ent.Index {
	return []ent.Index{index.Fields("patient_id", "occurred_at")}
}

// Annotations of the Symptom.
func (Symptom) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
