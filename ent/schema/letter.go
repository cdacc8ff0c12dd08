package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Letter is correspondence to the patient.
type Letter struct{ ent.Schema }

// Mixin of the Letter.
func (Letter) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "lt"}, TimeMixin{}, RecordMixin{Ref: "letters"}}
}

// Fields of the Letter.
func (Letter) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().Annotations(noFilter),
		field.String("author").Optional().Nillable().Annotations(noFilter),
		field.Time("sent_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("SENT_AT")),
		field.Text("body").Optional().Nillable().Annotations(noFilter),
		field.Enum("body_format").Values("TEXT", "HTML").Default("TEXT").Annotations(noFilter),
		field.String("document_key").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("document_type").Optional().Nillable().Annotations(noFilter),
		field.Int64("document_size").Optional().Nillable().Annotations(noFilter),
		field.Time("read_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When the patient first read it.").
			Annotations(entgql.Skip(entgql.SkipOrderField)),
	}
}

// Edges of the Letter.
func (Letter) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("reads", LetterRead.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the Letter.
func (Letter) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "sent_at"),
		// Reporting: an organisation's letters sent in a period, and
		// whether their patient has read them.
		index.Fields("source_organisation_id", "sent_at", "read_at"),
	}
}

// Annotations of the Letter.
func (Letter) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
