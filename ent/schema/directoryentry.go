package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// DirectoryEntry is reference data an organisation's systems sent: an
// organisation, location, practitioner or practitioner role, kept so that
// records can say who and where. It is not a patient record.
type DirectoryEntry struct{ ent.Schema }

// Mixin of the DirectoryEntry.
func (DirectoryEntry) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "de"}, TimeMixin{}}
}

// Fields of the DirectoryEntry.
func (DirectoryEntry) Fields() []ent.Field {
	return []ent.Field{
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().
			Comment("The organisation whose systems sent it."),
		field.Enum("resource_type").Values("Organization", "Location", "Practitioner", "PractitionerRole").Immutable(),
		field.String("source").NotEmpty().Immutable().
			Comment("What identifies it at the source: its first identifier (system|value), else its id, else its fullUrl."),
		field.String("fhir_id").Optional().Nillable(),
		field.Strings("identifiers").Optional().Comment("Every identifier, as system|value."),
		field.String("name").Default(""),
		field.String("detail").Optional().Nillable().Comment("An address, a specialty or a role."),
	}
}

// Indexes of the DirectoryEntry.
func (DirectoryEntry) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organisation_id", "resource_type", "source").Unique(),
		index.Fields("organisation_id", "resource_type", "fhir_id"),
	}
}

// Annotations of the DirectoryEntry: never part of the API.
func (DirectoryEntry) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
