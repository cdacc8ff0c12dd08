package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Account is a person who signs in. It may own a patient record, care for
// others and work at organisations, all at once.
type Account struct{ ent.Schema }

// Mixin of the Account.
func (Account) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ac"}, TimeMixin{}}
}

// Fields of the Account.
func (Account) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").NotEmpty().MaxLen(254).Unique().
			Comment("Stored lower-cased, so unique case-insensitively.").
			Annotations(entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField)),
		field.String("display_name").NotEmpty().Annotations(noFilter),
		field.String("password_hash").Optional().Nillable().Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("identity_level").Values("P0", "P5", "P9").Default("P0").
			Comment("Identity proofing of password sign-ins: P9 once a trust invitation's date-of-birth check was passed.").
			Annotations(entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField)),
		field.String("oidc_subject").Optional().Nillable().Unique().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("disabled_at").SchemaType(timeSchemaType).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("notification_email").Values("IMMEDIATE", "DAILY", "OFF").Default("DAILY").
			Comment("When notifications are emailed: DAILY sends sharing, letters and appointments at once and the rest at most once a day.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("last_digest_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When the last once-a-day email went out.").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the Account.
func (Account) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("patient", Patient.Type).Unique().
			Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("memberships", Membership.Type).
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("sessions", Session.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Annotations of the Account.
func (Account) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
