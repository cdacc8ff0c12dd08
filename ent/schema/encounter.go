package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Encounter is an emergency department attendance or an inpatient stay.
type Encounter struct{ ent.Schema }

// Mixin of the Encounter.
func (Encounter) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "en"}, TimeMixin{}, RecordMixin{Ref: "encounters"}}
}

// Fields of the Encounter.
func (Encounter) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("EMERGENCY", "INPATIENT"),
		field.Enum("status").Values("ARRIVED", "SEEN", "ADMITTED", "DISCHARGED"),
		field.Time("started_at").SchemaType(timeSchemaType).Comment("Arrival or admission.").Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("seen_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(noFilter),
		field.Time("ended_at").SchemaType(timeSchemaType).Optional().Nillable().Comment("Discharge.").Annotations(noFilter),
		field.String("site").Optional().Nillable().Annotations(noFilter),
		field.String("ward").Optional().Nillable().Annotations(noFilter),
		field.String("specialty").Optional().Nillable().Annotations(noFilter),
		field.String("clinic_code").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Text("presenting_complaint").Optional().Nillable().Annotations(noFilter, sensitive),
		field.Text("summary").Optional().Nillable().Comment("Clinical detail.").Annotations(noFilter, sensitive),
	}
}

// Indexes of the Encounter.
func (Encounter) Indexes() []ent.Index {
	return []ent.Index{index.Fields("patient_id", "started_at")}
}

// Annotations of the Encounter.
func (Encounter) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
