package tracking

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/symptom"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/clinical"
	"github.com/patientportal/portal/server/store"
)

// Limits of the diary's inputs (symptoms, the journal, care resources). A
// one-line text is a varchar(255) on MySQL; free text is a TEXT column of
// 65,535 bytes, so at most 16,000 characters of up to four bytes each.
const (
	diaryLineText    = 255
	diaryFreeText    = 16000
	symptomNameText  = 100
	symptomNotesText = 4000
	symptomMaxScore  = 10
	// diaryClockSkew is how far ahead of the server a device's clock may
	// run before a time it sends counts as in the future.
	diaryClockSkew = 5 * time.Minute
)

// RecordSymptom records a symptom the patient felt. Only the record's
// owner, signed in at P9, records one.
func (s *Service) RecordSymptom(ctx context.Context, in model.RecordSymptomInput) (*ent.Symptom, error) {
	v, err := s.diaryActAsPatient(ctx, in.PatientID)
	if err != nil {
		return nil, err
	}
	var check diaryCheck
	name := check.text("input.name", &in.Name, true, symptomNameText)
	notes := check.text("input.notes", in.Notes, false, symptomNotesText)
	check.check(in.Severity >= 0 && in.Severity <= symptomMaxScore, "input.severity",
		fmt.Sprintf("must be between 0 and %d", symptomMaxScore))
	check.when("input.occurredAt", &in.OccurredAt, true, s.now())
	if err := check.err(); err != nil {
		return nil, err
	}
	assigned, effective := diaryLabel(in.Category)
	var id pulid.ID
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		sy, err := tx.Symptom.Create().
			SetPatientID(in.PatientID).
			SetName(*name).
			SetSeverity(in.Severity).
			SetOccurredAt(in.OccurredAt.UTC()).
			SetNillableNotes(notes).
			SetAssignedCategory(assigned).
			SetCategory(effective).
			Save(ctx)
		if err != nil {
			return err
		}
		id = sy.ID
		return diaryAudit(ctx, tx, v, in.PatientID, nil, "SYMPTOM_RECORDED", "Symptom")
	})
	if err != nil {
		return nil, err
	}
	sy, err := s.client.Symptom.Get(ctx, id)
	return sy, diaryNotFound(err)
}

// SymptomSeries is one symptom's history on p, oldest first, as far as the
// viewer may see it: one query, read as the viewer, from from (inclusive)
// to to (exclusive). Names match without regard to case, alike on every
// engine.
func (s *Service) SymptomSeries(ctx context.Context, p *ent.Patient, name string, from *time.Time, to *time.Time) ([]*model.SymptomPoint, error) {
	var check diaryCheck
	check.check(from == nil || to == nil || !to.Before(*from), "to", "must not be before from")
	if err := check.err(); err != nil {
		return nil, err
	}
	q := s.client.Symptom.Query().Where(symptom.PatientID(p.ID), symptom.NameEqualFold(strings.TrimSpace(name)))
	if from != nil {
		q.Where(symptom.OccurredAtGTE(from.UTC()))
	}
	if to != nil {
		q.Where(symptom.OccurredAtLT(to.UTC()))
	}
	rows, err := q.Order(ent.Asc(symptom.FieldOccurredAt), ent.Asc(symptom.FieldID)).
		Select(symptom.FieldOccurredAt, symptom.FieldSeverity).
		All(ctx)
	if err != nil {
		return nil, err
	}
	points := make([]*model.SymptomPoint, len(rows))
	for i, r := range rows {
		points[i] = &model.SymptomPoint{SymptomID: r.ID, OccurredAt: r.OccurredAt.UTC(), Severity: r.Severity}
	}
	return points, nil
}

// The helpers below are shared by symptoms, the journal and care
// resources; they follow package clinical's patterns.

// diaryCheck collects bad fields before anything is written.
type diaryCheck struct{ fields []clinical.FieldError }

// check records a bad field when ok is false.
func (c *diaryCheck) check(ok bool, path, message string) {
	if !ok {
		c.fields = append(c.fields, clinical.FieldError{Path: path, Message: message})
	}
}

// text checks a text field and returns it trimmed: nil when absent, or
// when blank and optional. A required text must not be blank.
func (c *diaryCheck) text(path string, s *string, required bool, limit int) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	switch {
	case t == "":
		c.check(!required, path, "must not be blank")
		return nil
	case utf8.RuneCountInString(t) > limit:
		c.check(false, path, fmt.Sprintf("must be at most %d characters", limit))
	}
	return &t
}

// when checks a time field: given when required, and not in the future.
func (c *diaryCheck) when(path string, t *time.Time, required bool, now time.Time) {
	if t == nil || t.IsZero() {
		c.check(!required, path, "is required")
		return
	}
	c.check(!t.After(now.Add(diaryClockSkew)), path, "must not be in the future")
}

// err returns the collected errors, or nil.
func (c *diaryCheck) err() error {
	if len(c.fields) == 0 {
		return nil
	}
	return &clinical.ValidationError{Fields: c.fields}
}

// diaryLabel is the assigned category of a new item (GENERAL when none was
// given) and the effective category package access makes of it.
func diaryLabel(c *category.Category) (assigned, effective category.Category) {
	assigned = category.General
	if c != nil {
		assigned = *c
	}
	return assigned, access.EffectiveCategory(access.Labelling{Kind: access.KindOther, Assigned: &assigned})
}

// diaryViewer returns the signed-in viewer or access.ErrNoViewer.
func diaryViewer(ctx context.Context) (*access.Viewer, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	return v, nil
}

// diaryActAsPatient checks that the viewer writes to their own record,
// signed in at P9. Someone who may see the record but not write to it as
// its patient is refused; anyone else gets the answer a missing record
// gets.
func (s *Service) diaryActAsPatient(ctx context.Context, patient pulid.ID) (*access.Viewer, error) {
	v, err := diaryViewer(ctx)
	if err != nil {
		return nil, err
	}
	if v.Owns(patient) {
		if v.IdentityLevel != access.IdentityVerified {
			return nil, access.ErrIdentityLevelTooLow
		}
		return v, nil
	}
	if _, err := s.client.Patient.Get(ctx, patient); err != nil {
		return nil, diaryNotFound(err)
	}
	return nil, access.ErrDenied
}

// diaryOwnItem checks that the viewer owns the record of an item they have
// read (signed in at P9, or they could not have read it): others who see
// it, such as carers, are refused.
func diaryOwnItem(ctx context.Context, patient pulid.ID) (*access.Viewer, error) {
	v, err := diaryViewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Owns(patient) || v.IdentityLevel != access.IdentityVerified {
		return nil, access.ErrDenied
	}
	return v, nil
}

// diaryNotFound turns Ent's not-found into clinical.ErrNotFound, so that
// hidden and missing answer alike.
func diaryNotFound(err error) error {
	if ent.IsNotFound(err) {
		return clinical.ErrNotFound
	}
	return err
}

// diaryTx runs fn in a transaction as the system (callers check the viewer
// first).
func (s *Service) diaryTx(ctx context.Context, fn func(ctx context.Context, tx *ent.Client) error) error {
	sys := access.SystemContext(ctx)
	return store.InTx(sys, s.client, func(tx *ent.Client) error { return fn(sys, tx) })
}

// diaryAudit records a change to a patient's record in the change's
// transaction; org is the organisation a clinician acted for, if any.
// Audit events carry kinds, never the text.
func diaryAudit(ctx context.Context, tx *ent.Client, v *access.Viewer, patient pulid.ID, org *pulid.ID, action, kind string) error {
	err := tx.AuditEvent.Create().
		SetPatientID(patient).
		SetActorAccountID(v.AccountID).
		SetNillableActorOrganisationID(org).
		SetAction(action).
		SetRecordKinds([]string{kind}).
		SetAt(v.Now).
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
