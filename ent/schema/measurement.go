package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Measurement is a reading from a device: high volume.
type Measurement struct{ ent.Schema }

// Mixin of the Measurement.
func (Measurement) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "me"}, TimeMixin{}, RecordMixin{Ref: "measurements"}}
}

// Fields of the Measurement.
func (Measurement) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("type").Values("GLUCOSE", "HEART_RATE", "STEPS", "WEIGHT", "HEIGHT", "BMI",
			"BLOOD_PRESSURE", "SPO2", "TEMPERATURE", "RESPIRATORY_RATE"),
		field.Time("measured_at").SchemaType(timeSchemaType).Annotations(entgql.OrderField("MEASURED_AT")),
		field.Float("value").Comment("Systolic for blood pressure.").Annotations(noFilter),
		field.Float("value2").Optional().Nillable().Comment("Diastolic for blood pressure.").Annotations(noFilter),
		field.String("unit").NotEmpty().Annotations(noFilter),
		field.String("device").Default("").Annotations(noFilter),
	}
}

// Indexes of the Measurement: one reading per device, type and time, so a
// re-sent reading changes nothing.
func (Measurement) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "type", "measured_at", "device").Unique(),
	}
}

// Annotations of the Measurement.
func (Measurement) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
