package fhir

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/appointmentchangerequest"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
)

// clinicAppointment is an inline Appointment for Patient/p1, a week after
// the harness's clock.
func clinicAppointment() map[string]any {
	return map[string]any{
		"resourceType":       "Appointment",
		"id":                 "ap-1",
		"status":             "booked",
		"serviceType":        []any{recCC(snomed, "310131000000100", "Dermatology clinic")},
		"specialty":          []any{recCC(snomed, "394582007", "Dermatology")},
		"start":              "2024-06-08T09:30:00+01:00",
		"end":                "2024-06-08T10:00:00+01:00",
		"patientInstruction": "Bring your medicines",
		"participant": []any{
			map[string]any{"actor": map[string]any{"reference": "Patient/p1"}},
			map[string]any{"actor": map[string]any{"reference": "Practitioner/d1", "display": "Dr Lee"}},
			map[string]any{"actor": map[string]any{"reference": "Location/l1", "display": "Skin Unit, Block B"}},
		},
	}
}

var psyLabel = map[string]any{"security": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}}}

func TestAppointmentMapsOntoTheDiary(t *testing.T) {
	base := clinicAppointment()
	tests := []struct {
		name   string
		res    map[string]any
		status string
		say    string
		check  func(t *testing.T, a *ent.Appointment)
	}{
		{"a booked appointment keeps its time, length, title, specialty, clinician, site and instructions", base, "201", "",
			func(t *testing.T, a *ent.Appointment) {
				if !a.StartsAt.Equal(time.Date(2024, 6, 8, 8, 30, 0, 0, time.UTC)) || a.DurationMinutes != 30 ||
					a.Status != appointment.StatusBOOKED || a.Title != "Dermatology clinic" || recDeref(a.Specialty) != "Dermatology" ||
					recDeref(a.Clinician) != "Dr Lee" || recDeref(a.Site) != "Skin Unit, Block B" ||
					recDeref(a.Instructions) != "Bring your medicines" || a.Category != category.General || a.AssignedCategory != nil {
					t.Errorf("appointment = %+v", a)
				}
			}},
		{"minutesDuration wins over the end, and the type titles an appointment without a service",
			recWith(base, "minutesDuration", 45, "serviceType", nil, "appointmentType", recCC("http://terminology.hl7.org/CodeSystem/v2-0276", "FOLLOWUP", "Follow-up")), "201", "",
			func(t *testing.T, a *ent.Appointment) {
				if a.DurationMinutes != 45 || a.Title != "Follow-up" {
					t.Errorf("appointment = %+v", a)
				}
			}},
		{"an appointment that says nothing of itself is an Appointment of 15 minutes",
			recWith(base, "serviceType", nil, "end", nil), "201", "",
			func(t *testing.T, a *ent.Appointment) {
				if a.DurationMinutes != 15 || a.Title != "Appointment" {
					t.Errorf("appointment = %+v", a)
				}
			}},
		{"a fulfilled appointment was ATTENDED", recWith(base, "status", "fulfilled"), "201", "",
			func(t *testing.T, a *ent.Appointment) {
				if a.Status != appointment.StatusATTENDED {
					t.Errorf("status %s", a.Status)
				}
			}},
		{"a no-show DID_NOT_ATTEND", recWith(base, "status", "noshow"), "201", "",
			func(t *testing.T, a *ent.Appointment) {
				if a.Status != appointment.StatusDID_NOT_ATTEND {
					t.Errorf("status %s", a.Status)
				}
			}},
		{"a psychiatry label is assigned and effective", recWith(base, "meta", psyLabel), "201", "",
			func(t *testing.T, a *ent.Appointment) {
				if a.Category != category.MentalHealth || recDeref(a.AssignedCategory) != category.MentalHealth {
					t.Errorf("labelled %s (assigned %v)", a.Category, a.AssignedCategory)
				}
			}},
		{"an appointment without a start is refused", recWith(base, "start", nil), "422", "Appointment.start", nil},
		{"an appointment without a patient participant is refused",
			recWith(base, "participant", []any{map[string]any{"actor": map[string]any{"reference": "Practitioner/d1"}}}), "422", "names no patient", nil},
		{"a waiting-list entry is not in the diary", recWith(base, "status", "waitlist"), "200", "status waitlist", nil},
		{"an appointment entered in error that was never stored is skipped", recWith(base, "status", "entered-in-error"), "200", "never stored", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			h.patient("p1")
			h.expect(h.send(tc.res), tc.status, tc.say)
			all := h.client.Appointment.Query().AllX(h.ctx)
			if tc.check == nil {
				if len(all) != 0 {
					t.Fatalf("%d appointments stored, want none", len(all))
				}
				return
			}
			if len(all) != 1 {
				t.Fatalf("%d appointments stored, want 1", len(all))
			}
			tc.check(t, all[0])
		})
	}
}

func TestAppointmentOfAnExcludedServiceIsSkipped(t *testing.T) {
	h := newRecordsHarness(t, "Dermatology")
	h.patient("p1")
	h.expect(h.send(clinicAppointment()), "200", "keeps Dermatology data out")
	if n := h.client.Appointment.Query().CountX(h.ctx); n != 0 {
		t.Fatalf("%d appointments stored, want none", n)
	}
}

// TestAppointmentNewsFollowsTheBooking sends one appointment through its
// life and checks who is told what at each step.
func TestAppointmentNewsFollowsTheBooking(t *testing.T) {
	base := clinicAppointment()
	type told struct {
		kind notification.Kind
		cat  category.Category
		n    int // recipients
	}
	tests := []struct {
		name string
		// steps are sent in turn; the news of the last is checked.
		steps []map[string]any
		want  []told
	}{
		{"a new booking tells the patient and their carer", []map[string]any{base},
			[]told{{notification.KindAPPOINTMENT_BOOKED, category.General, 2}}},
		{"the same booking again tells nobody", []map[string]any{base, base}, nil},
		{"a new time tells of a change", []map[string]any{base, recWith(base, "start", "2024-06-09T09:30:00+01:00", "end", "2024-06-09T10:00:00+01:00")},
			[]told{{notification.KindAPPOINTMENT_CHANGED, category.General, 2}}},
		{"a new place tells of a change", []map[string]any{base, recWith(base, "participant", []any{
			map[string]any{"actor": map[string]any{"reference": "Patient/p1"}},
			map[string]any{"actor": map[string]any{"reference": "Location/l2", "display": "Main Outpatients"}},
		})}, []told{{notification.KindAPPOINTMENT_CHANGED, category.General, 2}}},
		{"a cancellation tells of the cancellation", []map[string]any{base, recWith(base, "status", "cancelled")},
			[]told{{notification.KindAPPOINTMENT_CANCELLED, category.General, 2}}},
		{"the cancellation again tells nobody", []map[string]any{base, recWith(base, "status", "cancelled"), recWith(base, "status", "cancelled")}, nil},
		{"an appointment already past tells nobody", []map[string]any{recWith(base, "start", "2024-05-01T09:30:00+01:00", "end", nil)}, nil},
		{"attendance recorded afterwards tells nobody", []map[string]any{recWith(base, "start", "2024-05-01T09:30:00+01:00"),
			recWith(base, "start", "2024-05-01T09:30:00+01:00", "status", "fulfilled")}, nil},
		{"a psychiatry booking tells the patient but not a carer without MENTAL_HEALTH", []map[string]any{recWith(base, "meta", psyLabel)},
			[]told{{notification.KindAPPOINTMENT_BOOKED, category.MentalHealth, 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			p := h.patient("p1")
			h.account(p)
			h.carer(p, false)
			seen := 0
			for i, step := range tc.steps {
				seen = len(h.news())
				h.expect(h.send(step), "20", "")
				if i == 0 && h.client.Appointment.Query().CountX(h.ctx) != 1 {
					t.Fatal("the appointment was not stored")
				}
			}
			if n := h.client.Appointment.Query().CountX(h.ctx); n != 1 {
				t.Fatalf("%d appointments, want 1", n)
			}
			ap := h.client.Appointment.Query().OnlyX(h.ctx)
			var got []told
			for _, n := range h.news()[seen:] {
				if n.SubjectID == nil || *n.SubjectID != ap.ID {
					t.Errorf("a notification is about %v, not the appointment", n.SubjectID)
				}
				if i := slices.IndexFunc(got, func(w told) bool { return w.kind == n.Kind && w.cat == n.Category }); i >= 0 {
					got[i].n++
				} else {
					got = append(got, told{n.Kind, n.Category, 1})
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("told %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAppointmentRelabelledTakesItsNewsAlong(t *testing.T) {
	h := newRecordsHarness(t)
	p := h.patient("p1")
	h.account(p)
	base := clinicAppointment()
	h.expect(h.send(base), "201", "")
	ap := h.client.Appointment.Query().OnlyX(h.ctx)
	h.client.AppointmentChangeRequest.Create().SetPatientID(p).SetCategory(ap.Category).SetAppointmentID(ap.ID).
		SetKind(appointmentchangerequest.KindCANCEL).ExecX(h.ctx)

	h.expect(h.send(recWith(base, "meta", psyLabel)), "200", "")
	if ap = h.client.Appointment.Query().OnlyX(h.ctx); ap.Category != category.MentalHealth {
		t.Fatalf("appointment labelled %s, want MENTAL_HEALTH", ap.Category)
	}
	for _, n := range h.news() {
		if n.Category != category.MentalHealth {
			t.Errorf("%s notification still labelled %s", n.Kind, n.Category)
		}
	}
	if cr := h.client.AppointmentChangeRequest.Query().OnlyX(h.ctx); cr.Category != category.MentalHealth {
		t.Errorf("change request still labelled %s", cr.Category)
	}
}

func TestAppointmentEnteredInErrorIsRemovedWithWhatHangsOnIt(t *testing.T) {
	h := newRecordsHarness(t)
	p := h.patient("p1")
	h.account(p)
	base := clinicAppointment()
	h.expect(h.send(base), "201", "")
	ap := h.client.Appointment.Query().OnlyX(h.ctx)
	h.client.AppointmentChangeRequest.Create().SetPatientID(p).SetCategory(ap.Category).SetAppointmentID(ap.ID).
		SetKind(appointmentchangerequest.KindRESCHEDULE).ExecX(h.ctx)

	h.expect(h.send(recWith(base, "status", "entered-in-error")), "200", "entered in error")
	if n := h.client.Appointment.Query().CountX(h.ctx); n != 0 {
		t.Errorf("%d appointments left", n)
	}
	if n := h.client.AppointmentChangeRequest.Query().CountX(h.ctx); n != 0 {
		t.Errorf("%d change requests left", n)
	}
	if ns := h.news(); len(ns) != 0 {
		t.Errorf("%d notifications about it left", len(ns))
	}
}

func TestAppointmentSample(t *testing.T) {
	raw := recordsSample(t, "hl7-r4-examples/appointment-example.json")
	h := newRecordsHarness(t)
	p := h.patient("example")
	h.account(p)
	h.expect(h.send(raw), "201", "")
	a := h.client.Appointment.Query().OnlyX(h.ctx)
	if a.PatientID != p || !a.StartsAt.Equal(time.Date(2013, 12, 10, 9, 0, 0, 0, time.UTC)) || a.DurationMinutes != 120 ||
		a.Status != appointment.StatusBOOKED || a.Title != "General Discussion" || recDeref(a.Specialty) != "General practice" ||
		recDeref(a.Clinician) != "Dr Adam Careful" || recDeref(a.Site) != "South Wing, second floor" || a.Category != category.General {
		t.Errorf("appointment = %+v", a)
	}
	if ns := h.news(); len(ns) != 0 {
		t.Errorf("told %d of an appointment in 2013", len(ns))
	}
	h.expect(h.send(raw), "200", "")
	if b := h.client.Appointment.Query().OnlyX(h.ctx); !b.UpdatedAt.Equal(a.UpdatedAt) {
		t.Error("sending the sample again rewrote it")
	}
}
