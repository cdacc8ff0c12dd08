package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// ResearchStudy is a named study a research organisation recruits for.
type ResearchStudy struct{ ent.Schema }

// Mixin of the ResearchStudy.
func (ResearchStudy) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "st"}, TimeMixin{}}
}

// Fields of the ResearchStudy.
func (ResearchStudy) Fields() []ent.Field {
	return []ent.Field{
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("title").NotEmpty().Annotations(noFilter),
		field.Text("description").Optional().Nillable().Annotations(noFilter),
		field.Bool("open").Default(true),
		field.Bytes("pseudonym_key").Sensitive().Immutable().
			Comment("HMAC key for this study's pseudonyms; never leaves the service.").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the ResearchStudy.
func (ResearchStudy) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("organisation", Organisation.Type).Field("organisation_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.From("consents", ResearchConsent.Type).Ref("study").Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Annotations of the ResearchStudy.
func (ResearchStudy) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
