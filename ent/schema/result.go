package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Result is a test such as a full blood count. Its content is held back
// from the patient until it is released.
type Result struct{ ent.Schema }

// Mixin of the Result.
func (Result) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rs"}, TimeMixin{}, RecordMixin{Ref: "results"}}
}

// Fields of the Result.
func (Result) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Annotations(noFilter),
		field.String("code").Optional().Nillable().Comment("LOINC or SNOMED CT.").Annotations(noFilter, sensitive),
		field.Enum("status").Values("PRELIMINARY", "FINAL", "AMENDED").Default("FINAL"),
		field.Time("taken_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("TAKEN_AT")),
		field.Time("reported_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("REPORTED_AT")),
		field.Time("release_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When it is released to the patient if nobody releases it sooner.").
			Annotations(noFilter),
		field.Time("released_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(noFilter),
		field.Bool("never_release").Default(false).
			Comment("Some results are never released to patients.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("visible_from").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When patients and shares may see its content: released_at, else release_at; null while held for a clinician or never.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Int("release_delay").Optional().Nillable().
			Comment("Seconds from report to visible_from, for reporting; null while not visible.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("release_month").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("Start of the UK month of visible_from, for reporting.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("release_quarter").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("Start of the UK quarter of visible_from, for reporting.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("release_year").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("Start of the UK year of visible_from, for reporting.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("notify_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When a result held until a release time is to be announced; null once it has been.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Text("conclusion").Optional().Nillable().Annotations(noFilter, sensitive),
		field.String("performing_laboratory").Optional().Nillable().Annotations(noFilter, sensitive),
	}
}

// Edges of the Result.
func (Result) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("components", ResultComponent.Type).
			Annotations(entgql.Skip(entgql.SkipWhereInput), sensitive),
	}
}

// Indexes of the Result.
func (Result) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "reported_at"),
		index.Fields("notify_at"),
		// Reporting: an organisation's results released in a period,
		// with what their release delay and patients are counted from.
		index.Fields("source_organisation_id", "visible_from", "release_delay", "patient_id").
			StorageKey("result_source_organisation_id_visible_from"),
		// Reporting: the delays of a calendar period's releases in order,
		// so that a percentile is the n-th entry of one index range
		// rather than a sort.
		index.Fields("source_organisation_id", "release_month", "release_delay", "visible_from").
			StorageKey("result_release_month_delay"),
		index.Fields("source_organisation_id", "release_quarter", "release_delay", "visible_from").
			StorageKey("result_release_quarter_delay"),
		index.Fields("source_organisation_id", "release_year", "release_delay", "visible_from").
			StorageKey("result_release_year_delay"),
	}
}

// Annotations of the Result.
func (Result) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
