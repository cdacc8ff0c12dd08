package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// MeasurementRollup summarises one patient's readings of one type and
// category in one UTC hour, kept up to date as readings arrive, so that a
// year of 5-minute readings is charted from ~9,000 rows rather than 105,000.
// The in-range counts use the patient's glucose range at the time of
// writing; changing the range rebuilds the patient's rollups.
type MeasurementRollup struct{ ent.Schema }

// Mixin of the MeasurementRollup.
func (MeasurementRollup) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "mr"}}
}

// Fields of the MeasurementRollup.
func (MeasurementRollup) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.Enum("type").Values("GLUCOSE", "HEART_RATE", "STEPS", "WEIGHT", "HEIGHT", "BMI",
			"BLOOD_PRESSURE", "SPO2", "TEMPERATURE", "RESPIRATORY_RATE").Immutable(),
		field.Enum("category").GoType(category.Category("")).Immutable().
			Comment("The readings' category: a viewer sees only the rollups of categories they may see."),
		field.Time("hour").SchemaType(timeSchemaType).Immutable().Comment("Start of the UTC hour."),
		field.Int("count"),
		field.Float("sum"),
		field.Float("min"),
		field.Float("max"),
		field.Int("below").Default(0).Comment("Glucose readings below the patient's range."),
		field.Int("above").Default(0).Comment("Glucose readings above the patient's range."),
	}
}

// Edges of the MeasurementRollup.
func (MeasurementRollup) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("measurement_rollups").Field("patient_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the MeasurementRollup: one row per patient, type, category
// and hour; series read a range of hours.
func (MeasurementRollup) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "type", "hour", "category").Unique(),
		// Covering: a series reads the sums from the index alone, never the
		// table, which halves a year's daily series on SQLite.
		index.Fields("patient_id", "type", "hour", "category", "count", "sum", "min", "max", "below", "above"),
	}
}

// Annotations of the MeasurementRollup.
func (MeasurementRollup) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
