package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// idSchemaType keeps IDs and the columns that reference them the same type
// on every engine (MySQL needs a bounded, indexable column).
var idSchemaType = map[string]string{dialect.MySQL: "char(28)"}

// timeSchemaType avoids MySQL's timestamp type, which ends in 2038.
var timeSchemaType = map[string]string{dialect.MySQL: "datetime(6)"}

// now is the default for created and updated times; always UTC so that
// times stored as text in SQLite sort correctly.
func now() time.Time { return time.Now().UTC() }

// noFilter keeps a field out of where-inputs and ordering: free text or
// data a field directive may hide must never be filterable.
var noFilter = entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField)

// sensitive marks a field that @sensitive resolves to null for a viewer who
// may see the record but not this part of it (package access decides). The
// field must be nullable and must never be filterable.
var sensitive = entgql.Directives(entgql.NewDirective("sensitive"))

// IDMixin gives an entity an application-generated, time-ordered ID whose
// two-letter prefix names the entity's type.
type IDMixin struct {
	mixin.Schema
	Prefix string
}

// Fields of the IDMixin.
func (m IDMixin) Fields() []ent.Field {
	prefix := m.Prefix
	if _, ok := pulid.Types[prefix]; !ok {
		panic("schema: prefix " + prefix + " is not registered in pulid.Types")
	}
	return []ent.Field{
		field.String("id").
			GoType(pulid.ID("")).
			SchemaType(idSchemaType).
			DefaultFunc(func() pulid.ID { return pulid.New(prefix) }).
			Immutable(),
	}
}

// TimeMixin records when a row was created and last updated.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").SchemaType(timeSchemaType).Default(now).UpdateDefault(now).
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// RecordMixin is shared by every clinical or patient-recorded item: the
// patient it belongs to, its effective and assigned category, the
// organisation that sent it and its identifier there.
type RecordMixin struct {
	mixin.Schema
	// Ref is the name of the edge on Patient that lists these items.
	Ref string
}

// Fields of the RecordMixin.
func (RecordMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		// No default: a write must say the category, or (appointments,
		// encounters) have it derived by a hook; a default would be applied
		// before the hooks run and look like an assigned label.
		field.Enum("category").GoType(category.Category("")).
			Comment("Effective category, recomputed by every write that changes it.").
			Annotations(entgql.Type("Category"), entgql.Skip(entgql.SkipOrderField)),
		field.Enum("assigned_category").GoType(category.Category("")).
			Optional().Nillable().
			Comment("Category as assigned by the clinician or source.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("source_organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("external_system").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("external_value").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the RecordMixin.
func (m RecordMixin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref(m.Ref).Field("patient_id").
			Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		edge.To("source_organisation", Organisation.Type).Field("source_organisation_id").
			Unique().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the RecordMixin: the row filter is a plain predicate on
// (patient_id, category); ingest finds an item by its source identifier.
func (RecordMixin) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "category"),
		index.Fields("source_organisation_id", "external_system", "external_value").Unique(),
	}
}
