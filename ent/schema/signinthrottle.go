package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// SignInThrottle counts consecutive failed sign-ins for one email from one
// client address. It is keyed by a hash of both, whether or not the email
// has an account, so that a lockout says nothing about who is registered.
type SignInThrottle struct{ ent.Schema }

// Mixin of the SignInThrottle.
func (SignInThrottle) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "th"}}
}

// Fields of the SignInThrottle.
func (SignInThrottle) Fields() []ent.Field {
	return []ent.Field{
		field.String("key_hash").NotEmpty().Unique().Immutable().
			SchemaType(map[string]string{"mysql": "char(64)"}),
		field.Int("failures").Default(0),
		field.Time("locked_until").SchemaType(timeSchemaType).Optional().Nillable(),
		field.Time("updated_at").SchemaType(timeSchemaType).Default(now).UpdateDefault(now),
	}
}

// Annotations of the SignInThrottle: never part of the API.
func (SignInThrottle) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
