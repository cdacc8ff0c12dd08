package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// EmailChange is a requested new email address, which takes effect only
// once confirmed through a link sent to that address.
type EmailChange struct{ ent.Schema }

// Mixin of the EmailChange.
func (EmailChange) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ec"}}
}

// Fields of the EmailChange.
func (EmailChange) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("new_email").NotEmpty().MaxLen(254).Immutable(),
		field.String("token_hash").NotEmpty().Unique().Immutable().Sensitive().
			SchemaType(map[string]string{"mysql": "char(64)"}),
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable(),
		field.Time("expires_at").SchemaType(timeSchemaType).Immutable(),
		field.Time("confirmed_at").SchemaType(timeSchemaType).Optional().Nillable(),
	}
}

// Indexes of the EmailChange.
func (EmailChange) Indexes() []ent.Index {
	return []ent.Index{index.Fields("account_id")}
}

// Annotations of the EmailChange: never part of the API.
func (EmailChange) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
