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

// AppointmentChangeRequest is a patient's request to cancel or move an
// appointment: the trust sees and answers it; the patient never edits the
// booking itself. It carries its appointment's category.
type AppointmentChangeRequest struct{ ent.Schema }

// Mixin of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ar"}, TimeMixin{}, RecordMixin{Ref: "appointment_change_requests"}}
}

// Fields of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Fields() []ent.Field {
	return []ent.Field{
		field.String("appointment_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("kind").Values("CANCEL", "RESCHEDULE").Immutable(),
		field.Text("reason").Optional().Nillable().Annotations(noFilter),
		field.JSON("preferred_times", []string{}).Optional().
			Comment("RFC 3339 times the patient could come instead.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("status").Values("OPEN", "ACCEPTED", "DECLINED").Default("OPEN"),
		field.Text("answer").Optional().Nillable().Annotations(noFilter),
		field.Time("answered_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(noFilter),
	}
}

// Edges of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("appointment", Appointment.Type).Ref("change_requests").Field("appointment_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("appointment_id"),
		index.Fields("source_organisation_id", "status"),
	}
}

// Annotations of the AppointmentChangeRequest.
func (AppointmentChangeRequest) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
