package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CareResource is material the care team assigned to the patient.
type CareResource struct{ ent.Schema }

// Mixin of the CareResource.
func (CareResource) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cr"}, TimeMixin{}, RecordMixin{Ref: "care_resources"}}
}

// Fields of the CareResource.
func (CareResource) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().Annotations(noFilter),
		field.Text("description").Optional().Nillable().Annotations(noFilter),
		field.String("link").Optional().Nillable().Annotations(noFilter),
		field.Text("body").Optional().Nillable().Annotations(noFilter),
		field.Strings("tags").Optional().Annotations(noFilter),
		field.Time("assigned_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("ASSIGNED_AT")),
		field.Time("completed_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipOrderField)),
	}
}

// Indexes of the CareResource.
func (CareResource) Indexes() []ent.Index {
	return []ent.Index{index.Fields("patient_id", "assigned_at")}
}

// Annotations of the CareResource.
func (CareResource) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
