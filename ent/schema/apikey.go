package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// APIKey lets one organisation's systems push FHIR data in. Only a hash of
// the key is kept: the key itself is shown once, when an operator makes it.
type APIKey struct{ ent.Schema }

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ak"}}
}

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("key_hash").NotEmpty().Unique().Immutable().Sensitive().
			SchemaType(map[string]string{"mysql": "char(64)"}),
		field.String("hint").NotEmpty().Immutable().
			Comment("The key's first characters, so operators can tell keys apart."),
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable(),
		field.Time("revoked_at").SchemaType(timeSchemaType).Optional().Nillable(),
		field.Time("last_used_at").SchemaType(timeSchemaType).Optional().Nillable(),
	}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organisation_id")}
}

// Annotations of the APIKey: never part of the API.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
