package access

import "github.com/patientportal/portal/ent/schema/category"

// Kind is what sort of item a category is decided for.
type Kind int

// The kinds whose categories follow their own rules.
const (
	// KindOther is any item labelled only by its source or the patient.
	KindOther Kind = iota
	// KindAppointment follows the organisation's specialty rules.
	KindAppointment
	// KindEmergency is an ED attendance: GENERAL until the patient is seen.
	KindEmergency
	// KindInpatient follows the organisation's specialty rules.
	KindInpatient
)

// Labelling is everything an item's effective category depends on.
type Labelling struct {
	Kind Kind
	// Assigned is the category the clinician, the source or the patient
	// gave, if any.
	Assigned *category.Category
	// Rule is the category an organisation's specialty rule gives, if one
	// matches.
	Rule *category.Category
	// Seen is whether an ED attendance's patient has been seen.
	Seen bool
}

// EffectiveCategory is the one decision of an item's effective category,
// stored on the item and recomputed by every write that changes an input:
//   - an ED attendance is GENERAL until the patient has been seen (shares
//     then see only when and where), and afterwards as below;
//   - an assigned category applies, then a matching specialty rule;
//   - appointments and encounters default to GENERAL, as trusts' systems
//     label them; anything else whose category cannot be determined is
//     RESTRICTED.
func EffectiveCategory(l Labelling) category.Category {
	if l.Kind == KindEmergency && !l.Seen {
		return category.General
	}
	switch {
	case l.Assigned != nil && l.Assigned.Valid():
		return *l.Assigned
	case l.Rule != nil && l.Rule.Valid():
		return *l.Rule
	case l.Kind != KindOther:
		return category.General
	}
	return category.Restricted
}
