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

// ContactPreference is how the patient wants one organisation to contact
// them: by post, SMS, email.
type ContactPreference struct{ ent.Schema }

// Mixin of the ContactPreference.
func (ContactPreference) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cp"}, TimeMixin{}}
}

// Fields of the ContactPreference.
func (ContactPreference) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("post").Default(true),
		field.Bool("sms").Default(false),
		field.Bool("email").Default(false),
	}
}

// Edges of the ContactPreference.
func (ContactPreference) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("contact_preferences").Field("patient_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("organisation", Organisation.Type).Field("organisation_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the ContactPreference.
func (ContactPreference) Indexes() []ent.Index {
	return []ent.Index{index.Fields("patient_id", "organisation_id").Unique()}
}

// Annotations of the ContactPreference.
func (ContactPreference) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
