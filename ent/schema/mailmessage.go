package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// MailMessage is an email waiting in the outbox, written in the same
// transaction as the change it reports and sent by a worker. It never holds
// clinical content or an internal ID.
type MailMessage struct{ ent.Schema }

// Mixin of the MailMessage.
func (MailMessage) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ml"}}
}

// Fields of the MailMessage.
func (MailMessage) Fields() []ent.Field {
	return []ent.Field{
		field.String("recipient").NotEmpty().MaxLen(254),
		field.String("subject").NotEmpty(),
		field.Text("text_body"),
		field.String("kind").NotEmpty().Comment("What it is about, e.g. INVITATION; for logs and metrics."),
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable(),
		field.Time("next_attempt_at").SchemaType(timeSchemaType).Default(now),
		field.Time("claimed_until").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("A worker's lease: no other worker sends it meanwhile."),
		field.Int("attempts").Default(0),
		field.Time("sent_at").SchemaType(timeSchemaType).Optional().Nillable(),
		field.Time("abandoned_at").SchemaType(timeSchemaType).Optional().Nillable(),
		field.Text("last_error").Optional().Nillable(),
	}
}

// Indexes of the MailMessage: the worker's scan of what is due.
func (MailMessage) Indexes() []ent.Index {
	return []ent.Index{index.Fields("sent_at", "abandoned_at", "next_attempt_at")}
}

// Annotations of the MailMessage: never part of the API.
func (MailMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
