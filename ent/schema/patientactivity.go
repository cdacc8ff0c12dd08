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

// PatientActivity counts, for reporting, one patient's sign-ins and
// notifications in one UK calendar month, quarter or year, for one
// organisation the record was linked to when they happened. The writers
// keep it (package activity) in the transaction of the sign-in or
// notification, so the rows are the patient's alone: no two patients'
// transactions touch the same row. An organisation's figures for a period
// are then one range of an index, one row per active patient, instead of
// a seek into each of its patients' sessions and notifications.
type PatientActivity struct{ ent.Schema }

// Mixin of the PatientActivity.
func (PatientActivity) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pa"}}
}

// Fields of the PatientActivity.
func (PatientActivity) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.Enum("period").Values("MONTH", "QUARTER", "YEAR").Immutable(),
		field.Time("starts_at").SchemaType(timeSchemaType).Immutable().
			Comment("Start of the period: midnight UK time on its first day, in UTC."),
		field.Int("sign_ins").Default(0).Comment("Sessions the patient's account started."),
		field.Int("in_app").Default(0).Comment("Notifications written about the record."),
		field.Int("emailed").Default(0).Comment("Notifications about the record told of by email."),
	}
}

// Edges of the PatientActivity.
func (PatientActivity) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("activities").Field("patient_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the PatientActivity: one row per patient, organisation and
// period, and the organisation's rows of a period for reporting.
func (PatientActivity) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "organisation_id", "period", "starts_at").Unique(),
		// Covering: the sums are read from the index alone.
		index.Fields("organisation_id", "period", "starts_at", "sign_ins", "in_app", "emailed"),
	}
}

// Annotations of the PatientActivity.
func (PatientActivity) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
