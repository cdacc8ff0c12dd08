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

// PatientOrganisation links a record to an organisation that has sent it
// data; the patient sees and controls these links.
type PatientOrganisation struct{ ent.Schema }

// Fields of the PatientOrganisation.
func (PatientOrganisation) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType),
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType),
		field.String("local_identifier").Optional().Nillable().
			Comment("The organisation's own identifier for the patient (e.g. hospital number), as system|value."),
		field.String("fhir_id").Optional().Nillable().
			Comment("The id the organisation's FHIR server gives the patient."),
		field.Time("linked_at").SchemaType(timeSchemaType).Default(now).Immutable(),
	}
}

// Edges of the PatientOrganisation.
func (PatientOrganisation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("patient", Patient.Type).Field("patient_id").Unique().Required(),
		edge.To("organisation", Organisation.Type).Field("organisation_id").Unique().Required(),
	}
}

// Indexes of the PatientOrganisation: the organisation's view of its patients.
func (PatientOrganisation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organisation_id", "local_identifier"),
		// Reporting: the organisation's patients as a set.
		index.Fields("organisation_id", "patient_id"),
	}
}

// Annotations of the PatientOrganisation: keyed by the pair.
func (PatientOrganisation) Annotations() []schema.Annotation {
	return []schema.Annotation{
		field.ID("patient_id", "organisation_id"),
		entgql.Skip(entgql.SkipAll),
	}
}
