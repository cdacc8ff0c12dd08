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

// LetterRead records that one reader (the patient, or someone the letter is
// shared with) has read a letter: read and unread are per recipient.
type LetterRead struct{ ent.Schema }

// Mixin of the LetterRead.
func (LetterRead) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "lr"}}
}

// Fields of the LetterRead.
func (LetterRead) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("letter_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.Time("read_at").SchemaType(timeSchemaType).Default(now).Immutable(),
	}
}

// Edges of the LetterRead.
func (LetterRead) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("letter_reads").Field("patient_id").Unique().Required().Immutable(),
		edge.From("letter", Letter.Type).Ref("reads").Field("letter_id").Unique().Required().Immutable(),
	}
}

// Indexes of the LetterRead.
func (LetterRead) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "account_id"),
		index.Fields("letter_id", "account_id").Unique(),
	}
}

// Annotations of the LetterRead.
func (LetterRead) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
