package fhir

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/appointmentchangerequest"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/notify"
)

func init() { mappers["Appointment"] = storeAppointment }

// appointmentResource is the part of a FHIR Appointment the portal keeps.
type appointmentResource struct {
	Status             string            `json:"status"`
	ServiceType        []CodeableConcept `json:"serviceType"`
	Specialty          []CodeableConcept `json:"specialty"`
	AppointmentType    *CodeableConcept  `json:"appointmentType"`
	ReasonCode         []CodeableConcept `json:"reasonCode"`
	Description        string            `json:"description"`
	Start              string            `json:"start"`
	End                string            `json:"end"`
	MinutesDuration    int               `json:"minutesDuration"`
	PatientInstruction string            `json:"patientInstruction"`
	Participant        []struct {
		Actor *Reference `json:"actor"`
	} `json:"participant"`
}

// appointmentStatus maps FHIR's appointment statuses; those not listed
// (waitlist) are not in the diary yet.
var appointmentStatus = map[string]appointment.Status{
	"proposed":   appointment.StatusBOOKED,
	"pending":    appointment.StatusBOOKED,
	"booked":     appointment.StatusBOOKED,
	"arrived":    appointment.StatusATTENDED,
	"checked-in": appointment.StatusATTENDED,
	"fulfilled":  appointment.StatusATTENDED,
	"cancelled":  appointment.StatusCANCELLED,
	"noshow":     appointment.StatusDID_NOT_ATTEND,
}

// defaultDuration is the schema's default, for an appointment that does
// not say how long it is.
const defaultDuration = 15

// storeAppointment keeps an appointment in the patient's diary and tells
// whoever may see it when it is booked, changed or cancelled.
func storeAppointment(r *run, it *item) (*stored, error) {
	var a appointmentResource
	if err := json.Unmarshal(it.raw, &a); err != nil {
		return nil, refuse("the Appointment is not valid FHIR JSON")
	}
	if a.Status == "entered-in-error" {
		return removeAppointment(r, it)
	}
	status, ok := appointmentStatus[a.Status]
	if !ok {
		return nil, skip("an appointment with status %s is not in the diary", safeName(a.Status))
	}
	var kind CodeableConcept
	if a.AppointmentType != nil {
		kind = *a.AppointmentType
	}
	if err := r.excluded(slices.Concat(a.ServiceType, a.Specialty, []CodeableConcept{kind})...); err != nil {
		return nil, err
	}
	var patientRef, clinicianRef, siteRef *Reference
	for _, p := range a.Participant {
		if p.Actor == nil {
			continue
		}
		t, ok := r.parseReference(*p.Actor, "")
		if !ok {
			continue
		}
		switch {
		case t.typ == "Patient" && patientRef == nil:
			patientRef = p.Actor
		case (t.typ == "Practitioner" || t.typ == "PractitionerRole") && clinicianRef == nil:
			clinicianRef = p.Actor
		case t.typ == "Location" && siteRef == nil:
			siteRef = p.Actor
		}
	}
	patientID, err := r.patient(patientRef)
	if err != nil {
		return nil, err
	}
	start, err := needTime(a.Start, "Appointment.start")
	if err != nil {
		return nil, err
	}
	duration := a.MinutesDuration
	if end, ok := parseTime(a.End); duration <= 0 && ok && end.After(start) {
		duration = int(math.Ceil(end.Sub(start).Minutes()))
	}
	if duration <= 0 {
		duration = defaultDuration
	}
	title := oneLine(firstConceptText(a.ServiceType))
	if title == "" {
		title = oneLine(kind.text())
	}
	if title == "" {
		title = oneLine(a.Description)
	}
	if title == "" {
		title = "Appointment"
	}
	clinician, err := r.name(clinicianRef)
	if err != nil {
		return nil, err
	}
	site, err := r.name(siteRef)
	if err != nil {
		return nil, err
	}
	return saveAppointment(r, it, appointmentFields{
		Patient: patientID, StartsAt: start, Duration: duration, Status: status, Title: title,
		Specialty: nonBlank(oneLine(firstConceptText(a.Specialty))), Clinician: optionalLine(clinician),
		Site: optionalLine(site), Instructions: nonBlank(a.PatientInstruction),
		Assigned: assigned(it, slices.Concat(a.ServiceType, a.Specialty, a.ReasonCode)...),
	}, true)
}

// appointmentFields is an appointment on its way to the diary, from an
// Appointment or from an ambulatory Encounter.
type appointmentFields struct {
	Patient                                  pulid.ID
	StartsAt                                 time.Time
	Duration                                 int
	Status                                   appointment.Status
	Title                                    string
	Specialty, Clinician, Site, Instructions *string
	Assigned                                 *category.Category
}

// saveAppointment creates or updates the appointment it became, by source.
// With tell, the patient and their carers hear of a booking, a change or a
// cancellation of an appointment still to come; an appointment already
// past is news to nobody.
func saveAppointment(r *run, it *item, f appointmentFields, tell bool) (*stored, error) {
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	start := dbTime(f.StartsAt)
	old, err := r.tx.Appointment.Query().Where(appointment.SourceOrganisationID(r.org.ID),
		appointment.ExternalSystem(system), appointment.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		ap, err := r.tx.Appointment.Create().
			SetPatientID(f.Patient).SetSourceOrganisationID(r.org.ID).
			SetExternalSystem(system).SetExternalValue(value).
			SetNillableAssignedCategory(f.Assigned).
			SetStartsAt(start).SetDurationMinutes(f.Duration).SetStatus(f.Status).SetTitle(f.Title).
			SetNillableSpecialty(f.Specialty).SetNillableClinician(f.Clinician).SetNillableSite(f.Site).
			SetNillableInstructions(f.Instructions).
			Save(r.ctx)
		if err != nil {
			return nil, err
		}
		if err := r.linked(f.Patient); err != nil {
			return nil, err
		}
		if tell && ap.Status == appointment.StatusBOOKED && ap.StartsAt.After(r.now) {
			if err := tellAppointment(r, ap, notification.KindAPPOINTMENT_BOOKED); err != nil {
				return nil, err
			}
		}
		return &stored{Type: it.head.ResourceType, ID: ap.ID, change: created}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := samePatient(old.PatientID, f.Patient); err != nil {
		return nil, err
	}
	res := &stored{Type: it.head.ResourceType, ID: old.ID, change: unchanged}
	moved := !old.StartsAt.Equal(start) || old.DurationMinutes != f.Duration || old.Title != f.Title ||
		!equalPtr(old.Specialty, f.Specialty) || !equalPtr(old.Clinician, f.Clinician) ||
		!equalPtr(old.Site, f.Site) || !equalPtr(old.Instructions, f.Instructions)
	if !moved && old.Status == f.Status && equalPtr(old.AssignedCategory, f.Assigned) {
		return res, r.linked(f.Patient)
	}
	up := old.Update().SetStartsAt(start).SetDurationMinutes(f.Duration).SetStatus(f.Status).SetTitle(f.Title)
	setOrClear(up.SetAssignedCategory, up.ClearAssignedCategory, f.Assigned)
	setOrClear(up.SetSpecialty, up.ClearSpecialty, f.Specialty)
	setOrClear(up.SetClinician, up.ClearClinician, f.Clinician)
	setOrClear(up.SetSite, up.ClearSite, f.Site)
	setOrClear(up.SetInstructions, up.ClearInstructions, f.Instructions)
	ap, err := up.Save(r.ctx)
	if err != nil {
		return nil, err
	}
	res.change = updated
	if ap.Category != old.Category {
		if err := relabelNotes(r, ap.ID, ap.Category); err != nil {
			return nil, err
		}
		if err := r.tx.AppointmentChangeRequest.Update().Where(appointmentchangerequest.AppointmentID(ap.ID)).
			SetCategory(ap.Category).Exec(r.ctx); err != nil {
			return nil, err
		}
	}
	if err := r.linked(f.Patient); err != nil {
		return nil, err
	}
	if !tell || !ap.StartsAt.After(r.now) && !old.StartsAt.After(r.now) {
		return res, nil
	}
	switch {
	case ap.Status == appointment.StatusCANCELLED && old.Status != appointment.StatusCANCELLED:
		return res, tellAppointment(r, ap, notification.KindAPPOINTMENT_CANCELLED)
	case ap.Status == appointment.StatusBOOKED && (moved || old.Status != appointment.StatusBOOKED):
		return res, tellAppointment(r, ap, notification.KindAPPOINTMENT_CHANGED)
	}
	return res, nil
}

// tellAppointment tells whoever may see the appointment, under its
// effective category as saved.
func tellAppointment(r *run, ap *ent.Appointment, kind notification.Kind) error {
	n := notify.Note{Kind: kind, Patient: ap.PatientID, Category: ap.Category, Subject: &ap.ID}
	return notify.Record(r.ctx, r.tx, n, r.now)
}

// removeAppointment takes out the appointment an entered-in-error item
// became, with the patient's change requests and the notifications about
// it; one never stored is skipped.
func removeAppointment(r *run, it *item) (*stored, error) {
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	ap, err := r.tx.Appointment.Query().Where(appointment.SourceOrganisationID(r.org.ID),
		appointment.ExternalSystem(system), appointment.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		return nil, errNeverStored
	}
	if err != nil {
		return nil, err
	}
	if err := dropAppointment(r, ap.ID); err != nil {
		return nil, err
	}
	return &stored{Type: it.head.ResourceType, ID: ap.ID, change: deleted}, nil
}

// dropAppointment deletes an appointment and what hangs on it.
func dropAppointment(r *run, id pulid.ID) error {
	if _, err := r.tx.AppointmentChangeRequest.Delete().Where(appointmentchangerequest.AppointmentID(id)).Exec(r.ctx); err != nil {
		return err
	}
	if err := forgetNotes(r, id); err != nil {
		return err
	}
	return r.tx.Appointment.DeleteOneID(id).Exec(r.ctx)
}

// firstConceptText is the text of the first concept that has one.
func firstConceptText(ccs []CodeableConcept) string {
	for _, cc := range ccs {
		if t := strings.TrimSpace(cc.text()); t != "" {
			return t
		}
	}
	return ""
}
