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

// Membership is an account's role at an organisation.
type Membership struct{ ent.Schema }

// Mixin of the Membership.
func (Membership) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "mb"}, TimeMixin{}}
}

// Fields of the Membership.
func (Membership) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("role").Values("CLINICIAN", "ADMIN", "ANALYST", "RESEARCHER", "INTEGRATION", "PRIVACY_OFFICER"),
	}
}

// Edges of the Membership.
func (Membership) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("memberships").Field("account_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.From("organisation", Organisation.Type).Ref("memberships").Field("organisation_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the Membership.
func (Membership) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "organisation_id", "role").Unique(),
		index.Fields("organisation_id", "role"),
	}
}

// Annotations of the Membership.
func (Membership) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
