package sharing

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/journalentry"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/symptom"
)

// entry is what relabelling needs to know of a patient-recorded item.
type entry struct {
	patient pulid.ID
	// byPatient is whether the patient recorded it, not an organisation.
	byPatient bool
}

// readEntry reads a relabellable item as the viewer. Only the types the
// patient records can be relabelled: any other ID is refused without
// looking it up, so the answer says nothing about whether it exists.
func (s *Service) readEntry(ctx context.Context, id pulid.ID, table string) (entry, error) {
	var (
		e   entry
		err error
	)
	switch table {
	case symptom.Table:
		var r *ent.Symptom
		if r, err = s.client.Symptom.Get(ctx, id); err == nil {
			e = entry{patient: r.PatientID, byPatient: r.SourceOrganisationID == nil}
		}
	case journalentry.Table:
		var r *ent.JournalEntry
		if r, err = s.client.JournalEntry.Get(ctx, id); err == nil {
			e = entry{patient: r.PatientID, byPatient: r.SourceOrganisationID == nil}
		}
	case measurement.Table:
		var r *ent.Measurement
		if r, err = s.client.Measurement.Get(ctx, id); err == nil {
			e = entry{patient: r.PatientID, byPatient: r.SourceOrganisationID == nil}
		}
	case allergy.Table:
		var r *ent.Allergy
		if r, err = s.client.Allergy.Get(ctx, id); err == nil {
			e = entry{patient: r.PatientID, byPatient: r.RecordedBy == allergy.RecordedByPATIENT && r.SourceOrganisationID == nil}
		}
	default:
		return entry{}, access.ErrDenied
	}
	if ent.IsNotFound(err) {
		return entry{}, ErrNotFound
	}
	return e, err
}

// RelabelRecord lets the patient give one of the entries they recorded
// (a symptom, journal entry, measurement or self-reported allergy) any
// category, PRIVATE included. Items from an organisation keep the label
// their source gave.
func (s *Service) RelabelRecord(ctx context.Context, id pulid.ID, c category.Category) (ent.Noder, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	table, err := pulid.TableOf(id)
	if err != nil {
		return nil, invalid("%q is not a valid ID", string(id))
	}
	if !c.Valid() {
		return nil, invalid("%q is not a category", string(c))
	}
	e, err := s.readEntry(ctx, id, table)
	if err != nil {
		return nil, err
	}
	if !owns(v, e.patient) || !e.byPatient {
		return nil, access.ErrDenied
	}
	effective := access.EffectiveCategory(access.Labelling{Kind: access.KindOther, Assigned: &c})
	sys := access.SystemContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		if err := relabelEntry(sys, tx, table, id, c, effective); err != nil {
			return err
		}
		if err := tx.Notification.Update().
			Where(notification.SubjectID(id)).
			SetCategory(effective).
			Exec(sys); err != nil {
			return err
		}
		return s.audit(sys, tx, v, event{action: "RECORD_RELABELLED", patient: &e.patient})
	})
	if err != nil {
		return nil, err
	}
	n, err := s.client.Noder(ctx, id, ent.WithNodeType(func(context.Context, pulid.ID) (string, error) {
		return table, nil
	}))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return n, err
}

// relabelEntry writes the assigned and effective category of one item.
func relabelEntry(ctx context.Context, tx *ent.Client, table string, id pulid.ID, assigned, effective category.Category) error {
	switch table {
	case symptom.Table:
		return tx.Symptom.UpdateOneID(id).SetAssignedCategory(assigned).SetCategory(effective).Exec(ctx)
	case journalentry.Table:
		return tx.JournalEntry.UpdateOneID(id).SetAssignedCategory(assigned).SetCategory(effective).Exec(ctx)
	case measurement.Table:
		return tx.Measurement.UpdateOneID(id).SetAssignedCategory(assigned).SetCategory(effective).Exec(ctx)
	case allergy.Table:
		return tx.Allergy.UpdateOneID(id).SetAssignedCategory(assigned).SetCategory(effective).Exec(ctx)
	}
	return access.ErrDenied
}
