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

// Share grants a person or an organisation access to one patient's record
// for a set of categories. GENERAL is always granted; PRIVATE never.
type Share struct{ ent.Schema }

// Mixin of the Share.
func (Share) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "sh"}, TimeMixin{}}
}

// Fields of the Share.
func (Share) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("grantee_account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("grantee_organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("invitation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("relationship").Values("CARER", "FAMILY", "PROFESSIONAL", "ORGANISATION"),
		field.Bool("mental_health").Default(false).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("sexual_health").Default(false).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("social_care").Default(false).Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("accepted_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("Null while the invitation is pending.").
			Annotations(entgql.Skip(entgql.SkipOrderField)),
		field.Time("expires_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipOrderField)),
		field.Time("revoked_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipOrderField)),
	}
}

// Edges of the Share.
func (Share) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("shares").Field("patient_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("grantee_account", Account.Type).Field("grantee_account_id").Unique().
			Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("grantee_organisation", Organisation.Type).Field("grantee_organisation_id").Unique().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("invitation", Invitation.Type).Field("invitation_id").Unique().
			Comment("While pending, the invitation to resend or cancel.").
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the Share: by patient for the Sharing view, by grantee for
// loading a viewer's grants once per request.
func (Share) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "revoked_at"),
		index.Fields("grantee_account_id", "revoked_at"),
		index.Fields("grantee_organisation_id", "revoked_at"),
		// Reporting: the shares made in a period, covering what they are
		// counted by (the patient for the link check, relationship and
		// labels), so that no share's row is read.
		index.Fields("created_at", "patient_id", "relationship", "mental_health", "sexual_health", "social_care").
			StorageKey("share_created_at_counted"),
	}
}

// Annotations of the Share.
func (Share) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
