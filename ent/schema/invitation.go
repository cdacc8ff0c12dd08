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

// Invitation is an emailed, single-use offer: to register for a record, or
// to accept a share of one. Only a hash of its token is stored.
type Invitation struct{ ent.Schema }

// Mixin of the Invitation.
func (Invitation) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "iv"}, TimeMixin{}}
}

// Fields of the Invitation.
func (Invitation) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().
			Comment("The inviting organisation, for a registration.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("purpose").Values("REGISTRATION", "SHARE"),
		field.String("email").NotEmpty().MaxLen(254).Annotations(noFilter),
		field.String("token_hash").NotEmpty().Unique().Sensitive().
			SchemaType(map[string]string{"mysql": "char(64)"}).
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("invited_by_account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("send_count").Default(1).Annotations(noFilter),
		field.Time("last_sent_at").SchemaType(timeSchemaType).Default(now).Annotations(noFilter),
		field.Int("failed_checks").Default(0).
			Comment("Wrong dates of birth given; too many lock the invitation.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("expires_at").SchemaType(timeSchemaType).Annotations(noFilter),
		field.Time("accepted_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(noFilter),
		field.Time("revoked_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(noFilter),
	}
}

// Edges of the Invitation.
func (Invitation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("invitations").Field("patient_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("organisation", Organisation.Type).Field("organisation_id").Unique(),
	}
}

// Indexes of the Invitation.
func (Invitation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "created_at"),
		index.Fields("email"),
		// Reporting: an organisation's invitations sent and accepted in a
		// period, and by whom.
		index.Fields("organisation_id", "purpose", "created_at"),
		index.Fields("organisation_id", "purpose", "accepted_at", "patient_id"),
		// Reporting: the patients who registered over a quarter or a
		// year, in patient order, so that counting them distinct is a
		// GROUP BY read in index order rather than a temporary table.
		index.Fields("organisation_id", "purpose", "patient_id", "accepted_at").
			StorageKey("invitation_registered_patients"),
	}
}

// Annotations of the Invitation: a node the inviting side manages (resend,
// revoke); its token is never exposed.
func (Invitation) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
