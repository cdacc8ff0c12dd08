package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// JournalEntry is the patient's own writing.
type JournalEntry struct{ ent.Schema }

// Mixin of the JournalEntry.
func (JournalEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "jo"}, TimeMixin{}, RecordMixin{Ref: "journal_entries"}}
}

// Fields of the JournalEntry.
func (JournalEntry) Fields() []ent.Field {
	return []ent.Field{
		field.String("title").NotEmpty().Annotations(noFilter),
		field.Text("body").Annotations(noFilter),
		field.Time("written_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("WRITTEN_AT")),
	}
}

// Indexes of the JournalEntry.
func (JournalEntry) Indexes() []ent.Index {
	return []ent.Index{index.Fields("patient_id", "written_at")}
}

// Annotations of the JournalEntry.
func (JournalEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
