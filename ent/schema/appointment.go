package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Appointment is an entry in the patient's diary, upcoming or past.
type Appointment struct{ ent.Schema }

// Mixin of the Appointment.
func (Appointment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ap"}, TimeMixin{}, RecordMixin{Ref: "appointments"}}
}

// Fields of the Appointment.
func (Appointment) Fields() []ent.Field {
	return []ent.Field{
		field.Time("starts_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("STARTS_AT")),
		field.Int("duration_minutes").Positive().Default(15).Annotations(noFilter),
		field.Enum("status").Values("BOOKED", "CANCELLED", "ATTENDED", "DID_NOT_ATTEND").Default("BOOKED"),
		field.String("title").NotEmpty().Annotations(noFilter),
		field.String("specialty").Optional().Nillable().Annotations(noFilter),
		field.String("clinic").Optional().Nillable().Annotations(noFilter),
		field.String("clinic_code").Optional().Nillable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("site").Optional().Nillable().Annotations(noFilter),
		field.Text("address").Optional().Nillable().Annotations(noFilter),
		field.String("clinician").Optional().Nillable().Comment("With whom.").Annotations(noFilter),
		field.Text("instructions").Optional().Nillable().Annotations(noFilter),
	}
}

// Edges of the Appointment.
func (Appointment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("change_requests", AppointmentChangeRequest.Type).
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the Appointment.
func (Appointment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "starts_at"),
		// Reporting: an organisation's appointments in a period, by
		// status and specialty.
		index.Fields("source_organisation_id", "status", "specialty", "starts_at"),
	}
}

// Annotations of the Appointment.
func (Appointment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
