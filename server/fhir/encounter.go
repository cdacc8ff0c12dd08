package fhir

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/schema/pulid"
)

func init() { mappers["Encounter"] = storeEncounter }

// encounterResource is the part of a FHIR Encounter the portal keeps.
type encounterResource struct {
	Status        string `json:"status"`
	StatusHistory []struct {
		Status string `json:"status"`
		Period Period `json:"period"`
	} `json:"statusHistory"`
	Class       Coding            `json:"class"`
	Type        []CodeableConcept `json:"type"`
	ServiceType *CodeableConcept  `json:"serviceType"`
	Subject     *Reference        `json:"subject"`
	Participant []struct {
		Individual *Reference `json:"individual"`
	} `json:"participant"`
	Appointment     []Reference       `json:"appointment"`
	Period          Period            `json:"period"`
	ReasonCode      []CodeableConcept `json:"reasonCode"`
	ServiceProvider *Reference        `json:"serviceProvider"`
	Location        []struct {
		Location *Reference `json:"location"`
	} `json:"location"`
}

// encounterKind is what the portal makes of an encounter's class.
type encounterKind int

const (
	notKept encounterKind = iota
	emergency
	inpatient
	ambulatory
)

// encounterClass reads Encounter.class: v3 ActCode, and the encounter
// types older Synthea exports wrote as the code with no system. Home,
// virtual, field and pre-admission encounters are not kept.
func encounterClass(c Coding) encounterKind {
	switch c.System {
	case "http://terminology.hl7.org/CodeSystem/v3-ActCode", "http://hl7.org/fhir/v3/ActCode", "":
		switch strings.ToUpper(strings.TrimSpace(c.Code)) {
		case "EMER":
			return emergency
		// IMP's specialisations, a short stay and an observation stay
		// are all a hospital bed.
		case "IMP", "ACUTE", "NONAC", "SS", "OBSENC":
			return inpatient
		case "AMB":
			return ambulatory
		}
	}
	switch strings.ToLower(strings.TrimSpace(c.Code)) {
	case "emergency":
		return emergency
	case "inpatient":
		return inpatient
	case "ambulatory", "wellness", "outpatient", "urgentcare":
		return ambulatory
	}
	return notKept
}

// storeEncounter keeps an emergency attendance or an inpatient stay as an
// Encounter, and an ambulatory encounter as a past appointment in the
// diary. Neither tells anyone: an ED attendance is shown as it happens,
// and an outpatient visit is already over.
func storeEncounter(r *run, it *item) (*stored, error) {
	var e encounterResource
	if err := json.Unmarshal(it.raw, &e); err != nil {
		return nil, refuse("the Encounter is not valid FHIR JSON")
	}
	if e.Status == "entered-in-error" {
		return removeEncounter(r, it)
	}
	kind := encounterClass(e.Class)
	if kind == notKept {
		return nil, skip("an encounter of class %s is not kept", safeName(e.Class.Code))
	}
	var service CodeableConcept
	if e.ServiceType != nil {
		service = *e.ServiceType
	}
	if err := r.excluded(slices.Concat([]CodeableConcept{service}, e.Type)...); err != nil {
		return nil, err
	}
	patientID, err := r.patient(e.Subject)
	if err != nil {
		return nil, err
	}
	start, err := needTime(e.Period.Start, "Encounter.period.start")
	if err != nil {
		return nil, err
	}
	end, ended := parseTime(e.Period.End)
	siteRef := e.ServiceProvider
	if siteRef == nil && len(e.Location) > 0 {
		siteRef = e.Location[0].Location
	}
	site, err := r.name(siteRef)
	if err != nil {
		return nil, err
	}
	labelled := assigned(it, slices.Concat(e.Type, []CodeableConcept{service}, e.ReasonCode)...)
	specialty := nonBlank(oneLine(service.text()))

	if kind == ambulatory {
		var status appointment.Status
		switch e.Status {
		case "planned":
			return nil, skip("a planned encounter is booked through an Appointment")
		case "cancelled":
			status = appointment.StatusCANCELLED
		default:
			status = appointment.StatusATTENDED
		}
		return pastAppointment(r, it, e, appointmentFields{
			Patient: patientID, StartsAt: start, Status: status, Specialty: specialty,
			Site: optionalLine(site), Assigned: labelled,
		}, end, ended)
	}

	var status encounter.Status
	switch e.Status {
	case "planned", "arrived", "triaged":
		status = encounter.StatusARRIVED
	case "in-progress", "onleave":
		status = encounter.StatusADMITTED
		if kind == emergency {
			status = encounter.StatusSEEN
		}
	case "finished":
		status = encounter.StatusDISCHARGED
	case "unknown":
		status = encounter.StatusARRIVED
		if ended {
			status = encounter.StatusDISCHARGED
		}
	case "cancelled":
		// It did not happen: take out what an earlier send stored.
		res, err := removeEncounter(r, it)
		if err == errNeverStored {
			return nil, skip("a cancelled encounter is not kept")
		}
		return res, err
	default:
		return nil, skip("an encounter with status %s is not kept", safeName(e.Status))
	}
	var seenAt *time.Time
	if kind == emergency {
		for _, h := range e.StatusHistory {
			if t, ok := parseTime(h.Period.Start); ok && h.Status == "in-progress" {
				t = dbTime(t)
				seenAt = &t
				break
			}
		}
	}
	var endedAt *time.Time
	if ended {
		t := dbTime(end)
		endedAt = &t
	}
	var complaints []string
	for _, cc := range e.ReasonCode {
		if t := strings.TrimSpace(cc.text()); t != "" && !slices.Contains(complaints, t) {
			complaints = append(complaints, t)
		}
	}
	complaint := nonBlank(strings.Join(complaints, "; "))
	ek := encounter.KindINPATIENT
	if kind == emergency {
		ek = encounter.KindEMERGENCY
	}
	site = optionalLine(site)
	start = dbTime(start)

	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	// An encounter first sent as ambulatory was a diary entry.
	if _, err := dropAppointmentFrom(r, system, value); err != nil {
		return nil, err
	}
	old, err := r.tx.Encounter.Query().Where(encounter.SourceOrganisationID(r.org.ID),
		encounter.ExternalSystem(system), encounter.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		en, err := r.tx.Encounter.Create().
			SetPatientID(patientID).SetSourceOrganisationID(r.org.ID).
			SetExternalSystem(system).SetExternalValue(value).
			SetNillableAssignedCategory(labelled).
			SetKind(ek).SetStatus(status).SetStartedAt(start).SetNillableSeenAt(seenAt).SetNillableEndedAt(endedAt).
			SetNillableSite(site).SetNillableSpecialty(specialty).SetNillablePresentingComplaint(complaint).
			Save(r.ctx)
		if err != nil {
			return nil, err
		}
		if err := r.linked(patientID); err != nil {
			return nil, err
		}
		return &stored{Type: it.head.ResourceType, ID: en.ID, change: created}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := samePatient(old.PatientID, patientID); err != nil {
		return nil, err
	}
	res := &stored{Type: it.head.ResourceType, ID: old.ID, change: unchanged}
	if old.Kind == ek && old.Status == status && old.StartedAt.Equal(start) && equalTime(old.SeenAt, seenAt) &&
		equalTime(old.EndedAt, endedAt) && equalPtr(old.Site, site) && equalPtr(old.Specialty, specialty) &&
		equalPtr(old.PresentingComplaint, complaint) && equalPtr(old.AssignedCategory, labelled) {
		return res, r.linked(patientID)
	}
	up := old.Update().SetKind(ek).SetStatus(status).SetStartedAt(start)
	setOrClear(up.SetAssignedCategory, up.ClearAssignedCategory, labelled)
	setOrClear(up.SetSeenAt, up.ClearSeenAt, seenAt)
	setOrClear(up.SetEndedAt, up.ClearEndedAt, endedAt)
	setOrClear(up.SetSite, up.ClearSite, site)
	setOrClear(up.SetSpecialty, up.ClearSpecialty, specialty)
	setOrClear(up.SetPresentingComplaint, up.ClearPresentingComplaint, complaint)
	en, err := up.Save(r.ctx)
	if err != nil {
		return nil, err
	}
	if en.Category != old.Category {
		if err := relabelNotes(r, en.ID, en.Category); err != nil {
			return nil, err
		}
	}
	res.change = updated
	return res, r.linked(patientID)
}

// pastAppointment keeps an ambulatory encounter in the diary. When the
// appointment it was booked as is in the portal, that appointment is marked
// attended rather than shown twice.
func pastAppointment(r *run, it *item, e encounterResource, f appointmentFields, end time.Time, ended bool) (*stored, error) {
	const note = "an ambulatory encounter is kept as a past appointment"
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	// An encounter first sent as an emergency or a stay was an Encounter.
	if _, err := dropEncounterFrom(r, system, value); err != nil {
		return nil, err
	}
	mine, err := r.tx.Appointment.Query().Where(appointment.SourceOrganisationID(r.org.ID),
		appointment.ExternalSystem(system), appointment.ExternalValue(value)).Exist(r.ctx)
	if err != nil {
		return nil, err
	}
	if !mine {
		booked, err := r.bookedAppointment(e.Appointment, f.Patient)
		if err != nil {
			return nil, err
		}
		if booked != nil {
			res := &stored{Type: it.head.ResourceType, ID: booked.ID, change: unchanged,
				note: "recorded on the appointment it was booked as"}
			if booked.Status != f.Status {
				if err := booked.Update().SetStatus(f.Status).Exec(r.ctx); err != nil {
					return nil, err
				}
				res.change = updated
			}
			return res, r.linked(f.Patient)
		}
	}
	f.Duration = defaultDuration
	if ended && end.After(f.StartsAt) {
		f.Duration = int(math.Ceil(end.Sub(f.StartsAt).Minutes()))
	}
	var service CodeableConcept
	if e.ServiceType != nil {
		service = *e.ServiceType
	}
	f.Title = oneLine(firstConceptText(slices.Concat(e.Type, []CodeableConcept{service})))
	if f.Title == "" {
		f.Title = "Appointment"
	}
	for _, p := range e.Participant {
		name, err := r.name(p.Individual)
		if err != nil {
			return nil, err
		}
		if f.Clinician = optionalLine(name); f.Clinician != nil {
			break
		}
	}
	res, err := saveAppointment(r, it, f, false)
	if res != nil {
		res.note = note
	}
	return res, err
}

// bookedAppointment is the organisation's appointment for the patient that
// Encounter.appointment names, if the portal has it.
func (r *run) bookedAppointment(refs []Reference, patientID pulid.ID) (*ent.Appointment, error) {
	for _, ref := range refs {
		t, ok := r.parseReference(ref, "Appointment")
		if !ok || t.typ != "Appointment" {
			continue
		}
		q := r.tx.Appointment.Query().Where(appointment.SourceOrganisationID(r.org.ID), appointment.PatientID(patientID))
		switch {
		case t.item != nil:
			id, err := r.resolveItem(t.item)
			if err != nil {
				return nil, err
			}
			if id == "" {
				continue
			}
			q.Where(appointment.ID(id))
		case t.id != "":
			q.Where(appointment.ExternalSystem("fhir:Appointment"), appointment.ExternalValue(t.id))
		default:
			system, value, _ := strings.Cut(t.identifier, "|")
			q.Where(appointment.ExternalSystem(system), appointment.ExternalValue(value))
		}
		a, err := q.First(r.ctx)
		if ent.IsNotFound(err) {
			continue
		}
		return a, err
	}
	return nil, nil
}

// removeEncounter takes out what an entered-in-error or cancelled
// encounter became, an Encounter or a diary entry; one never stored is
// skipped.
func removeEncounter(r *run, it *item) (*stored, error) {
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	id, err := dropEncounterFrom(r, system, value)
	if err != nil {
		return nil, err
	}
	if id == "" {
		if id, err = dropAppointmentFrom(r, system, value); err != nil {
			return nil, err
		}
	}
	if id == "" {
		return nil, errNeverStored
	}
	return &stored{Type: it.head.ResourceType, ID: id, change: deleted}, nil
}

// dropEncounterFrom deletes the organisation's encounter from source, if
// there is one, and returns its ID.
func dropEncounterFrom(r *run, system, value string) (pulid.ID, error) {
	en, err := r.tx.Encounter.Query().Where(encounter.SourceOrganisationID(r.org.ID),
		encounter.ExternalSystem(system), encounter.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if err := forgetNotes(r, en.ID); err != nil {
		return "", err
	}
	return en.ID, r.tx.Encounter.DeleteOneID(en.ID).Exec(r.ctx)
}

// dropAppointmentFrom deletes the organisation's appointment from source,
// if there is one, and returns its ID.
func dropAppointmentFrom(r *run, system, value string) (pulid.ID, error) {
	ap, err := r.tx.Appointment.Query().Where(appointment.SourceOrganisationID(r.org.ID),
		appointment.ExternalSystem(system), appointment.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ap.ID, dropAppointment(r, ap.ID)
}

// equalTime compares two optional times.
func equalTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}
