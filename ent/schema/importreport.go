package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// ImportReport is what one FHIR request to the ingest endpoint did, entry
// by entry, kept so the sending system can read it again later.
type ImportReport struct{ ent.Schema }

// Mixin of the ImportReport.
func (ImportReport) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ir"}}
}

// Fields of the ImportReport.
func (ImportReport) Fields() []ent.Field {
	return []ent.Field{
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("api_key_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("bundle_type").NotEmpty().Immutable().
			Comment("transaction, batch, collection, document, or the type of a single resource."),
		field.Time("received_at").SchemaType(timeSchemaType).Default(now).Immutable(),
		field.Int("entries").Default(0).Immutable(),
		field.Int("stored").Default(0).Immutable().Comment("Created or updated."),
		field.Int("unchanged").Default(0).Immutable(),
		field.Int("skipped").Default(0).Immutable(),
		field.Int("refused").Default(0).Immutable(),
		field.Bool("committed").Immutable().Comment("False when a transaction was refused as a whole."),
		field.Text("response").Immutable().
			Comment("The FHIR answer as sent: it holds no clinical content, only outcomes."),
	}
}

// Indexes of the ImportReport.
func (ImportReport) Indexes() []ent.Index {
	return []ent.Index{index.Fields("api_key_id", "received_at")}
}

// Annotations of the ImportReport: never part of the GraphQL API.
func (ImportReport) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
