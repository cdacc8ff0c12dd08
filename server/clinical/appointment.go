package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/appointmentchangerequest"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/notify"
)

// Limits of the diary's and encounters' inputs. A one-line text is a
// varchar(255) on MySQL; free text is a TEXT column of 65,535 bytes, so at
// most 16,000 characters of up to four bytes each.
const (
	maxLineText       = 255
	maxFreeText       = 16000
	maxDurationMin    = 24 * 60
	maxPreferredTimes = 10
)

// textInput is one text field of an input and the mutation field it sets.
// A blank optional value clears the field (on a create, leaves it out).
type textInput[M any] struct {
	path     string
	value    *string
	limit    int
	required bool
	set      func(M, string)
	clear    func(M)
}

// checkTexts refuses a blank required text and any text over its limit.
func checkTexts[M any](v *validation, fields []textInput[M]) {
	for _, f := range fields {
		if f.value == nil {
			continue
		}
		v.check(!f.required || *f.value != "", f.path, "must not be blank")
		checkLength(v, f.path, f.value, f.limit)
	}
}

// applyTexts writes the given texts to m.
func applyTexts[M any](m M, fields []textInput[M]) {
	for _, f := range fields {
		switch {
		case f.value == nil:
		case *f.value == "" && f.clear != nil:
			f.clear(m)
		default:
			f.set(m, *f.value)
		}
	}
}

// checkLength refuses a text longer than limit characters.
func checkLength(v *validation, path string, s *string, limit int) {
	v.check(s == nil || utf8.RuneCountInString(*s) <= limit, path, fmt.Sprintf("must be at most %d characters", limit))
}

// trimSpace is s without surrounding space; nil stays nil.
func trimSpace(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// nonBlank is s trimmed, or nil when nil or blank.
func nonBlank(s *string) *string {
	if t := trimSpace(s); t != nil && *t != "" {
		return t
	}
	return nil
}

// utcTime is t in UTC; nil stays nil.
func utcTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// checkLabel refuses PRIVATE from a clinician: that label is the
// patient's own.
func checkLabel(v *validation, c *category.Category) {
	v.check(c == nil || *c != category.Private, "input.category", "PRIVATE is the patient's own label")
}

// checkDuration keeps an appointment between a minute and a day long.
func checkDuration(v *validation, minutes *int) {
	v.check(minutes == nil || *minutes >= 1 && *minutes <= maxDurationMin,
		"input.durationMinutes", fmt.Sprintf("must be between 1 and %d minutes", maxDurationMin))
}

// appointmentTexts are the text fields of a booking.
func appointmentTexts(title, specialty, clinic, clinicCode, site, address, clinician, instructions *string) []textInput[*ent.AppointmentMutation] {
	type m = ent.AppointmentMutation
	return []textInput[*m]{
		{"input.title", trimSpace(title), maxLineText, true, (*m).SetTitle, nil},
		{"input.specialty", trimSpace(specialty), maxLineText, false, (*m).SetSpecialty, (*m).ClearSpecialty},
		{"input.clinic", trimSpace(clinic), maxLineText, false, (*m).SetClinic, (*m).ClearClinic},
		{"input.clinicCode", trimSpace(clinicCode), maxLineText, false, (*m).SetClinicCode, (*m).ClearClinicCode},
		{"input.site", trimSpace(site), maxLineText, false, (*m).SetSite, (*m).ClearSite},
		{"input.address", trimSpace(address), maxFreeText, false, (*m).SetAddress, (*m).ClearAddress},
		{"input.clinician", trimSpace(clinician), maxLineText, false, (*m).SetClinician, (*m).ClearClinician},
		{"input.instructions", trimSpace(instructions), maxFreeText, false, (*m).SetInstructions, (*m).ClearInstructions},
	}
}

// recordPatient reads, as the viewer, the patient a clinician writes to:
// one they may already see, which takes in every patient linked to their
// organisations. Anyone else answers as a missing record does.
func (s *Service) recordPatient(ctx context.Context, id pulid.ID) (*ent.Patient, error) {
	p, err := s.client.Patient.Get(ctx, id)
	return p, notFound(err)
}

// CreateAppointment books an appointment for the clinician's organisation.
func (s *Service) CreateAppointment(ctx context.Context, in model.CreateAppointmentInput) (*ent.Appointment, error) {
	v, err := requireClinician(ctx, in.OrganisationID)
	if err != nil {
		return nil, err
	}
	texts := appointmentTexts(&in.Title, in.Specialty, in.Clinic, in.ClinicCode, in.Site, in.Address, in.Clinician, in.Instructions)
	var check validation
	checkTexts(&check, texts)
	check.check(!in.StartsAt.IsZero(), "input.startsAt", "is required")
	checkDuration(&check, in.DurationMinutes)
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
		c := tx.Appointment.Create().
			SetPatientID(p.ID).
			SetSourceOrganisationID(in.OrganisationID).
			SetStartsAt(in.StartsAt.UTC()).
			SetNillableDurationMinutes(in.DurationMinutes).
			SetNillableAssignedCategory(in.Category)
		applyTexts(c.Mutation(), texts)
		a, err := c.Save(ctx)
		if err != nil {
			return err
		}
		id = a.ID
		if err := link(ctx, tx, p.ID, in.OrganisationID); err != nil {
			return err
		}
		return s.appointmentEvent(ctx, tx, v, a, "APPOINTMENT_BOOKED", notification.KindAPPOINTMENT_BOOKED)
	})
	if err != nil {
		return nil, err
	}
	return s.readAppointment(ctx, id)
}

// UpdateAppointment changes a booking of the clinician's organisation.
func (s *Service) UpdateAppointment(ctx context.Context, id pulid.ID, in model.UpdateAppointmentInput) (*ent.Appointment, error) {
	texts := appointmentTexts(in.Title, in.Specialty, in.Clinic, in.ClinicCode, in.Site, in.Address, in.Clinician, in.Instructions)
	var check validation
	checkTexts(&check, texts)
	checkDuration(&check, in.DurationMinutes)
	checkLabel(&check, in.Category)
	return s.changeAppointment(ctx, id, in.ExpectedUpdatedAt, check.err(), func(m *ent.AppointmentMutation) {
		applyTexts(m, texts)
		if in.StartsAt != nil {
			m.SetStartsAt(in.StartsAt.UTC())
		}
		if in.DurationMinutes != nil {
			m.SetDurationMinutes(*in.DurationMinutes)
		}
		if in.Status != nil {
			m.SetStatus(*in.Status)
		}
		if in.Category != nil {
			m.SetAssignedCategory(*in.Category)
		}
	})
}

// CancelAppointment cancels a booking of the clinician's organisation.
func (s *Service) CancelAppointment(ctx context.Context, id pulid.ID, expectedUpdatedAt time.Time) (*ent.Appointment, error) {
	return s.changeAppointment(ctx, id, expectedUpdatedAt, nil, func(m *ent.AppointmentMutation) {
		m.SetStatus(appointment.StatusCANCELLED)
	})
}

// changeAppointment applies a change to a booking. Only a clinician of the
// organisation that made it may change it; the patient and their carers,
// who see it, are refused, and anyone else is told it does not exist.
// invalid is the input's validation error, reported once the booking is
// known to be the viewer's to change.
func (s *Service) changeAppointment(ctx context.Context, id pulid.ID, expected time.Time, invalid error, apply func(*ent.AppointmentMutation)) (*ent.Appointment, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.readAppointment(ctx, id)
	if err != nil {
		return nil, err
	}
	if !v.Produced(a.SourceOrganisationID) {
		return nil, access.ErrDenied
	}
	if invalid != nil {
		return nil, invalid
	}
	if err := fresh(expected, a.UpdatedAt); err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		_, err := s.writeAppointment(ctx, tx, v, a, apply)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.readAppointment(ctx, id)
}

// writeAppointment applies a change to a, provided it is still the version
// read (a racing change makes it ErrConflict); audits it and tells the
// patient. Labels filed with the appointment follow its category.
func (s *Service) writeAppointment(ctx context.Context, tx *ent.Client, v *access.Viewer, a *ent.Appointment, apply func(*ent.AppointmentMutation)) (*ent.Appointment, error) {
	if err := claimed(tx.Appointment.Update().
		Where(appointment.ID(a.ID), appointment.UpdatedAt(a.UpdatedAt)).
		Save(ctx)); err != nil {
		return nil, err
	}
	u := tx.Appointment.UpdateOneID(a.ID)
	apply(u.Mutation())
	updated, err := u.Save(ctx)
	if err != nil {
		return nil, err
	}
	if updated.Category != a.Category {
		if err := followCategory(ctx, tx, updated); err != nil {
			return nil, err
		}
	}
	action, kind := "APPOINTMENT_UPDATED", notification.KindAPPOINTMENT_CHANGED
	if updated.Status == appointment.StatusCANCELLED && a.Status != appointment.StatusCANCELLED {
		action, kind = "APPOINTMENT_CANCELLED", notification.KindAPPOINTMENT_CANCELLED
	}
	return updated, s.appointmentEvent(ctx, tx, v, updated, action, kind)
}

// claimed reports ErrConflict when a version-guarded claim on a row (an
// UPDATE ... WHERE updated_at = the version read, which bumps updated_at)
// matched nothing: another change got there first. The claim's row lock
// makes a racing change wait and then miss. Ent's UpdateOne.Where is no
// such guard on MySQL: when no row matches, it checks that the row exists
// with a snapshot read, which still sees the old version, and succeeds.
func claimed(n int, err error) error {
	if err == nil && n == 0 {
		return ErrConflict
	}
	return err
}

// followCategory relabels what is filed under an appointment's category
// with it: its notifications and change requests, which would otherwise
// show a share what the appointment's new label hides.
func followCategory(ctx context.Context, tx *ent.Client, a *ent.Appointment) error {
	if err := tx.Notification.Update().Where(notification.SubjectID(a.ID)).SetCategory(a.Category).Exec(ctx); err != nil {
		return err
	}
	return tx.AppointmentChangeRequest.Update().
		Where(appointmentchangerequest.AppointmentID(a.ID)).
		SetCategory(a.Category).
		Exec(ctx)
}

// appointmentEvent audits a change to a booking and tells whoever may see
// the appointment.
func (s *Service) appointmentEvent(ctx context.Context, tx *ent.Client, v *access.Viewer, a *ent.Appointment, action string, kind notification.Kind) error {
	if err := audit(ctx, tx, v, a.PatientID, action, "Appointment"); err != nil {
		return err
	}
	return notify.Record(ctx, tx, notify.Note{Kind: kind, Patient: a.PatientID, Category: a.Category, Subject: &a.ID}, s.now())
}

// readAppointment reads an appointment as the viewer.
func (s *Service) readAppointment(ctx context.Context, id pulid.ID) (*ent.Appointment, error) {
	a, err := s.client.Appointment.Get(ctx, id)
	return a, notFound(err)
}

// RequestAppointmentChange records the patient's request to cancel or move
// an upcoming appointment; the trust answers it. Only the record's owner
// asks: a carer who sees the appointment is refused.
func (s *Service) RequestAppointmentChange(ctx context.Context, in model.RequestAppointmentChangeInput) (*ent.AppointmentChangeRequest, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.readAppointment(ctx, in.AppointmentID)
	if err != nil {
		return nil, err
	}
	if !v.Owns(a.PatientID) {
		return nil, access.ErrDenied
	}
	now := s.now()
	reason := nonBlank(in.Reason)
	var check validation
	switch {
	case a.Status == appointment.StatusCANCELLED:
		check.check(false, "input.appointmentId", "the appointment is cancelled")
	case !a.StartsAt.After(now):
		check.check(false, "input.appointmentId", "the appointment has already started")
	case a.SourceOrganisationID == nil:
		check.check(false, "input.appointmentId", "no organisation here can change this appointment")
	}
	checkLength(&check, "input.reason", reason, maxFreeText)
	check.check(in.Kind == model.AppointmentChangeKindReschedule || len(in.PreferredTimes) == 0,
		"input.preferredTimes", "only a reschedule has preferred times")
	check.check(len(in.PreferredTimes) <= maxPreferredTimes,
		"input.preferredTimes", fmt.Sprintf("at most %d times", maxPreferredTimes))
	var times []string
	for i, t := range in.PreferredTimes {
		check.check(t != nil && t.After(now), fmt.Sprintf("input.preferredTimes[%d]", i), "must be in the future")
		if t != nil {
			times = append(times, t.UTC().Format(time.RFC3339))
		}
	}
	if err := check.err(); err != nil {
		return nil, err
	}
	var id pulid.ID
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		c := tx.AppointmentChangeRequest.Create().
			SetPatientID(a.PatientID).
			SetCategory(a.Category).
			SetNillableSourceOrganisationID(a.SourceOrganisationID).
			SetAppointmentID(a.ID).
			SetKind(appointmentchangerequest.Kind(in.Kind)).
			SetNillableReason(reason)
		if len(times) > 0 {
			c.SetPreferredTimes(times)
		}
		r, err := c.Save(ctx)
		if err != nil {
			return err
		}
		id = r.ID
		return audit(ctx, tx, v, a.PatientID, "APPOINTMENT_CHANGE_REQUESTED", "AppointmentChangeRequest")
	})
	if err != nil {
		return nil, err
	}
	return s.readChangeRequest(ctx, id)
}

// AnswerAppointmentChange records the trust's answer to an open request;
// accepting a cancellation cancels the appointment in the same
// transaction. A reschedule, once agreed, is booked with
// UpdateAppointment.
func (s *Service) AnswerAppointmentChange(ctx context.Context, in model.AnswerAppointmentChangeInput) (*ent.AppointmentChangeRequest, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.readChangeRequest(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if !v.Produced(r.SourceOrganisationID) {
		return nil, access.ErrDenied
	}
	answer := nonBlank(in.Answer)
	var check validation
	check.check(r.Status == appointmentchangerequest.StatusOPEN, "input.id", "the request has already been answered")
	checkLength(&check, "input.answer", answer, maxFreeText)
	if err := check.err(); err != nil {
		return nil, err
	}
	status := appointmentchangerequest.StatusDECLINED
	if in.Accept {
		status = appointmentchangerequest.StatusACCEPTED
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		// Only an open request is answered: a racing answer conflicts.
		n, err := tx.AppointmentChangeRequest.Update().
			Where(appointmentchangerequest.ID(r.ID), appointmentchangerequest.StatusEQ(appointmentchangerequest.StatusOPEN)).
			SetStatus(status).
			SetNillableAnswer(answer).
			SetAnsweredAt(s.now()).
			Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrConflict
		}
		if err := audit(ctx, tx, v, r.PatientID, "APPOINTMENT_CHANGE_ANSWERED", "AppointmentChangeRequest"); err != nil {
			return err
		}
		if !in.Accept || r.Kind != appointmentchangerequest.KindCANCEL {
			return nil
		}
		a, err := tx.Appointment.Get(ctx, r.AppointmentID)
		if err != nil || a.Status == appointment.StatusCANCELLED {
			return err
		}
		_, err = s.writeAppointment(ctx, tx, v, a, func(m *ent.AppointmentMutation) {
			m.SetStatus(appointment.StatusCANCELLED)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.readChangeRequest(ctx, r.ID)
}

// readChangeRequest reads a change request as the viewer.
func (s *Service) readChangeRequest(ctx context.Context, id pulid.ID) (*ent.AppointmentChangeRequest, error) {
	r, err := s.client.AppointmentChangeRequest.Get(ctx, id)
	return r, notFound(err)
}
