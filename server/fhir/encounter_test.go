package fhir

import (
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/schema/category"
)

const actCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

func encounterClassCoding(code string) map[string]any {
	return map[string]any{"system": actCodeSystem, "code": code}
}

// edAttendance is an inline emergency Encounter for Patient/p1, seen and
// still in the department.
func edAttendance() map[string]any {
	return map[string]any{
		"resourceType": "Encounter",
		"id":           "en-1",
		"status":       "in-progress",
		"statusHistory": []any{
			map[string]any{"status": "arrived", "period": map[string]any{"start": "2024-05-31T22:10:00+01:00", "end": "2024-05-31T22:40:00+01:00"}},
			map[string]any{"status": "in-progress", "period": map[string]any{"start": "2024-05-31T22:40:00+01:00"}},
		},
		"class":           encounterClassCoding("EMER"),
		"type":            []any{recCC(snomed, "4525004", "Emergency department patient visit")},
		"serviceType":     recCC(snomed, "310000008", "Accident and emergency service"),
		"subject":         map[string]any{"reference": "Patient/p1"},
		"period":          map[string]any{"start": "2024-05-31T22:10:00+01:00"},
		"reasonCode":      []any{recCC(snomed, "29857009", "Chest pain")},
		"serviceProvider": map[string]any{"reference": "Organization/o1", "display": "City Hospital"},
	}
}

func TestEncounterMapsByClass(t *testing.T) {
	base := edAttendance()
	arrived := time.Date(2024, 5, 31, 21, 10, 0, 0, time.UTC)
	tests := []struct {
		name      string
		res       map[string]any
		status    string
		say       string
		encounter func(t *testing.T, e *ent.Encounter)
		diary     func(t *testing.T, a *ent.Appointment)
	}{
		{"an emergency attendance in progress has been SEEN, when the history says", base, "201", "",
			func(t *testing.T, e *ent.Encounter) {
				if e.Kind != encounter.KindEMERGENCY || e.Status != encounter.StatusSEEN || !e.StartedAt.Equal(arrived) ||
					e.SeenAt == nil || !e.SeenAt.Equal(arrived.Add(30*time.Minute)) || e.EndedAt != nil ||
					recDeref(e.Site) != "City Hospital" || recDeref(e.Specialty) != "Accident and emergency service" ||
					recDeref(e.PresentingComplaint) != "Chest pain" || e.Category != category.General {
					t.Errorf("encounter = %+v", e)
				}
			}, nil},
		{"a triaged emergency attendance has ARRIVED", recWith(base, "status", "triaged", "statusHistory", nil), "201", "",
			func(t *testing.T, e *ent.Encounter) {
				if e.Status != encounter.StatusARRIVED || e.SeenAt != nil {
					t.Errorf("encounter = %+v", e)
				}
			}, nil},
		{"a psychiatric ED attendance is GENERAL until seen", recWith(base, "status", "arrived", "statusHistory", nil, "meta", psyLabel), "201", "",
			func(t *testing.T, e *ent.Encounter) {
				if e.Category != category.General || recDeref(e.AssignedCategory) != category.MentalHealth {
					t.Errorf("labelled %s (assigned %v), want GENERAL until seen", e.Category, e.AssignedCategory)
				}
			}, nil},
		{"a psychiatric ED attendance, once seen, takes its label", recWith(base, "meta", psyLabel), "201", "",
			func(t *testing.T, e *ent.Encounter) {
				if e.Category != category.MentalHealth {
					t.Errorf("labelled %s, want MENTAL_HEALTH once seen", e.Category)
				}
			}, nil},
		{"an inpatient stay in progress is ADMITTED, at the location when no provider is named",
			recWith(base, "class", encounterClassCoding("IMP"), "serviceProvider", nil,
				"location", []any{map[string]any{"location": map[string]any{"display": "Ward 7"}}}), "201", "",
			func(t *testing.T, e *ent.Encounter) {
				if e.Kind != encounter.KindINPATIENT || e.Status != encounter.StatusADMITTED || e.SeenAt != nil || recDeref(e.Site) != "Ward 7" {
					t.Errorf("encounter = %+v", e)
				}
			}, nil},
		{"an acute stay that has finished is DISCHARGED with its end",
			recWith(base, "class", encounterClassCoding("ACUTE"), "status", "finished",
				"period", map[string]any{"start": "2024-05-31T22:10:00+01:00", "end": "2024-06-01T09:00:00+01:00"}), "201", "",
			func(t *testing.T, e *ent.Encounter) {
				if e.Kind != encounter.KindINPATIENT || e.Status != encounter.StatusDISCHARGED || e.EndedAt == nil ||
					!e.EndedAt.Equal(time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)) {
					t.Errorf("encounter = %+v", e)
				}
			}, nil},
		{"an ambulatory encounter is a past appointment, ATTENDED",
			recWith(base, "class", encounterClassCoding("AMB"), "status", "finished", "type", []any{recCC(snomed, "185349003", "Encounter for check up")},
				"period", map[string]any{"start": "2024-05-20T10:00:00+01:00", "end": "2024-05-20T10:20:00+01:00"},
				"participant", []any{map[string]any{"individual": map[string]any{"reference": "Practitioner/d1", "display": "Dr Lee"}}}), "201", "past appointment",
			nil, func(t *testing.T, a *ent.Appointment) {
				if a.Status != appointment.StatusATTENDED || a.Title != "Encounter for check up" || a.DurationMinutes != 20 ||
					!a.StartsAt.Equal(time.Date(2024, 5, 20, 9, 0, 0, 0, time.UTC)) || recDeref(a.Clinician) != "Dr Lee" ||
					recDeref(a.Site) != "City Hospital" || a.Category != category.General {
					t.Errorf("appointment = %+v", a)
				}
			}},
		{"an older Synthea wellness encounter is ambulatory too",
			recWith(base, "class", map[string]any{"code": "wellness"}, "status", "finished"), "201", "past appointment",
			nil, func(t *testing.T, a *ent.Appointment) {
				if a.Status != appointment.StatusATTENDED {
					t.Errorf("appointment = %+v", a)
				}
			}},
		{"a virtual encounter is not kept", recWith(base, "class", encounterClassCoding("VR")), "200", "class VR", nil, nil},
		{"a home visit is not kept", recWith(base, "class", encounterClassCoding("HH")), "200", "class HH", nil, nil},
		{"a planned ambulatory encounter is left to its Appointment", recWith(base, "class", encounterClassCoding("AMB"), "status", "planned"), "200", "Appointment", nil, nil},
		{"a cancelled attendance never stored is not kept", recWith(base, "status", "cancelled"), "200", "cancelled", nil, nil},
		{"an encounter without a start is refused", recWith(base, "period", map[string]any{}), "422", "Encounter.period.start", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			p := h.patient("p1")
			h.account(p)
			h.expect(h.send(tc.res), tc.status, tc.say)
			encounters := h.client.Encounter.Query().AllX(h.ctx)
			diary := h.client.Appointment.Query().AllX(h.ctx)
			switch {
			case tc.encounter != nil:
				if len(encounters) != 1 || len(diary) != 0 {
					t.Fatalf("%d encounters and %d appointments, want one encounter", len(encounters), len(diary))
				}
				tc.encounter(t, encounters[0])
			case tc.diary != nil:
				if len(encounters) != 0 || len(diary) != 1 {
					t.Fatalf("%d encounters and %d appointments, want one appointment", len(encounters), len(diary))
				}
				tc.diary(t, diary[0])
			default:
				if len(encounters)+len(diary) != 0 {
					t.Fatalf("%d encounters and %d appointments stored, want none", len(encounters), len(diary))
				}
			}
			if ns := h.news(); len(ns) != 0 {
				t.Errorf("told %d: encounters are not news", len(ns))
			}
		})
	}
}

func TestEncounterSentAgain(t *testing.T) {
	base := edAttendance()
	tests := []struct {
		name       string
		again      map[string]any
		say        string
		encounters int
		diary      int
		moved      bool
		wantStatus encounter.Status
	}{
		{"the same attendance again changes nothing", base, "", 1, 0, false, encounter.StatusSEEN},
		{"a discharge updates the attendance", recWith(base, "status", "finished",
			"period", map[string]any{"start": "2024-05-31T22:10:00+01:00", "end": "2024-06-01T02:00:00+01:00"}), "", 1, 0, true, encounter.StatusDISCHARGED},
		{"an attendance entered in error is removed", recWith(base, "status", "entered-in-error"), "entered in error", 0, 0, false, ""},
		{"an attendance cancelled afterwards is removed", recWith(base, "status", "cancelled"), "entered in error", 0, 0, false, ""},
		{"an attendance whose class becomes ambulatory moves to the diary", recWith(base, "class", encounterClassCoding("AMB")), "", 0, 1, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			h.patient("p1")
			h.expect(h.send(base), "201", "")
			first := h.client.Encounter.Query().OnlyX(h.ctx)
			time.Sleep(2 * time.Millisecond)
			h.expect(h.send(tc.again), "20", tc.say)
			encounters := h.client.Encounter.Query().AllX(h.ctx)
			if len(encounters) != tc.encounters || h.client.Appointment.Query().CountX(h.ctx) != tc.diary {
				t.Fatalf("%d encounters and %d appointments, want %d and %d", len(encounters),
					h.client.Appointment.Query().CountX(h.ctx), tc.encounters, tc.diary)
			}
			if tc.encounters == 1 {
				e := encounters[0]
				if moved := !e.UpdatedAt.Equal(first.UpdatedAt); moved != tc.moved || e.Status != tc.wantStatus {
					t.Errorf("updated_at moved = %v, status %s; want %v, %s", moved, e.Status, tc.moved, tc.wantStatus)
				}
			}
		})
	}
}

func TestEncounterMarksTheAppointmentItWasBookedAs(t *testing.T) {
	h := newRecordsHarness(t)
	h.patient("p1")
	booking := recWith(clinicAppointment(), "start", "2024-05-20T10:00:00+01:00", "end", "2024-05-20T10:20:00+01:00")
	h.expect(h.send(booking), "201", "")
	visit := recWith(edAttendance(), "class", encounterClassCoding("AMB"), "status", "finished",
		"appointment", []any{map[string]any{"reference": "Appointment/ap-1"}})
	for i, want := range []string{"200", "200"} {
		h.expect(h.send(visit), want, "booked as")
		all := h.client.Appointment.Query().AllX(h.ctx)
		if len(all) != 1 || all[0].Status != appointment.StatusATTENDED || all[0].Title != "Dermatology clinic" {
			t.Fatalf("send %d: diary = %+v, want the booking, ATTENDED", i+1, all)
		}
	}
}

func TestEncounterSample(t *testing.T) {
	raw := recordsSample(t, "hl7-r4-examples/encounter-example-emerg.json")
	h := newRecordsHarness(t)
	p := h.patient("example")
	h.expect(h.send(raw), "201", "")
	e := h.client.Encounter.Query().OnlyX(h.ctx)
	// Class IMP, admitted through the emergency department.
	if e.PatientID != p || e.Kind != encounter.KindINPATIENT || e.Status != encounter.StatusADMITTED ||
		!e.StartedAt.Equal(time.Date(2017, 1, 31, 21, 15, 0, 0, time.UTC)) || e.EndedAt != nil ||
		recDeref(e.Site) != "Emergency Waiting Room" || e.Category != category.General {
		t.Errorf("encounter = %+v", e)
	}
	h.expect(h.send(raw), "200", "")
	if again := h.client.Encounter.Query().OnlyX(h.ctx); !again.UpdatedAt.Equal(e.UpdatedAt) {
		t.Error("sending the sample again rewrote it")
	}
}
