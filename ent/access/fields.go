package access

import (
	"slices"
	"time"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// Produced reports whether v is a clinician of the organisation that
// produced an item: they see all of it at once.
func (v *Viewer) Produced(source *pulid.ID) bool {
	return v != nil && source != nil && v.HasRole(*source, RoleClinician)
}

// Owns reports whether the record is the viewer's own.
func (v *Viewer) Owns(patient pulid.ID) bool {
	return v != nil && slices.Contains(v.OwnPatientIDs(), patient)
}

// ResultContentVisible reports whether v may see a result's content (its
// values, components, conclusion): once released, or at once for the
// requesting organisation's clinicians. Anyone else who sees the result at
// all sees only that it exists and when it will be released.
func (v *Viewer) ResultContentVisible(source *pulid.ID, visibleFrom *time.Time) bool {
	if v == nil {
		return false
	}
	return v.Produced(source) || (visibleFrom != nil && !v.Now.Before(*visibleFrom))
}

// EncounterDetailVisible reports whether v may see an encounter's
// presenting complaint and clinical detail: an ED attendance not yet seen
// shows shares only when and where; the patient and the producing
// clinicians see it all.
func (v *Viewer) EncounterDetailVisible(patient pulid.ID, source *pulid.ID, emergency, seen bool) bool {
	if v == nil {
		return false
	}
	if !emergency || seen {
		return true
	}
	return (v.Owns(patient) && v.IdentityLevel == IdentityVerified) || v.Produced(source)
}
