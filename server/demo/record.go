package demo

import (
	"time"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// source is who recorded an item of the demo record.
type source int

// The sources: the patient, or one of the trusts (its index in trusts plus
// one).
const (
	patientSource source = iota
	firstTrust
	secondTrust
)

// origin is where an item came from and how it is labelled.
type origin struct {
	from source
	// category is the effective category.
	category category.Category
	// assigned is the category the source assigned, when it differs from
	// the effective one (an emergency attendance not yet seen).
	assigned category.Category
}

// from returns the origin of an item whose assigned and effective
// categories agree.
func from(s source, c category.Category) origin {
	return origin{from: s, category: c}
}

// org returns the organisation ID of s, or nil for the patient: the
// patient's own items have no source organisation.
func (l *loader) org(s source) *pulid.ID {
	if s == patientSource {
		return nil
	}
	return &l.trusts[s-1]
}

// recordCreate is what the create builder of every item of a patient
// record offers (RecordMixin and TimeMixin).
type recordCreate[B any] interface {
	SetPatientID(pulid.ID) B
	SetCategory(category.Category) B
	SetAssignedCategory(category.Category) B
	SetNillableSourceOrganisationID(*pulid.ID) B
	SetCreatedAt(time.Time) B
	SetUpdatedAt(time.Time) B
}

// record sets on b what every item of the demo record carries: the
// patient, its origin and its labels.
func record[B recordCreate[B]](l *loader, b B, o origin) B {
	assigned := o.assigned
	if assigned == "" {
		assigned = o.category
	}
	b.SetPatientID(l.patient)
	b.SetCategory(o.category)
	b.SetAssignedCategory(assigned)
	b.SetNillableSourceOrganisationID(l.org(o.from))
	b.SetCreatedAt(l.now)
	return b.SetUpdatedAt(l.now)
}

// opt returns nil for an empty string: the tables leave unknown fields out.
func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// optTime returns nil for the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// dateOnly returns midnight UTC of the date, normalised as time.Date does.
func dateOnly(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
