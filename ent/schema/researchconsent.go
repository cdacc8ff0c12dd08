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

// ResearchConsent is the patient's opt-in to a study, and its withdrawal.
type ResearchConsent struct{ ent.Schema }

// Mixin of the ResearchConsent.
func (ResearchConsent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cn"}, TimeMixin{}}
}

// Fields of the ResearchConsent.
func (ResearchConsent) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("study_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("consented_at").SchemaType(timeSchemaType).Default(now),
		field.Time("withdrawn_at").SchemaType(timeSchemaType).Optional().Nillable(),
		field.Strings("categories").Optional().
			Comment("The labels the patient agreed the study may use."),
	}
}

// Edges of the ResearchConsent.
func (ResearchConsent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("research_consents").Field("patient_id").
			Unique().Required().Immutable(),
		edge.To("study", ResearchStudy.Type).Field("study_id").Unique().Required().Immutable(),
	}
}

// Indexes of the ResearchConsent.
func (ResearchConsent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "study_id").Unique(),
		index.Fields("study_id", "withdrawn_at"),
	}
}

// Annotations of the ResearchConsent.
func (ResearchConsent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
