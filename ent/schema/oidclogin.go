package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// OIDCLogin is one NHS login authorisation in flight: the state, nonce and
// PKCE verifier it was started with. It is used once; a replayed callback
// or ID token finds it spent.
type OIDCLogin struct{ ent.Schema }

// Mixin of the OIDCLogin.
func (OIDCLogin) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ol"}}
}

// Fields of the OIDCLogin.
func (OIDCLogin) Fields() []ent.Field {
	return []ent.Field{
		field.String("state_hash").NotEmpty().Unique().Immutable().
			SchemaType(map[string]string{"mysql": "char(64)"}),
		field.String("nonce").NotEmpty().Immutable().Sensitive(),
		field.String("code_verifier").NotEmpty().Immutable().Sensitive(),
		field.String("return_to").Optional().Comment("Where the browser goes afterwards (a path on the portal)."),
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable(),
		field.Time("expires_at").SchemaType(timeSchemaType).Immutable(),
		field.Time("used_at").SchemaType(timeSchemaType).Optional().Nillable(),
	}
}

// Annotations of the OIDCLogin: never part of the API.
func (OIDCLogin) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
