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

// Session is a signed-in client. Only a hash of its token is stored.
type Session struct{ ent.Schema }

// Mixin of the Session.
func (Session) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ss"}}
}

// Fields of the Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("token_hash").NotEmpty().Unique().Immutable().Sensitive().
			SchemaType(map[string]string{"mysql": "char(64)"}),
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable(),
		field.Time("last_seen_at").SchemaType(timeSchemaType).Default(now),
		field.Time("expires_at").SchemaType(timeSchemaType).Immutable().Comment("Absolute end of the session."),
		field.Enum("identity_level").Values("P0", "P5", "P9").Default("P0").
			Comment("What this sign-in proved; P9 opens clinical data."),
		field.Enum("method").Values("PASSWORD", "NHS_LOGIN").Default("PASSWORD"),
		field.Time("ended_at").SchemaType(timeSchemaType).Optional().Nillable(),
	}
}

// Edges of the Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("sessions").Field("account_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("account_id", "ended_at"),
	}
}

// Annotations of the Session: listed to its owner through Viewer.sessions,
// never as a node.
func (Session) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
