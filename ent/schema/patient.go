package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// Patient is one person's health record: demographics and, through its
// edges, every item that belongs to it.
type Patient struct{ ent.Schema }

// Mixin of the Patient.
func (Patient) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "pt"}, TimeMixin{}}
}

// Fields of the Patient.
func (Patient) Fields() []ent.Field {
	return []ent.Field{
		field.String("account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Unique().
			Comment("The account that owns this record, once registered.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("nhs_number").Optional().Nillable().Unique().MaxLen(10).
			Annotations(noFilter),
		field.String("given_name").NotEmpty().Annotations(noFilter),
		field.String("family_name").NotEmpty().Annotations(noFilter),
		field.Time("date_of_birth").
			SchemaType(map[string]string{dialect.MySQL: "date"}).
			Annotations(noFilter),
		field.String("address_line1").Optional().Nillable().Annotations(noFilter),
		field.String("address_line2").Optional().Nillable().Annotations(noFilter),
		field.String("town").Optional().Nillable().Annotations(noFilter),
		field.String("postcode").Optional().Nillable().MaxLen(8).Annotations(noFilter),
		field.String("phone").Optional().Nillable().MaxLen(32).Annotations(noFilter),
		field.String("email").Optional().Nillable().MaxLen(254).Annotations(noFilter),
		field.Time("sharing_disabled_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("Set by a privacy officer: no share and no break-the-glass opens the record.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Float("glucose_low").Optional().Nillable().
			Comment("Lower bound of the patient's glucose target range, mmol/L; 3.9 when unset.").
			Annotations(noFilter),
		field.Float("glucose_high").Optional().Nillable().
			Comment("Upper bound of the patient's glucose target range, mmol/L; 10.0 when unset.").
			Annotations(noFilter),
		field.String("sharing_disabled_by_organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("invited_by_organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// connection is the annotation of an edge into patient-owned items: a Relay
// connection. It has no count ordering, and Patient has no where-input, so
// there is no has...With filter: Ent runs both as subqueries outside the
// privacy filter.
func connection() schema.Annotation {
	return entgql.RelayConnection()
}

// Edges of the Patient.
func (Patient) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("account", Account.Type).Ref("patient").Field("account_id").Unique().
			Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("invited_by", Organisation.Type).Field("invited_by_organisation_id").Unique().
			Comment("Whose branding the portal shows.").
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("organisations", Organisation.Type).
			Through("organisation_links", PatientOrganisation.Type).
			Annotations(connection()),
		edge.To("appointments", Appointment.Type).Annotations(connection()),
		edge.To("appointment_change_requests", AppointmentChangeRequest.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("letter_reads", LetterRead.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("contact_preferences", ContactPreference.Type).
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("allergies", Allergy.Type).Annotations(connection()),
		edge.To("results", Result.Type).Annotations(connection()),
		edge.To("result_components", ResultComponent.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("encounters", Encounter.Type).Annotations(connection()),
		edge.To("letters", Letter.Type).Annotations(connection()),
		edge.To("measurements", Measurement.Type).Annotations(connection()),
		edge.To("measurement_rollups", MeasurementRollup.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("activities", PatientActivity.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("symptoms", Symptom.Type).Annotations(connection()),
		edge.To("journal_entries", JournalEntry.Type).Annotations(connection()),
		edge.To("care_resources", CareResource.Type).Annotations(connection()),
		edge.To("shares", Share.Type).Annotations(connection()),
		edge.To("invitations", Invitation.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("research_consents", ResearchConsent.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("notifications", Notification.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("audit_events", AuditEvent.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("break_glasses", BreakGlass.Type).Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the Patient.
func (Patient) Indexes() []ent.Index {
	return []ent.Index{index.Fields("family_name", "date_of_birth")}
}

// Annotations of the Patient.
func (Patient) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput), entgql.RelayConnection()}
}
