package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// SpecialtyRule maps an organisation's specialty or clinic to the category
// its appointments and encounters carry (a sexual health clinic to
// SEXUAL_HEALTH; gynaecology stays GENERAL). Changing a rule recomputes the
// records it covers.
type SpecialtyRule struct{ ent.Schema }

// Mixin of the SpecialtyRule.
func (SpecialtyRule) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "sr"}, TimeMixin{}}
}

// Fields of the SpecialtyRule.
func (SpecialtyRule) Fields() []ent.Field {
	return []ent.Field{
		field.String("organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable(),
		field.String("specialty").Optional().Nillable().Immutable().
			Comment("Matches the record's specialty; a rule has this or a clinic code."),
		field.String("clinic_code").Optional().Nillable().Immutable(),
		field.Enum("category").GoType(category.Category("")),
	}
}

// Indexes of the SpecialtyRule.
func (SpecialtyRule) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organisation_id", "specialty", "clinic_code").Unique(),
	}
}

// Annotations of the SpecialtyRule.
func (SpecialtyRule) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
