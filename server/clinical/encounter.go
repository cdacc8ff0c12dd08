package clinical

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// encounterStatuses are the statuses each kind of encounter passes through.
var encounterStatuses = map[encounter.Kind][]encounter.Status{
	encounter.KindEMERGENCY: {encounter.StatusARRIVED, encounter.StatusSEEN, encounter.StatusDISCHARGED},
	encounter.KindINPATIENT: {encounter.StatusADMITTED, encounter.StatusDISCHARGED},
}

// encounterState is an encounter's status and times as a change leaves
// them, checked as a whole.
type encounterState struct {
	kind            encounter.Kind
	status          encounter.Status
	startedAt       time.Time
	seenAt, endedAt *time.Time
}

// check refuses a status the kind does not have, and times that contradict
// the status or each other.
func (e encounterState) check(v *validation) {
	v.check(slices.Contains(encounterStatuses[e.kind], e.status), "input.status",
		fmt.Sprintf("a %s encounter is one of %v", e.kind, encounterStatuses[e.kind]))
	v.check(e.seenAt == nil || !e.seenAt.Before(e.startedAt), "input.seenAt", "must not be before the start")
	v.check(e.seenAt == nil || e.status != encounter.StatusARRIVED, "input.seenAt", "a patient who has only arrived has not been seen")
	v.check(e.endedAt == nil || !e.endedAt.Before(e.startedAt) && (e.seenAt == nil || !e.endedAt.Before(*e.seenAt)),
		"input.endedAt", "must not be before the start or the time the patient was seen")
	v.check(e.endedAt == nil || e.status == encounter.StatusDISCHARGED, "input.endedAt", "only a discharge has an end")
}

// encounterTexts are the text fields of an encounter.
func encounterTexts(site, ward, specialty, clinicCode, complaint, summary *string) []textInput[*ent.EncounterMutation] {
	type m = ent.EncounterMutation
	return []textInput[*m]{
		{"input.site", trimSpace(site), maxLineText, false, (*m).SetSite, (*m).ClearSite},
		{"input.ward", trimSpace(ward), maxLineText, false, (*m).SetWard, (*m).ClearWard},
		{"input.specialty", trimSpace(specialty), maxLineText, false, (*m).SetSpecialty, (*m).ClearSpecialty},
		{"input.clinicCode", trimSpace(clinicCode), maxLineText, false, (*m).SetClinicCode, (*m).ClearClinicCode},
		{"input.presentingComplaint", trimSpace(complaint), maxFreeText, false, (*m).SetPresentingComplaint, (*m).ClearPresentingComplaint},
		{"input.summary", trimSpace(summary), maxFreeText, false, (*m).SetSummary, (*m).ClearSummary},
	}
}

// RecordEncounter records an ED attendance or an inpatient stay for the
// clinician's organisation. Its category is decided by the write hook: an
// ED attendance stays GENERAL until the patient is seen.
func (s *Service) RecordEncounter(ctx context.Context, in model.RecordEncounterInput) (*ent.Encounter, error) {
	v, err := requireClinician(ctx, in.OrganisationID)
	if err != nil {
		return nil, err
	}
	texts := encounterTexts(in.Site, in.Ward, in.Specialty, in.ClinicCode, in.PresentingComplaint, in.Summary)
	state := encounterState{kind: in.Kind, status: in.Status, startedAt: in.StartedAt.UTC(),
		seenAt: utcTime(in.SeenAt), endedAt: utcTime(in.EndedAt)}
	var check validation
	check.check(!in.StartedAt.IsZero(), "input.startedAt", "is required")
	state.check(&check)
	checkTexts(&check, texts)
	checkLabel(&check, in.Category)
	if err := check.err(); err != nil {
		return nil, err
	}
	p, err := s.recordPatient(ctx, in.PatientID)
	if err != nil {
		return nil, err
	}
	var id pulid.ID
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		c := tx.Encounter.Create().
			SetPatientID(p.ID).
			SetSourceOrganisationID(in.OrganisationID).
			SetKind(state.kind).
			SetStatus(state.status).
			SetStartedAt(state.startedAt).
			SetNillableSeenAt(state.seenAt).
			SetNillableEndedAt(state.endedAt).
			SetNillableAssignedCategory(in.Category)
		applyTexts(c.Mutation(), texts)
		e, err := c.Save(ctx)
		if err != nil {
			return err
		}
		id = e.ID
		if err := link(ctx, tx, p.ID, in.OrganisationID); err != nil {
			return err
		}
		return audit(ctx, tx, v, p.ID, "ENCOUNTER_RECORDED", "Encounter")
	})
	if err != nil {
		return nil, err
	}
	return s.readEncounter(ctx, id)
}

// UpdateEncounter changes an encounter of the clinician's organisation:
// SEEN records when the patient was seen, and DISCHARGED when the stay
// ended (now, unless given). The patient and their carers, who see the
// encounter, are refused; anyone else is told it does not exist.
func (s *Service) UpdateEncounter(ctx context.Context, id pulid.ID, in model.UpdateEncounterInput) (*ent.Encounter, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	e, err := s.readEncounter(ctx, id)
	if err != nil {
		return nil, err
	}
	if !v.Produced(e.SourceOrganisationID) {
		return nil, access.ErrDenied
	}
	now := s.now()
	state := encounterState{kind: e.Kind, status: e.Status, startedAt: e.StartedAt, seenAt: e.SeenAt, endedAt: e.EndedAt}
	if in.Status != nil {
		state.status = *in.Status
	}
	switch {
	case in.SeenAt != nil:
		state.seenAt = utcTime(in.SeenAt)
	case state.status == encounter.StatusSEEN && state.seenAt == nil:
		state.seenAt = &now
	}
	switch {
	case in.EndedAt != nil:
		state.endedAt = utcTime(in.EndedAt)
	case state.status == encounter.StatusDISCHARGED && state.endedAt == nil:
		state.endedAt = &now
	}
	texts := encounterTexts(nil, in.Ward, nil, nil, in.PresentingComplaint, in.Summary)
	var check validation
	check.check(state.status != encounter.StatusARRIVED || e.Status == encounter.StatusARRIVED,
		"input.status", "a patient who has been seen cannot return to ARRIVED")
	state.check(&check)
	checkTexts(&check, texts)
	checkLabel(&check, in.Category)
	if err := check.err(); err != nil {
		return nil, err
	}
	if err := fresh(in.ExpectedUpdatedAt, e.UpdatedAt); err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		if err := claimed(tx.Encounter.Update().
			Where(encounter.ID(id), encounter.UpdatedAt(e.UpdatedAt)).
			Save(ctx)); err != nil {
			return err
		}
		u := tx.Encounter.UpdateOneID(id).
			SetStatus(state.status).
			SetNillableSeenAt(state.seenAt).
			SetNillableEndedAt(state.endedAt).
			SetNillableAssignedCategory(in.Category)
		applyTexts(u.Mutation(), texts)
		if err := u.Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, v, e.PatientID, "ENCOUNTER_UPDATED", "Encounter")
	})
	if err != nil {
		return nil, err
	}
	return s.readEncounter(ctx, id)
}

// readEncounter reads an encounter as the viewer.
func (s *Service) readEncounter(ctx context.Context, id pulid.ID) (*ent.Encounter, error) {
	e, err := s.client.Encounter.Get(ctx, id)
	return e, notFound(err)
}
