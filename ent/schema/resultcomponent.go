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

// ResultComponent is one value of a result (haemoglobin in a full blood
// count). It carries its patient and category itself so that the same row
// filter applies to it.
type ResultComponent struct{ ent.Schema }

// Mixin of the ResultComponent.
func (ResultComponent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "co"}, TimeMixin{}, RecordMixin{Ref: "result_components"}}
}

// Fields of the ResultComponent.
func (ResultComponent) Fields() []ent.Field {
	return []ent.Field{
		field.String("result_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("name").NotEmpty().Annotations(noFilter),
		field.String("code").Optional().Nillable().Annotations(noFilter),
		field.Float("value_numeric").Optional().Nillable().Annotations(noFilter),
		field.String("value_text").Optional().Nillable().Annotations(noFilter),
		field.Enum("comparator").Values("LT", "LE", "GE", "GT").Optional().Nillable().Annotations(noFilter),
		field.String("unit").Optional().Nillable().Comment("UCUM.").Annotations(noFilter),
		field.Float("reference_low").Optional().Nillable().Annotations(noFilter),
		field.Float("reference_high").Optional().Nillable().Annotations(noFilter),
		field.String("reference_text").Optional().Nillable().Annotations(noFilter),
		field.Enum("flag").Values("NORMAL", "LOW", "HIGH", "CRITICAL_LOW", "CRITICAL_HIGH", "ABNORMAL").
			Optional().Nillable().Annotations(noFilter),
	}
}

// Edges of the ResultComponent.
func (ResultComponent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("result", Result.Type).Ref("components").Field("result_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the ResultComponent.
func (ResultComponent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "code"),
		index.Fields("result_id"),
	}
}

// Annotations of the ResultComponent.
func (ResultComponent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}
