package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/patientportal/portal/ent/schema/pulid"

	"github.com/patientportal/portal/ent/schema/category"
)

// Notification tells one recipient that something is new on a record. It
// carries the category of what it is about, so that it is shown only while
// the recipient may see that.
type Notification struct{ ent.Schema }

// Mixin of the Notification.
func (Notification) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "no"}}
}

// Fields of the Notification.
func (Notification) Fields() []ent.Field {
	return []ent.Field{
		field.String("recipient_account_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("patient_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("kind").Values("RESULT_RELEASED", "APPOINTMENT_BOOKED", "APPOINTMENT_CHANGED",
			"APPOINTMENT_CANCELLED", "LETTER_RECEIVED", "SHARE_OFFERED", "SHARE_ACCEPTED",
			"SHARE_CHANGED", "SHARE_REVOKED", "GLASS_BROKEN", "ORGANISATION_LINKED",
			"CARE_RESOURCE_ASSIGNED"),
		field.Enum("category").GoType(category.Category("")).Default(string(category.General)).
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("subject_id").GoType(pulid.ID("")).SchemaType(idSchemaType).Optional().Nillable().
			Comment("The record it is about.").Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("created_at").SchemaType(timeSchemaType).Default(now).Immutable().Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("read_at").SchemaType(timeSchemaType).Optional().Nillable().Annotations(entgql.Skip(entgql.SkipOrderField)),
		field.Time("email_due_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When it is to be considered for email; null once emailed or passed over.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("emailed_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When an email told of it, for reporting by channel.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("reminder_due_at").SchemaType(timeSchemaType).Optional().Nillable().
			Comment("When a letter still unread gets its one reminder; null when none is due.").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the Notification.
func (Notification) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("patient", Patient.Type).Ref("notifications").Field("patient_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
		edge.To("recipient", Account.Type).Field("recipient_account_id").
			Unique().Required().Immutable().Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the Notification.
func (Notification) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("recipient_account_id", "created_at"),
		index.Fields("patient_id", "category"),
		index.Fields("email_due_at"),
		index.Fields("reminder_due_at"),
	}
}

// Annotations of the Notification.
func (Notification) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.Skip(entgql.SkipWhereInput)}
}
