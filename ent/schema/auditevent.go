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

// AuditEvent is an append-only record of who read or changed what, when
// and why.
type AuditEvent struct{ ent.Schema }

// Mixin of the AuditEvent.
func (AuditEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ae"}}
}

// Fields of the AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("actor_account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("actor_organisation_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("action").NotEmpty().Immutable().
			Comment("What happened, e.g. SIGN_IN, SIGN_IN_FAILED, READ, BREAK_GLASS.").Annotations(noFilter),
		field.Strings("record_kinds").Optional().Immutable().Annotations(noFilter),
		field.String("share_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("break_glass").Default(false).Immutable().Annotations(noFilter),
		field.Text("reason").Optional().Nillable().Immutable().Annotations(noFilter),
		field.String("client_address").Optional().Nillable().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("at").SchemaType(timeSchemaType).Default(now).Immutable().Annotations(entgql.OrderField("AT")),
	}
}

// Edges of the AuditEvent.
func (AuditEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("audit_events").Field("patient_id").
			Unique().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the AuditEvent.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("patient_id", "at"),
		index.Fields("actor_account_id", "at"),
		index.Fields("actor_organisation_id", "at"),
	}
}

// Annotations of the AuditEvent.
func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.Skip(entgql.SkipWhereInput)}
}
