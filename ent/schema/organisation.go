package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
)

// Organisation is a trust, GP practice, pharmacy, ambulance service or
// research body. It is reference data, not part of any patient's record.
type Organisation struct{ ent.Schema }

// Mixin of the Organisation.
func (Organisation) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "og"}, TimeMixin{}}
}

// Fields of the Organisation.
func (Organisation) Fields() []ent.Field {
	return []ent.Field{
		field.String("ods_code").NotEmpty().MaxLen(16).Unique().
			Annotations(entgql.OrderField("ODS_CODE")),
		field.String("name").NotEmpty().
			Annotations(entgql.OrderField("NAME")),
		field.Enum("kind").Values("TRUST", "GP_PRACTICE", "PHARMACY", "AMBULANCE_SERVICE", "RESEARCH"),
		field.String("logo_url").Optional().Nillable().Annotations(noFilter),
		field.Text("welcome_message").Optional().Nillable().Annotations(noFilter),
		field.String("phone").Optional().Nillable().Annotations(noFilter),
		field.String("email").Optional().Nillable().Annotations(noFilter),
		field.String("website").Optional().Nillable().Annotations(noFilter),
		field.Text("address").Optional().Nillable().Annotations(noFilter),
		field.Bool("emergency_care").Default(false).
			Comment("Whether its professionals may break the glass."),
		field.Int("result_release_delay_hours").Default(0).NonNegative().
			Comment("How long results its systems send are held before patients see them, unless they carry a release time.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Strings("excluded_services").Optional().
			Comment("Services (e.g. Maternity) whose data its systems send but the portal must not show.").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the Organisation.
func (Organisation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("memberships", Membership.Type).Annotations(entgql.Skip(entgql.SkipAll)),
		edge.From("patients", Patient.Type).Ref("organisations").
			Through("patient_links", PatientOrganisation.Type).
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Annotations of the Organisation.
func (Organisation) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
