package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/appointmentchangerequest"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

const (
	apNodeFields      = `id createdAt updatedAt category startsAt durationMinutes status title specialty clinic site instructions sourceOrganisation { id }`
	createAppointment = `mutation($input: CreateAppointmentInput!) { createAppointment(input: $input) { ` + apNodeFields + ` } }`
	updateAppointment = `mutation($id: ID!, $input: UpdateAppointmentInput!) { updateAppointment(id: $id, input: $input) { ` + apNodeFields + ` } }`
	cancelAppointment = `mutation($id: ID!, $at: Time!) { cancelAppointment(id: $id, expectedUpdatedAt: $at) { ` + apNodeFields + ` } }`
	requestChange     = `mutation($input: RequestAppointmentChangeInput!) { requestAppointmentChange(input: $input) {
    id category kind reason status answer answeredAt appointment { id } } }`
	answerChange = `mutation($input: AnswerAppointmentChangeInput!) { answerAppointmentChange(input: $input) {
    id category kind reason status answer answeredAt appointment { id status } } }`
	diaryQuery = `query($id: ID!, $now: Time!) { patient(id: $id) {
    upcoming: appointments(first: 100, where: {startsAtGTE: $now}, orderBy: {field: STARTS_AT, direction: ASC}) {
      totalCount edges { node { id startsAt category } } }
    past: appointments(first: 100, where: {startsAtLT: $now}, orderBy: {field: STARTS_AT, direction: DESC}) {
      totalCount edges { node { id startsAt category } } } } }`
	apNodeQuery = `query($id: ID!) { node(id: $id) { ... on Appointment { id category status
    changeRequests { id kind reason status } } } }`
	enNodeFields   = `id updatedAt category kind status startedAt seenAt endedAt site ward specialty presentingComplaint summary`
	recordEncDoc   = `mutation($input: RecordEncounterInput!) { recordEncounter(input: $input) { ` + enNodeFields + ` } }`
	updateEncDoc   = `mutation($id: ID!, $input: UpdateEncounterInput!) { updateEncounter(id: $id, input: $input) { ` + enNodeFields + ` } }`
	encNodeQuery   = `query($id: ID!) { node(id: $id) { ... on Encounter { ` + enNodeFields + ` } } }`
	encountersList = `query($id: ID!) { patient(id: $id) { encounters(first: 100) { totalCount edges { node { id } } } } }`
)

// apNode is an appointment as the API answers it.
type apNode struct {
	ID, CreatedAt, UpdatedAt, Category, StartsAt, Status, Title string
	DurationMinutes                                             int
	Specialty, Clinic, Site, Instructions                       *string
	SourceOrganisation                                          *struct{ ID string }
}

// changeNode is a change request as the API answers it.
type changeNode struct {
	ID, Category, Kind, Status string
	Reason, Answer, AnsweredAt *string
	Appointment                struct{ ID, Status string }
}

// encNode is an encounter as the API answers it.
type encNode struct {
	ID, UpdatedAt, Category, Kind, Status, StartedAt            string
	SeenAt, EndedAt, Site, Ward, Specialty, PresentingComplaint *string
	Summary                                                     *string
}

// diaryWorld is the fixture with a second trust whose clinician has no tie
// to Alice.
type diaryWorld struct {
	*sharingWorld
	otherOrg pulid.ID
	// other is a clinician of otherOrg.
	other string
	now   time.Time
}

func newDiaryWorld(t *testing.T) *diaryWorld {
	t.Helper()
	w := &diaryWorld{sharingWorld: newSharingWorld(t)}
	w.otherOrg = w.organisation("RYY", "Other Hospitals NHS Trust", organisation.KindTRUST, false)
	_, w.other = w.staff("other.clinician@example.org", "Dr Other", w.otherOrg, membership.RoleCLINICIAN)
	// Microseconds, as MySQL stores times.
	w.now = w.e.clock.Now().UTC().Truncate(time.Microsecond)
	return w
}

// at is a time relative to the test's now, as the API takes it.
func (w *diaryWorld) at(d time.Duration) string { return w.now.Add(d).Format(time.RFC3339) }

// book creates an appointment for Alice as the trust's clinician; fields
// override the defaults.
func (w *diaryWorld) book(fields map[string]any) apNode {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID,
		"title": "Fracture clinic", "startsAt": w.at(7 * 24 * time.Hour)}
	for k, v := range fields {
		input[k] = v
	}
	res := w.e.post(w.clinician, createAppointment, map[string]any{"input": input})
	if len(res.Errors) > 0 {
		w.t.Fatalf("createAppointment %v: %s", fields, res.raw)
	}
	var data struct{ CreateAppointment apNode }
	res.decode(w.t, &data)
	return data.CreateAppointment
}

// record records an encounter for Alice as the trust's clinician.
func (w *diaryWorld) record(fields map[string]any) encNode {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID,
		"kind": "EMERGENCY", "status": "ARRIVED", "startedAt": w.at(-2 * time.Hour)}
	for k, v := range fields {
		input[k] = v
	}
	res := w.e.post(w.clinician, recordEncDoc, map[string]any{"input": input})
	if len(res.Errors) > 0 {
		w.t.Fatalf("recordEncounter %v: %s", fields, res.raw)
	}
	var data struct{ RecordEncounter encNode }
	res.decode(w.t, &data)
	return data.RecordEncounter
}

// request sends requestAppointmentChange as token.
func (w *diaryWorld) request(token string, input map[string]any) (changeNode, gqlResponse) {
	w.t.Helper()
	res := w.e.post(token, requestChange, map[string]any{"input": input})
	var data struct{ RequestAppointmentChange *changeNode }
	res.decode(w.t, &data)
	if data.RequestAppointmentChange == nil {
		return changeNode{}, res
	}
	return *data.RequestAppointmentChange, res
}

// answer sends answerAppointmentChange as token.
func (w *diaryWorld) answer(token string, input map[string]any) (changeNode, gqlResponse) {
	w.t.Helper()
	res := w.e.post(token, answerChange, map[string]any{"input": input})
	var data struct{ AnswerAppointmentChange *changeNode }
	res.decode(w.t, &data)
	if data.AnswerAppointmentChange == nil {
		return changeNode{}, res
	}
	return *data.AnswerAppointmentChange, res
}

// node reads a node as token; nil when the viewer cannot see it.
func (w *diaryWorld) node(token, query string, id string, into any) bool {
	w.t.Helper()
	res := w.e.post(token, query, map[string]any{"id": id})
	if len(res.Errors) > 0 {
		w.t.Fatalf("node %s: %s", id, res.raw)
	}
	var data struct{ Node json.RawMessage }
	res.decode(w.t, &data)
	if string(data.Node) == "null" {
		return false
	}
	if into != nil {
		if err := json.Unmarshal(data.Node, into); err != nil {
			w.t.Fatalf("decoding %s: %v", data.Node, err)
		}
	}
	return true
}

// diary is one of Alice's diary lists as token sees it.
type diary struct {
	TotalCount int
	Edges      []struct {
		Node struct{ ID, StartsAt, Category string }
	}
}

func (d diary) ids() []string {
	var ids []string
	for _, e := range d.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// diaries reads Alice's upcoming and past appointments as token sees them.
func (w *diaryWorld) diaries(token string) (upcoming, past diary) {
	w.t.Helper()
	res := w.e.post(token, diaryQuery, map[string]any{"id": w.f.Alice.PatientID, "now": w.now.Format(time.RFC3339Nano)})
	if len(res.Errors) > 0 {
		w.t.Fatalf("diary: %s", res.raw)
	}
	var data struct {
		Patient struct{ Upcoming, Past diary }
	}
	res.decode(w.t, &data)
	return data.Patient.Upcoming, data.Patient.Past
}

// encounterIDs lists Alice's encounters as token sees them.
func (w *diaryWorld) encounterIDs(token string) []string {
	w.t.Helper()
	res := w.e.post(token, encountersList, map[string]any{"id": w.f.Alice.PatientID})
	var data struct {
		Patient struct {
			Encounters struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
	}
	res.decode(w.t, &data)
	if len(res.Errors) > 0 || data.Patient.Encounters.TotalCount != len(data.Patient.Encounters.Edges) {
		w.t.Fatalf("encounters: %s", res.raw)
	}
	var ids []string
	for _, e := range data.Patient.Encounters.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// rows describes every row the clinical writes touch, by ID (counts for
// notifications, changes in the access log and links), so that a refused
// change can be shown to have written nothing. Reads go to the access log
// and are left out.
func (w *diaryWorld) rows() map[string]string {
	w.t.Helper()
	ctx := w.sys()
	out := map[string]string{}
	add := func(id pulid.ID, row any) {
		b, err := json.Marshal(row)
		w.must(err)
		out[string(id)] = string(b)
	}
	aps, err := w.db().Appointment.Query().All(ctx)
	w.must(err)
	for _, a := range aps {
		add(a.ID, a)
	}
	ens, err := w.db().Encounter.Query().All(ctx)
	w.must(err)
	for _, e := range ens {
		add(e.ID, e)
	}
	crs, err := w.db().AppointmentChangeRequest.Query().All(ctx)
	w.must(err)
	for _, r := range crs {
		add(r.ID, r)
	}
	notes, err := w.db().Notification.Query().Count(ctx)
	w.must(err)
	audits, err := w.db().AuditEvent.Query().Where(auditevent.ActionNEQ("READ")).Count(ctx)
	w.must(err)
	links, err := w.db().PatientOrganisation.Query().Count(ctx)
	w.must(err)
	out["counts"] = fmt.Sprintf("%d notifications, %d audit events, %d links", notes, audits, links)
	return out
}

// unchangedSince fails if anything was written since before was taken.
func (w *diaryWorld) unchangedSince(what string, before map[string]string) {
	w.t.Helper()
	after := w.rows()
	for k, v := range after {
		if before[k] != v {
			w.t.Errorf("%s wrote %s:\nbefore %s\nafter  %s", what, k, before[k], v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			w.t.Errorf("%s removed %s", what, k)
		}
	}
}

// badFields lists the paths of the bad fields an error reports.
func badFields(res gqlResponse) []string {
	var paths []string
	for _, e := range res.Errors {
		fields, _ := e.Extensions["fields"].([]any)
		for _, f := range fields {
			m, _ := f.(map[string]any)
			p, _ := m["path"].(string)
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

// auditCount is how many audit events of an action name Alice's record.
func (w *diaryWorld) auditCount(action string) int {
	w.t.Helper()
	n, err := w.db().AuditEvent.Query().
		Where(auditevent.Action(action), auditevent.PatientID(w.f.Alice.PatientID)).Count(w.sys())
	w.must(err)
	return n
}

// subjects lists the subjects and categories of Alice's notifications of a kind.
func (w *diaryWorld) subjects(kind notification.Kind) map[string]category.Category {
	w.t.Helper()
	out := map[string]category.Category{}
	for _, n := range w.notes(w.f.Alice.AccountID, kind) {
		if n.SubjectID != nil {
			out[string(*n.SubjectID)] = n.Category
		}
	}
	return out
}

func TestABookingAppearsInThePatientsDiaryInOrder(t *testing.T) {
	w := newDiaryWorld(t)
	london := mustLondon(t)
	later := w.book(map[string]any{"title": "  Follow-up  ", "startsAt": w.now.Add(10 * 24 * time.Hour).In(london).Format(time.RFC3339),
		"durationMinutes": 30, "specialty": "Orthopaedics", "site": "Main site", "instructions": "Bring your X-rays"})
	soon := w.book(map[string]any{"startsAt": w.at(2 * time.Hour), "clinic": " "})
	past := w.book(map[string]any{"title": "Pre-assessment", "startsAt": w.at(-5 * 24 * time.Hour)})

	if later.Title != "Follow-up" || later.DurationMinutes != 30 || later.Status != "BOOKED" || later.Category != "GENERAL" ||
		!closeTo(later.StartsAt, w.now.Add(10*24*time.Hour).Truncate(time.Second)) || later.StartsAt[len(later.StartsAt)-1] != 'Z' ||
		later.SourceOrganisation == nil || later.SourceOrganisation.ID != string(w.f.OrgID) ||
		later.Instructions == nil || *later.Instructions != "Bring your X-rays" {
		t.Errorf("booked: %+v", later)
	}
	if soon.DurationMinutes != 15 || soon.Clinic != nil {
		t.Errorf("defaults: %+v (15 minutes, and a blank clinic left out)", soon)
	}

	for _, tc := range []struct {
		name, token string
	}{{"the patient", w.alice}, {"the GENERAL carer", w.carer}} {
		upcoming, pastList := w.diaries(tc.token)
		ups, pasts := upcoming.ids(), pastList.ids()
		i, j := slices.Index(ups, soon.ID), slices.Index(ups, later.ID)
		if i < 0 || j < 0 || i > j || slices.Contains(ups, past.ID) || upcoming.TotalCount != len(ups) {
			t.Errorf("%s's upcoming diary: %v (soon %s before later %s)", tc.name, ups, soon.ID, later.ID)
		}
		if !slices.Contains(pasts, past.ID) || slices.Contains(pasts, soon.ID) || pastList.TotalCount != len(pasts) {
			t.Errorf("%s's past diary: %v", tc.name, pasts)
		}
		for _, list := range []struct {
			name string
			d    diary
			asc  bool
		}{{"upcoming", upcoming, true}, {"past", pastList, false}} {
			times := make([]time.Time, len(list.d.Edges))
			for k, e := range list.d.Edges {
				ts, err := time.Parse(time.RFC3339Nano, e.Node.StartsAt)
				if err != nil || ts.Before(w.now) != !list.asc {
					t.Errorf("%s's %s diary holds %s (now %s)", tc.name, list.name, e.Node.StartsAt, w.now)
				}
				times[k] = ts
			}
			sorted := slices.IsSortedFunc(times, func(a, b time.Time) int {
				if list.asc {
					return a.Compare(b)
				}
				return b.Compare(a)
			})
			if !sorted {
				t.Errorf("%s's %s diary is out of order: %v", tc.name, list.name, times)
			}
		}
	}

	booked := w.subjects(notification.KindAPPOINTMENT_BOOKED)
	for _, ap := range []apNode{later, soon, past} {
		if c, ok := booked[ap.ID]; !ok || c != category.General {
			t.Errorf("APPOINTMENT_BOOKED notification for %s: %v", ap.ID, booked)
		}
	}
	if n := w.auditCount("APPOINTMENT_BOOKED"); n != 3 {
		t.Errorf("%d APPOINTMENT_BOOKED audit events, want 3", n)
	}
	ev, err := w.db().AuditEvent.Query().Where(auditevent.Action("APPOINTMENT_BOOKED")).First(w.sys())
	w.must(err)
	if ev.ActorAccountID == nil || *ev.ActorAccountID != w.f.Clinician.AccountID || ev.ActorOrganisationID == nil ||
		*ev.ActorOrganisationID != w.f.OrgID || !slices.Equal(ev.RecordKinds, []string{"Appointment"}) {
		t.Errorf("audit event: %+v", ev)
	}
}

func TestOnlyTheBookingTrustChangesAnAppointment(t *testing.T) {
	w := newDiaryWorld(t)
	ap := w.book(nil)
	change := map[string]any{"expectedUpdatedAt": ap.UpdatedAt, "title": "Moved", "startsAt": w.at(8 * 24 * time.Hour)}

	before := w.rows()
	for _, tc := range []struct {
		name, token, code string
	}{
		{"a clinician of another trust", w.other, "NOT_FOUND"},
		{"another patient", w.bob, "NOT_FOUND"},
		{"the patient", w.alice, "FORBIDDEN"},
		{"the carer", w.carer, "FORBIDDEN"},
	} {
		wantCode(t, tc.name+" updating", w.e.post(tc.token, updateAppointment, map[string]any{"id": ap.ID, "input": change}), tc.code)
		wantCode(t, tc.name+" cancelling", w.e.post(tc.token, cancelAppointment, map[string]any{"id": ap.ID, "at": ap.UpdatedAt}), tc.code)
	}
	sameAnswer(t, "another trust's appointment and a missing one",
		w.e.post(w.other, cancelAppointment, map[string]any{"id": ap.ID, "at": ap.UpdatedAt}),
		w.e.post(w.other, cancelAppointment, map[string]any{"id": pulid.New("ap"), "at": ap.UpdatedAt}))

	// Booking: only for an organisation one is a clinician at, and only
	// for a patient one may see.
	wantCode(t, "booking for another organisation", w.e.post(w.clinician, createAppointment, map[string]any{"input": map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": w.otherOrg, "title": "Clinic", "startsAt": w.at(time.Hour)}}), "FORBIDDEN")
	wantCode(t, "booking for a patient the trust has no tie to", w.e.post(w.other, createAppointment, map[string]any{"input": map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": w.otherOrg, "title": "Clinic", "startsAt": w.at(time.Hour)}}), "NOT_FOUND")
	w.unchangedSince("refused changes", before)

	// A stale version is refused; the current one goes through.
	res := w.e.post(w.clinician, updateAppointment, map[string]any{"id": ap.ID, "input": change})
	var updated struct{ UpdateAppointment apNode }
	res.decode(t, &updated)
	moved := updated.UpdateAppointment
	if len(res.Errors) > 0 || moved.Title != "Moved" || !closeTo(moved.StartsAt, w.now.Add(8*24*time.Hour).Truncate(time.Second)) ||
		moved.UpdatedAt == ap.UpdatedAt {
		t.Fatalf("updateAppointment: %s", res.raw)
	}
	before = w.rows()
	wantCode(t, "a stale update", w.e.post(w.clinician, updateAppointment, map[string]any{"id": ap.ID,
		"input": map[string]any{"expectedUpdatedAt": ap.UpdatedAt, "title": "Lost"}}), "CONFLICT")
	wantCode(t, "a stale cancellation", w.e.post(w.clinician, cancelAppointment, map[string]any{"id": ap.ID, "at": ap.UpdatedAt}), "CONFLICT")
	w.unchangedSince("stale changes", before)

	res = w.e.post(w.clinician, cancelAppointment, map[string]any{"id": ap.ID, "at": moved.UpdatedAt})
	var cancelled struct{ CancelAppointment apNode }
	res.decode(t, &cancelled)
	if len(res.Errors) > 0 || cancelled.CancelAppointment.Status != "CANCELLED" || cancelled.CancelAppointment.Title != "Moved" {
		t.Errorf("cancelAppointment: %s", res.raw)
	}
	if _, ok := w.subjects(notification.KindAPPOINTMENT_CHANGED)[ap.ID]; !ok {
		t.Error("no APPOINTMENT_CHANGED notification to the patient")
	}
	if _, ok := w.subjects(notification.KindAPPOINTMENT_CANCELLED)[ap.ID]; !ok {
		t.Error("no APPOINTMENT_CANCELLED notification to the patient")
	}
	for action, want := range map[string]int{"APPOINTMENT_BOOKED": 1, "APPOINTMENT_UPDATED": 1, "APPOINTMENT_CANCELLED": 1} {
		if n := w.auditCount(action); n != want {
			t.Errorf("%d %s audit events, want %d", n, action, want)
		}
	}

	// Once Bob's record is linked to the other trust, its clinician may
	// book for him.
	w.link(w.f.Bob.PatientID, w.otherOrg)
	res = w.e.post(w.other, createAppointment, map[string]any{"input": map[string]any{
		"patientId": w.f.Bob.PatientID, "organisationId": w.otherOrg, "title": "Clinic", "startsAt": w.at(time.Hour)}})
	if len(res.Errors) > 0 {
		t.Errorf("booking for a linked patient: %s", res.raw)
	}
}

func TestBadInputIsRefusedWithItsFieldsAndWritesNothing(t *testing.T) {
	w := newDiaryWorld(t)
	ap := w.book(nil)
	en := w.record(nil)
	book := func(fields map[string]any) map[string]any {
		input := map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "title": "Clinic", "startsAt": w.at(time.Hour)}
		for k, v := range fields {
			input[k] = v
		}
		return map[string]any{"input": input}
	}
	attendance := func(fields map[string]any) map[string]any {
		input := map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "kind": "EMERGENCY",
			"status": "DISCHARGED", "startedAt": w.at(-3 * time.Hour)}
		for k, v := range fields {
			input[k] = v
		}
		return map[string]any{"input": input}
	}
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name  string
		doc   string
		vars  map[string]any
		paths []string
	}{
		{"a blank title", createAppointment, book(map[string]any{"title": "   "}), []string{"input.title"}},
		{"a zero duration", createAppointment, book(map[string]any{"durationMinutes": 0}), []string{"input.durationMinutes"}},
		{"a negative duration", createAppointment, book(map[string]any{"durationMinutes": -30}), []string{"input.durationMinutes"}},
		{"a duration over a day", createAppointment, book(map[string]any{"durationMinutes": 1441}), []string{"input.durationMinutes"}},
		{"a title too long for its column", createAppointment, book(map[string]any{"title": long}), []string{"input.title"}},
		{"a PRIVATE label from a clinician", createAppointment, book(map[string]any{"category": "PRIVATE"}), []string{"input.category"}},
		{"every bad field at once", createAppointment, book(map[string]any{"title": "", "durationMinutes": 0, "clinician": long}),
			[]string{"input.clinician", "input.durationMinutes", "input.title"}},
		{"a blank title and zero duration in an update", updateAppointment, map[string]any{"id": ap.ID,
			"input": map[string]any{"expectedUpdatedAt": ap.UpdatedAt, "title": "", "durationMinutes": 0}},
			[]string{"input.durationMinutes", "input.title"}},
		{"an attendance that ended before it started", recordEncDoc, attendance(map[string]any{"endedAt": w.at(-4 * time.Hour)}),
			[]string{"input.endedAt"}},
		{"a patient seen before they arrived", recordEncDoc, attendance(map[string]any{"seenAt": w.at(-4 * time.Hour)}),
			[]string{"input.seenAt"}},
		{"a discharge before the patient was seen", recordEncDoc, attendance(map[string]any{
			"seenAt": w.at(-time.Hour), "endedAt": w.at(-2 * time.Hour)}), []string{"input.endedAt"}},
		{"an admitted ED attendance", recordEncDoc, attendance(map[string]any{"status": "ADMITTED"}), []string{"input.status"}},
		{"an inpatient stay that was merely seen", recordEncDoc, attendance(map[string]any{"kind": "INPATIENT", "status": "SEEN"}),
			[]string{"input.status"}},
		{"an end to an attendance still waiting", recordEncDoc, attendance(map[string]any{"status": "ARRIVED", "endedAt": w.at(0)}),
			[]string{"input.endedAt"}},
		{"an update ending the attendance before it started", updateEncDoc, map[string]any{"id": en.ID,
			"input": map[string]any{"expectedUpdatedAt": en.UpdatedAt, "status": "DISCHARGED", "endedAt": w.at(-3 * time.Hour)}},
			[]string{"input.endedAt"}},
		{"an update back to ARRIVED", updateEncDoc, map[string]any{"id": w.record(map[string]any{"status": "SEEN"}).ID,
			"input": map[string]any{"expectedUpdatedAt": w.now.Add(time.Hour).Format(time.RFC3339), "status": "ARRIVED"}},
			[]string{"input.status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.rows()
			res := w.e.post(w.clinician, tc.doc, tc.vars)
			wantCode(t, tc.name, res, "BAD_USER_INPUT")
			if got := badFields(res); !slices.Equal(got, tc.paths) {
				t.Errorf("fields %v, want %v: %s", got, tc.paths, res.raw)
			}
			w.unchangedSince(tc.name, before)
		})
	}
}

func TestThePatientAsksToMoveOrCancelAndTheTrustAnswers(t *testing.T) {
	w := newDiaryWorld(t)
	ap := w.book(map[string]any{"startsAt": w.at(7 * 24 * time.Hour)})
	preferred := []string{w.now.Add(9 * 24 * time.Hour).In(mustLondon(t)).Format(time.RFC3339), w.at(10 * 24 * time.Hour)}
	reschedule := map[string]any{"appointmentId": ap.ID, "kind": "RESCHEDULE", "reason": " I am away that week ",
		"preferredTimes": preferred}

	before := w.rows()
	for _, tc := range []struct {
		name, token, code string
	}{
		{"the carer", w.carer, "FORBIDDEN"},
		{"the trust's clinician", w.clinician, "FORBIDDEN"},
		{"another patient", w.bob, "NOT_FOUND"},
		{"a clinician of another trust", w.other, "NOT_FOUND"},
	} {
		_, res := w.request(tc.token, reschedule)
		wantCode(t, tc.name+" asking for a change", res, tc.code)
	}
	_, res := w.request(w.alice, map[string]any{"appointmentId": ap.ID, "kind": "RESCHEDULE", "preferredTimes": []string{w.at(-time.Hour)}})
	if wantCode(t, "a preferred time in the past", res, "BAD_USER_INPUT"); !slices.Equal(badFields(res), []string{"input.preferredTimes[0]"}) {
		t.Errorf("fields: %s", res.raw)
	}
	_, res = w.request(w.alice, map[string]any{"appointmentId": ap.ID, "kind": "CANCEL", "preferredTimes": []string{w.at(time.Hour)}})
	wantCode(t, "preferred times for a cancellation", res, "BAD_USER_INPUT")
	w.unchangedSince("refused requests", before)

	// The patient asks to move it; the trust's clinician sees and declines.
	req, res := w.request(w.alice, reschedule)
	if len(res.Errors) > 0 || req.Status != "OPEN" || req.Kind != "RESCHEDULE" || req.Category != "GENERAL" ||
		req.Reason == nil || *req.Reason != "I am away that week" || req.Appointment.ID != ap.ID {
		t.Fatalf("requestAppointmentChange: %s", res.raw)
	}
	row, err := w.db().AppointmentChangeRequest.Get(w.sys(), pulid.ID(req.ID))
	w.must(err)
	wantTimes := []string{w.now.Add(9 * 24 * time.Hour).UTC().Format(time.RFC3339), w.at(10 * 24 * time.Hour)}
	if !slices.Equal(row.PreferredTimes, wantTimes) || row.PatientID != w.f.Alice.PatientID ||
		row.SourceOrganisationID == nil || *row.SourceOrganisationID != w.f.OrgID || row.Category != category.General {
		t.Errorf("stored request: %+v (preferred times %v)", row, wantTimes)
	}
	var seen struct {
		ChangeRequests []struct{ ID, Kind, Status string }
	}
	if !w.node(w.clinician, apNodeQuery, ap.ID, &seen) || len(seen.ChangeRequests) != 1 || seen.ChangeRequests[0].ID != req.ID {
		t.Errorf("the clinician's view of the appointment's requests: %+v", seen)
	}
	if w.node(w.other, `query($id: ID!) { node(id: $id) { id } }`, req.ID, nil) {
		t.Error("a clinician of another trust sees the request")
	}

	before = w.rows()
	_, res = w.answer(w.other, map[string]any{"id": req.ID, "accept": true})
	wantCode(t, "another trust answering", res, "NOT_FOUND")
	_, res = w.answer(w.alice, map[string]any{"id": req.ID, "accept": true})
	wantCode(t, "the patient answering", res, "FORBIDDEN")
	w.unchangedSince("refused answers", before)

	declined, res := w.answer(w.clinician, map[string]any{"id": req.ID, "accept": false, "answer": "No other clinic that week"})
	if len(res.Errors) > 0 || declined.Status != "DECLINED" || declined.Answer == nil || declined.AnsweredAt == nil ||
		!closeTo(*declined.AnsweredAt, w.now) || declined.Appointment.Status != "BOOKED" {
		t.Errorf("declining: %s", res.raw)
	}
	before = w.rows()
	_, res = w.answer(w.clinician, map[string]any{"id": req.ID, "accept": true})
	if wantCode(t, "answering twice", res, "BAD_USER_INPUT"); !slices.Equal(badFields(res), []string{"input.id"}) {
		t.Errorf("fields: %s", res.raw)
	}
	w.unchangedSince("answering twice", before)

	// The patient asks to cancel; accepting cancels the appointment.
	cancel, res := w.request(w.alice, map[string]any{"appointmentId": ap.ID, "kind": "CANCEL"})
	if len(res.Errors) > 0 {
		t.Fatalf("asking to cancel: %s", res.raw)
	}
	accepted, res := w.answer(w.clinician, map[string]any{"id": cancel.ID, "accept": true})
	if len(res.Errors) > 0 || accepted.Status != "ACCEPTED" || accepted.Appointment.Status != "CANCELLED" {
		t.Errorf("accepting a cancellation: %s", res.raw)
	}
	var mine struct{ Status string }
	if !w.node(w.alice, apNodeQuery, ap.ID, &mine) || mine.Status != "CANCELLED" {
		t.Errorf("the patient's view after the cancellation: %+v", mine)
	}
	if c, ok := w.subjects(notification.KindAPPOINTMENT_CANCELLED)[ap.ID]; !ok || c != category.General {
		t.Error("no APPOINTMENT_CANCELLED notification to the patient")
	}

	// A cancelled or past appointment cannot be asked about.
	past := w.book(map[string]any{"startsAt": w.at(-time.Hour)})
	for _, tc := range []struct{ name, id string }{{"a cancelled appointment", ap.ID}, {"a past appointment", past.ID}} {
		_, res := w.request(w.alice, map[string]any{"appointmentId": tc.id, "kind": "CANCEL"})
		if wantCode(t, tc.name, res, "BAD_USER_INPUT"); !slices.Equal(badFields(res), []string{"input.appointmentId"}) {
			t.Errorf("%s: %s", tc.name, res.raw)
		}
	}
	for action, want := range map[string]int{"APPOINTMENT_CHANGE_REQUESTED": 2, "APPOINTMENT_CHANGE_ANSWERED": 2, "APPOINTMENT_CANCELLED": 1} {
		if n := w.auditCount(action); n != want {
			t.Errorf("%d %s audit events, want %d", n, action, want)
		}
	}
}

func TestAMentalHealthAppointmentIsHiddenFromAGeneralCarer(t *testing.T) {
	w := newDiaryWorld(t)
	psychiatry := w.book(map[string]any{"title": "Psychiatry review", "specialty": "Psychiatry", "category": "MENTAL_HEALTH"})
	fracture := w.book(nil)
	if psychiatry.Category != "MENTAL_HEALTH" || fracture.Category != "GENERAL" {
		t.Fatalf("categories: %s and %s", psychiatry.Category, fracture.Category)
	}

	upcoming, _ := w.diaries(w.carer)
	if ids := upcoming.ids(); slices.Contains(ids, psychiatry.ID) || !slices.Contains(ids, fracture.ID) {
		t.Errorf("the carer's diary: %v", ids)
	}
	if w.node(w.carer, apNodeQuery, psychiatry.ID, nil) {
		t.Error("the carer reads the psychiatry appointment by its ID")
	}
	upcoming, _ = w.diaries(w.alice)
	var mine struct{ Category string }
	if !slices.Contains(upcoming.ids(), psychiatry.ID) || !w.node(w.alice, apNodeQuery, psychiatry.ID, &mine) || mine.Category != "MENTAL_HEALTH" {
		t.Errorf("the patient's view of the psychiatry appointment: %v %+v", upcoming.ids(), mine)
	}
	if c := w.subjects(notification.KindAPPOINTMENT_BOOKED)[psychiatry.ID]; c != category.MentalHealth {
		t.Errorf("the booking's notification is labelled %q", c)
	}

	// Relabelling a booking takes its notifications and requests along.
	req, res := w.request(w.alice, map[string]any{"appointmentId": fracture.ID, "kind": "CANCEL"})
	if len(res.Errors) > 0 {
		t.Fatal(res.raw)
	}
	res = w.e.post(w.clinician, updateAppointment, map[string]any{"id": fracture.ID,
		"input": map[string]any{"expectedUpdatedAt": fracture.UpdatedAt, "category": "MENTAL_HEALTH"}})
	if len(res.Errors) > 0 {
		t.Fatal(res.raw)
	}
	if w.node(w.carer, apNodeQuery, fracture.ID, nil) || w.node(w.carer, `query($id: ID!) { node(id: $id) { id } }`, req.ID, nil) {
		t.Error("the carer still sees the relabelled appointment or its request")
	}
	row, err := w.db().AppointmentChangeRequest.Query().Where(appointmentchangerequest.AppointmentID(pulid.ID(fracture.ID))).Only(w.sys())
	w.must(err)
	if row.Category != category.MentalHealth || w.subjects(notification.KindAPPOINTMENT_BOOKED)[fracture.ID] != category.MentalHealth {
		t.Errorf("what is filed with the relabelled appointment kept its label: %+v", row)
	}
}

func TestAnEmergencyAttendanceIsGeneralUntilThePatientIsSeen(t *testing.T) {
	w := newDiaryWorld(t)
	ed := w.record(map[string]any{"site": "Emergency Department", "presentingComplaint": "Low mood"})
	if ed.Category != "GENERAL" || ed.Status != "ARRIVED" || ed.SeenAt != nil {
		t.Fatalf("recorded: %+v", ed)
	}
	var carers encNode
	if !w.node(w.carer, encNodeQuery, ed.ID, &carers) || carers.Site == nil || carers.PresentingComplaint != nil ||
		!slices.Contains(w.encounterIDs(w.carer), ed.ID) {
		t.Errorf("the carer's view before the patient is seen: %+v", carers)
	}
	var patients encNode
	if !w.node(w.alice, encNodeQuery, ed.ID, &patients) || patients.PresentingComplaint == nil {
		t.Errorf("the patient's view: %+v", patients)
	}

	before := w.rows()
	seen := map[string]any{"expectedUpdatedAt": ed.UpdatedAt, "status": "SEEN", "category": "MENTAL_HEALTH", "summary": "Seen by the liaison team"}
	for _, tc := range []struct{ name, token, code string }{
		{"the patient", w.alice, "FORBIDDEN"},
		{"the carer", w.carer, "FORBIDDEN"},
		{"a clinician of another trust", w.other, "NOT_FOUND"},
	} {
		wantCode(t, tc.name+" updating", w.e.post(tc.token, updateEncDoc, map[string]any{"id": ed.ID, "input": seen}), tc.code)
	}
	w.unchangedSince("refused updates", before)

	res := w.e.post(w.clinician, updateEncDoc, map[string]any{"id": ed.ID, "input": seen})
	var updated struct{ UpdateEncounter encNode }
	res.decode(t, &updated)
	if u := updated.UpdateEncounter; len(res.Errors) > 0 || u.Status != "SEEN" || u.Category != "MENTAL_HEALTH" ||
		u.SeenAt == nil || !closeTo(*u.SeenAt, w.now) || u.Summary == nil {
		t.Fatalf("updateEncounter: %s", res.raw)
	}
	if w.node(w.carer, encNodeQuery, ed.ID, nil) || slices.Contains(w.encounterIDs(w.carer), ed.ID) {
		t.Error("the carer still sees the attendance once it is MENTAL_HEALTH")
	}
	if !w.node(w.alice, encNodeQuery, ed.ID, &patients) || patients.Category != "MENTAL_HEALTH" {
		t.Errorf("the patient's view after: %+v", patients)
	}
	before = w.rows()
	wantCode(t, "a stale update", w.e.post(w.clinician, updateEncDoc, map[string]any{"id": ed.ID,
		"input": map[string]any{"expectedUpdatedAt": ed.UpdatedAt, "status": "DISCHARGED"}}), "CONFLICT")
	wantCode(t, "the carer, who no longer sees it", w.e.post(w.carer, updateEncDoc, map[string]any{"id": ed.ID,
		"input": map[string]any{"expectedUpdatedAt": updated.UpdateEncounter.UpdatedAt, "status": "DISCHARGED"}}), "NOT_FOUND")
	w.unchangedSince("refused updates", before)

	// An inpatient stay follows its assigned label from the start, and a
	// discharge records when it ended.
	stay := w.record(map[string]any{"kind": "INPATIENT", "status": "ADMITTED", "ward": "Ward 7", "category": "SOCIAL_CARE"})
	if stay.Category != "SOCIAL_CARE" || w.node(w.carer, encNodeQuery, stay.ID, nil) {
		t.Errorf("inpatient stay: %+v", stay)
	}
	res = w.e.post(w.clinician, updateEncDoc, map[string]any{"id": stay.ID,
		"input": map[string]any{"expectedUpdatedAt": stay.UpdatedAt, "status": "DISCHARGED", "ward": ""}})
	var discharged struct{ UpdateEncounter encNode }
	res.decode(t, &discharged)
	if d := discharged.UpdateEncounter; len(res.Errors) > 0 || d.EndedAt == nil || !closeTo(*d.EndedAt, w.now) || d.Ward != nil {
		t.Errorf("discharge: %s", res.raw)
	}
	for action, want := range map[string]int{"ENCOUNTER_RECORDED": 2, "ENCOUNTER_UPDATED": 2} {
		if n := w.auditCount(action); n != want {
			t.Errorf("%d %s audit events, want %d", n, action, want)
		}
	}
}

func TestRacingChangesToOneVersionLetOnlyOneThrough(t *testing.T) {
	w := newDiaryWorld(t)
	ap := w.book(nil)
	en := w.record(nil)
	for _, tc := range []struct {
		name, doc string
		vars      func(i int) map[string]any
	}{
		{"appointment", updateAppointment, func(i int) map[string]any {
			return map[string]any{"id": ap.ID, "input": map[string]any{"expectedUpdatedAt": ap.UpdatedAt, "title": fmt.Sprint("Clinic ", i)}}
		}},
		{"encounter", updateEncDoc, func(i int) map[string]any {
			return map[string]any{"id": en.ID, "input": map[string]any{"expectedUpdatedAt": en.UpdatedAt, "ward": fmt.Sprint("Ward ", i)}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 8
			codes := make(chan []string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes <- w.e.post(w.clinician, tc.doc, tc.vars(i)).codes()
				}()
			}
			wg.Wait()
			close(codes)
			won, conflicts := 0, 0
			for c := range codes {
				switch {
				case len(c) == 0:
					won++
				case slices.Equal(c, []string{"CONFLICT"}):
					conflicts++
				default:
					t.Errorf("a racing change answered %v", c)
				}
			}
			if won != 1 || conflicts != n-1 {
				t.Errorf("%d changes went through and %d conflicted, want 1 and %d", won, conflicts, n-1)
			}
		})
	}
}
