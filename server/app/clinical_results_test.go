package app_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

const (
	resultFields = `id name code status category takenAt reportedAt releaseAt releasedAt updatedAt
    conclusion performingLaboratory sourceOrganisation { name }
    components { name code valueNumeric valueText unit referenceLow referenceHigh flag category }`
	addResultMutation    = `mutation($input: AddResultInput!) { addResult(input: $input) { ` + resultFields + ` } }`
	amendResultMutation  = `mutation($id: ID!, $input: AmendResultInput!) { amendResult(id: $id, input: $input) { ` + resultFields + ` } }`
	resultNodeQuery      = `query($id: ID!) { node(id: $id) { ... on Result { ` + resultFields + ` } } }`
	componentSeriesQuery = `query($id: ID!, $code: String!, $from: Time, $to: Time) { patient(id: $id) {
    componentSeries(code: $code, from: $from, to: $to) {
      resultId takenAt valueNumeric valueText unit referenceLow referenceHigh flag } } }`

	allergyFields         = `id kind substance reaction severity criticality status recordedBy recorder category updatedAt sourceOrganisation { name }`
	recordAllergyMutation = `mutation($input: RecordAllergyInput!) { recordAllergy(input: $input) { ` + allergyFields + ` } }`
	updateAllergyMutation = `mutation($id: ID!, $input: UpdateAllergyInput!) { updateAllergy(id: $id, input: $input) { ` + allergyFields + ` } }`
	removeAllergyMutation = `mutation($id: ID!) { removeAllergy(id: $id) }`
	allergyStateQuery     = `query($id: ID!) { patient(id: $id) { allergyState } }`
)

// resultView is a result as the API answers it.
type resultView struct {
	ID, Name, Status, Category, TakenAt, ReportedAt, UpdatedAt    string
	Code, ReleaseAt, ReleasedAt, Conclusion, PerformingLaboratory *string
	SourceOrganisation                                            *struct{ Name string }
	Components                                                    []componentView
}

// componentView is a result component as the API answers it.
type componentView struct {
	Name, Category                            string
	Code, ValueText, Unit, Flag               *string
	ValueNumeric, ReferenceLow, ReferenceHigh *float64
}

// allergyView is an allergy as the API answers it.
type allergyView struct {
	ID, Kind, Substance, Status, RecordedBy, Category, UpdatedAt string
	Reaction, Severity, Criticality, Recorder                    *string
	SourceOrganisation                                           *struct{ Name string }
}

// rfc is a time as a client sends it.
func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// fullBloodCount is the input of a full blood count for Alice from the
// fixture's trust, analysed by another trust's laboratory: haemoglobin
// hb g/L, a high white cell count, normal platelets, neutrophils the lab
// flagged itself, and a film comment.
func (w *sharingWorld) fullBloodCount(taken time.Time, hb float64) map[string]any {
	return map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID,
		"name": "Full blood count", "code": "58410-2", "category": "GENERAL",
		"takenAt": rfc(taken), "reportedAt": rfc(taken.Add(3 * time.Hour)),
		"performingLaboratory": "Northgate Pathology, Other NHS Trust",
		"conclusion":           "Mild anaemia.",
		"components": []any{
			map[string]any{"name": "Haemoglobin", "code": "718-7", "valueNumeric": hb, "unit": "g/L", "referenceLow": 115, "referenceHigh": 165},
			map[string]any{"name": "White cell count", "code": "6690-2", "valueNumeric": 12.4, "unit": "10*9/L", "referenceLow": 4.0, "referenceHigh": 11.0},
			map[string]any{"name": "Platelets", "code": "777-3", "valueNumeric": 250, "unit": "10*9/L", "referenceLow": 150, "referenceHigh": 400},
			map[string]any{"name": "Neutrophils", "code": "751-8", "valueNumeric": 0.4, "unit": "10*9/L", "referenceLow": 2.0, "referenceHigh": 7.5, "flag": "CRITICAL_LOW"},
			map[string]any{"name": "Blood film", "valueText": "Normochromic normocytic"},
		},
	}
}

// addResult adds a result as the clinician and returns it as they read it.
func (w *sharingWorld) addResult(input map[string]any) resultView {
	w.t.Helper()
	res := w.e.post(w.clinician, addResultMutation, map[string]any{"input": input})
	if len(res.Errors) > 0 {
		w.t.Fatalf("addResult: %s", res.raw)
	}
	var data struct{ AddResult resultView }
	res.decode(w.t, &data)
	return data.AddResult
}

// resultAs reads a result through node(id:); nil when the viewer does not
// see it.
func (w *sharingWorld) resultAs(token, id string) *resultView {
	w.t.Helper()
	res := w.e.post(token, resultNodeQuery, map[string]any{"id": id})
	if len(res.Errors) > 0 {
		w.t.Fatalf("node(%s): %s", id, res.raw)
	}
	var data struct{ Node *resultView }
	res.decode(w.t, &data)
	return data.Node
}

// recordCounts counts what a refused write must not have touched.
func (w *sharingWorld) recordCounts() [5]int {
	w.t.Helper()
	ctx := w.sys()
	var n [5]int
	var err error
	for i, count := range []func() (int, error){
		func() (int, error) { return w.db().Result.Query().Count(ctx) },
		func() (int, error) { return w.db().ResultComponent.Query().Count(ctx) },
		func() (int, error) { return w.db().Allergy.Query().Count(ctx) },
		// Reads are logged even when a write is refused; changes are not.
		func() (int, error) { return w.db().AuditEvent.Query().Where(auditevent.ActionNEQ("READ")).Count(ctx) },
		func() (int, error) { return w.db().Notification.Query().Count(ctx) },
	} {
		n[i], err = count()
		w.must(err)
	}
	return n
}

// wantFields fails unless res is one BAD_USER_INPUT naming exactly paths.
func wantFields(t *testing.T, what string, res gqlResponse, paths ...string) {
	t.Helper()
	if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
		t.Errorf("%s: want BAD_USER_INPUT, got %s", what, res.raw)
		return
	}
	fields, _ := res.Errors[0].Extensions["fields"].([]any)
	var got []string
	for _, f := range fields {
		m, _ := f.(map[string]any)
		p, _ := m["path"].(string)
		got = append(got, p)
	}
	if !slices.Equal(got, paths) {
		t.Errorf("%s: want fields %v, got %s", what, paths, res.raw)
	}
}

// sorted returns ids in order.
func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// flags lists the components' flags, "-" for none.
func flags(cs []componentView) []string {
	var out []string
	for _, c := range cs {
		f := "-"
		if c.Flag != nil {
			f = *c.Flag
		}
		out = append(out, f)
	}
	return out
}

func TestAHeldFullBloodCountIsSeenByEachViewerAsTheyMay(t *testing.T) {
	w := newSharingWorld(t)
	now := w.e.clock.Now()
	in := w.fullBloodCount(now.Add(-6*time.Hour), 105)
	in["releaseAt"] = rfc(now.Add(48 * time.Hour))
	added := w.addResult(in)

	if added.Status != "FINAL" || added.Category != "GENERAL" || added.ReleasedAt != nil ||
		added.ReleaseAt == nil || !closeTo(*added.ReleaseAt, now.Add(48*time.Hour)) ||
		added.SourceOrganisation == nil || added.SourceOrganisation.Name != "Test Hospitals NHS Trust" ||
		added.PerformingLaboratory == nil || *added.PerformingLaboratory != "Northgate Pathology, Other NHS Trust" {
		t.Errorf("the result as its clinician reads it: %+v", added)
	}
	if got, want := flags(added.Components), []string{"LOW", "HIGH", "NORMAL", "CRITICAL_LOW", "-"}; !slices.Equal(got, want) {
		t.Errorf("flags: want %v (derived from the ranges unless given), got %v", want, got)
	}
	hb := added.Components[0]
	if hb.Code == nil || *hb.Code != "718-7" || hb.Unit == nil || *hb.Unit != "g/L" || hb.ValueNumeric == nil || *hb.ValueNumeric != 105 ||
		hb.ReferenceLow == nil || *hb.ReferenceLow != 115 || hb.ReferenceHigh == nil || *hb.ReferenceHigh != 165 || hb.Category != "GENERAL" {
		t.Errorf("haemoglobin: %+v", hb)
	}
	stored, err := w.db().ResultComponent.Query().Where(resultcomponent.ResultID(pulid.ID(added.ID))).All(w.sys())
	w.must(err)
	for _, c := range stored {
		if c.PatientID != w.f.Alice.PatientID || c.Category != category.General ||
			c.SourceOrganisationID == nil || *c.SourceOrganisationID != w.f.OrgID {
			t.Errorf("component %s carries patient %s, category %s, source %v", c.Name, c.PatientID, c.Category, c.SourceOrganisationID)
		}
	}
	if es := w.audits("RESULT_ADDED"); len(es) != 1 || es[0].PatientID == nil || *es[0].PatientID != w.f.Alice.PatientID ||
		es[0].ActorOrganisationID == nil || *es[0].ActorOrganisationID != w.f.OrgID {
		t.Errorf("RESULT_ADDED audit events: %+v", es)
	}

	held := w.resultAs(w.alice, added.ID)
	if held == nil || held.Name != "Full blood count" || held.ReleaseAt == nil ||
		held.Components != nil || held.Conclusion != nil || held.Code != nil || held.PerformingLaboratory != nil {
		t.Errorf("the patient sees a held result as an entry with its content null: %+v", held)
	}
	if r := w.resultAs(w.carer, added.ID); r != nil {
		t.Errorf("the carer sees a held result: %+v", r)
	}
	if r := w.resultAs(w.clinician, added.ID); r == nil || len(r.Components) != 5 || r.Conclusion == nil {
		t.Errorf("the requesting clinician sees the held result's content: %+v", r)
	}
	if n := len(w.notes(w.f.Alice.AccountID, notification.KindRESULT_RELEASED)); n != 0 {
		t.Errorf("a held result notified the patient %d times", n)
	}

	if res := w.e.post(w.clinician, releaseMutation, map[string]any{"id": added.ID}); len(res.Errors) > 0 {
		t.Fatalf("releaseResult: %s", res.raw)
	}
	if r := w.resultAs(w.alice, added.ID); r == nil || len(r.Components) != 5 || r.ReleasedAt == nil {
		t.Errorf("the patient after release: %+v", r)
	}
	if r := w.resultAs(w.carer, added.ID); r == nil || len(r.Components) != 5 {
		t.Errorf("the carer after release: %+v", r)
	}
}

func TestAResultOpensAtItsReleaseTimeOrAtOnce(t *testing.T) {
	w := newSharingWorld(t)
	now := w.e.clock.Now()
	later := w.fullBloodCount(now.Add(-time.Hour), 130)
	later["releaseAt"] = rfc(now.Add(time.Hour))
	timed := w.addResult(later)
	atOnce := w.fullBloodCount(now.Add(-time.Hour), 131)
	atOnce["releaseNow"] = true
	released := w.addResult(atOnce)
	past := w.fullBloodCount(now.Add(-time.Hour), 133)
	past["releaseAt"] = rfc(now.Add(-time.Minute))
	backdated := w.addResult(past)
	never := w.fullBloodCount(now.Add(-time.Hour), 132)
	never["neverRelease"] = true
	withheld := w.addResult(never)

	if r := w.resultAs(w.alice, timed.ID); r == nil || r.Components != nil {
		t.Errorf("before its release time the patient sees: %+v", r)
	}
	if r := w.resultAs(w.alice, released.ID); r == nil || len(r.Components) != 5 || released.ReleasedAt == nil {
		t.Errorf("a result released at once: %+v as added, %+v as the patient reads it", released, r)
	}
	var notified []string
	for _, n := range w.notes(w.f.Alice.AccountID, notification.KindRESULT_RELEASED) {
		if n.SubjectID != nil && n.Category == category.General {
			notified = append(notified, string(*n.SubjectID))
		}
	}
	slices.Sort(notified)
	if !slices.Equal(notified, sorted(released.ID, backdated.ID)) {
		t.Errorf("RESULT_RELEASED notifications about %v, want the results released at once %v", notified, []string{released.ID, backdated.ID})
	}
	if r := w.resultAs(w.alice, withheld.ID); r != nil {
		t.Errorf("the patient sees a result never to be released: %+v", r)
	}
	if r := w.resultAs(w.clinician, withheld.ID); r == nil || len(r.Components) != 5 {
		t.Errorf("the requesting clinician does not see a result never to be released: %+v", r)
	}

	w.e.clock.Advance(2 * time.Hour)
	alice := w.e.signIn(w.f.Alice.Email, fixturePassword)
	carer := w.e.signIn(w.f.Carer.Email, fixturePassword)
	if r := w.resultAs(alice, timed.ID); r == nil || len(r.Components) != 5 {
		t.Errorf("after its release time the patient sees: %+v", r)
	}
	if r := w.resultAs(carer, timed.ID); r == nil || len(r.Components) != 5 {
		t.Errorf("after its release time the carer sees: %+v", r)
	}
	if r := w.resultAs(carer, withheld.ID); r != nil {
		t.Errorf("the carer sees a result never to be released: %+v", r)
	}
}

func TestResultInputIsValidatedAndChangesNothing(t *testing.T) {
	w := newSharingWorld(t)
	now := w.e.clock.Now()
	component := func(i int) map[string]any {
		return w.fullBloodCount(now, 100)["components"].([]any)[i].(map[string]any)
	}
	for _, tc := range []struct {
		name  string
		edit  func(in map[string]any)
		paths []string
	}{
		{"an unknown unit is refused at its component", func(in map[string]any) {
			in["components"].([]any)[2].(map[string]any)["unit"] = "g/l"
		}, []string{"input.components[2].unit"}},
		{"a report before the sample was taken is refused", func(in map[string]any) {
			in["reportedAt"] = rfc(now.Add(-time.Hour))
		}, []string{"input.reportedAt"}},
		{"a result needs at least one component", func(in map[string]any) {
			in["components"] = []any{}
		}, []string{"input.components"}},
		{"a component needs a name and a value", func(in map[string]any) {
			in["components"] = []any{map[string]any{"name": " ", "unit": "g/L"}}
		}, []string{"input.components[0].name", "input.components[0].valueNumeric"}},
		{"a reference range must be in order", func(in map[string]any) {
			c := component(0)
			c["referenceLow"], c["referenceHigh"] = 165, 115
			in["components"] = []any{c}
		}, []string{"input.components[0].referenceHigh"}},
		{"every bad field is named at once", func(in map[string]any) {
			in["name"] = ""
			in["reportedAt"] = rfc(now.Add(-time.Hour))
			in["components"].([]any)[1].(map[string]any)["unit"] = "furlongs"
		}, []string{"input.name", "input.reportedAt", "input.components[1].unit"}},
		{"a clinician may not use the patient's own label", func(in map[string]any) {
			in["category"] = "PRIVATE"
		}, []string{"input.category"}},
		{"a result to release now has no release time", func(in map[string]any) {
			in["releaseNow"] = true
			in["releaseAt"] = rfc(now.Add(time.Hour))
		}, []string{"input.releaseAt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.recordCounts()
			in := w.fullBloodCount(now, 100)
			tc.edit(in)
			wantFields(t, tc.name, w.e.post(w.clinician, addResultMutation, map[string]any{"input": in}), tc.paths...)
			if after := w.recordCounts(); after != before {
				t.Errorf("a refused result changed the store: %v → %v", before, after)
			}
		})
	}

	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	_, otherDoctor := w.staff("other@example.org", "Dr Other", other, membership.RoleCLINICIAN)
	before := w.recordCounts()
	foreign := w.fullBloodCount(now, 100)
	foreign["organisationId"] = other
	for _, tc := range []struct {
		name, token string
		input       map[string]any
		code        string
	}{
		{"the patient adds a result", w.alice, w.fullBloodCount(now, 100), "FORBIDDEN"},
		{"a clinician adds a result for another organisation", otherDoctor, w.fullBloodCount(now, 100), "FORBIDDEN"},
		{"a clinician adds a result to a record they cannot see", otherDoctor, foreign, "NOT_FOUND"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, addResultMutation, map[string]any{"input": tc.input}), tc.code)
	}
	if after := w.recordCounts(); after != before {
		t.Errorf("a refused result changed the store: %v → %v", before, after)
	}
}

func TestOnlyTheRequestingOrganisationAmendsAResult(t *testing.T) {
	w := newSharingWorld(t)
	now := w.e.clock.Now()
	in := w.fullBloodCount(now.Add(-time.Hour), 105)
	in["releaseNow"] = true
	added := w.addResult(in)
	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	w.link(w.f.Alice.PatientID, other)
	_, otherDoctor := w.staff("other@example.org", "Dr Other", other, membership.RoleCLINICIAN)
	corrected := map[string]any{
		"expectedUpdatedAt": added.UpdatedAt,
		"conclusion":        "Haemoglobin corrected after re-analysis.",
		"components": []any{map[string]any{
			"name": "Haemoglobin", "code": "718-7", "valueNumeric": 121, "unit": "g/L", "referenceLow": 115, "referenceHigh": 165,
		}},
	}
	stale := map[string]any{"expectedUpdatedAt": rfc(now.Add(-24 * time.Hour)), "conclusion": "Stale"}

	before := w.recordCounts()
	for _, tc := range []struct {
		name, token string
		id          string
		input       map[string]any
		code        string
	}{
		{"a clinician of another trust", otherDoctor, added.ID, corrected, "NOT_FOUND"},
		{"a clinician of another trust, a missing result", otherDoctor, string(pulid.New("rs")), corrected, "NOT_FOUND"},
		{"the patient", w.alice, added.ID, corrected, "FORBIDDEN"},
		{"a stale expectedUpdatedAt", w.clinician, added.ID, stale, "CONFLICT"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, amendResultMutation, map[string]any{"id": tc.id, "input": tc.input}), tc.code)
	}
	sameAnswer(t, "another trust's result and a missing one",
		w.e.post(otherDoctor, amendResultMutation, map[string]any{"id": added.ID, "input": corrected}),
		w.e.post(otherDoctor, amendResultMutation, map[string]any{"id": string(pulid.New("rs")), "input": corrected}))
	bad := map[string]any{"expectedUpdatedAt": added.UpdatedAt, "components": []any{map[string]any{"name": "Haemoglobin", "valueNumeric": 1, "unit": "stone"}}}
	wantFields(t, "an amendment with an unknown unit",
		w.e.post(w.clinician, amendResultMutation, map[string]any{"id": added.ID, "input": bad}), "input.components[0].unit")
	if after := w.recordCounts(); after != before {
		t.Errorf("a refused amendment changed the store: %v → %v", before, after)
	}
	if r, err := w.db().Result.Get(w.sys(), pulid.ID(added.ID)); err != nil || r.Status != result.StatusFINAL {
		t.Errorf("a refused amendment changed the result: %+v %v", r, err)
	}

	res := w.e.post(w.clinician, amendResultMutation, map[string]any{"id": added.ID, "input": corrected})
	if len(res.Errors) > 0 {
		t.Fatalf("amendResult: %s", res.raw)
	}
	var data struct{ AmendResult resultView }
	res.decode(t, &data)
	amended := data.AmendResult
	if amended.Status != "AMENDED" || amended.Conclusion == nil || *amended.Conclusion != "Haemoglobin corrected after re-analysis." ||
		len(amended.Components) != 1 || flags(amended.Components)[0] != "NORMAL" || amended.Components[0].Category != "GENERAL" {
		t.Errorf("the amended result: %+v", amended)
	}
	if n, err := w.db().ResultComponent.Query().Where(resultcomponent.ResultID(pulid.ID(added.ID))).Count(w.sys()); err != nil || n != 1 {
		t.Errorf("components after the amendment replaced them: %d %v", n, err)
	}
	if es := w.audits("RESULT_AMENDED"); len(es) != 1 || *es[0].PatientID != w.f.Alice.PatientID {
		t.Errorf("RESULT_AMENDED audit events: %+v", es)
	}
	wantCode(t, "amending again from the version before",
		w.e.post(w.clinician, amendResultMutation, map[string]any{"id": added.ID, "input": corrected}), "CONFLICT")
}

// point is a component series point as the API answers it.
type point struct {
	ResultID, TakenAt string
	ValueNumeric      *float64
	Flag              *string
}

// series reads Alice's haemoglobin series as a token's viewer.
func (w *sharingWorld) series(token string, vars map[string]any) []point {
	w.t.Helper()
	vars["id"] = w.f.Alice.PatientID
	vars["code"] = "718-7"
	res := w.e.post(token, componentSeriesQuery, vars)
	if len(res.Errors) > 0 {
		w.t.Fatalf("componentSeries: %s", res.raw)
	}
	var data struct {
		Patient struct{ ComponentSeries []point }
	}
	res.decode(w.t, &data)
	return data.Patient.ComponentSeries
}

// resultIDs lists the results of a series' points.
func resultIDs(ps []point) []string {
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ResultID)
	}
	return ids
}

func TestComponentSeriesFollowsHaemoglobinAcrossTheResultsTheViewerMaySee(t *testing.T) {
	w := newSharingWorld(t)
	now := w.e.clock.Now()
	day := 24 * time.Hour
	add := func(taken time.Time, hb float64, edit func(map[string]any)) string {
		in := w.fullBloodCount(taken, hb)
		in["releaseNow"] = true
		if edit != nil {
			edit(in)
		}
		return w.addResult(in).ID
	}
	// Added out of time order, so that the order is the series' own.
	recent := add(now.Add(-10*day), 125, nil)
	oldest := add(now.Add(-30*day), 98, nil)
	mental := add(now.Add(-20*day), 110, func(in map[string]any) { in["category"] = "MENTAL_HEALTH" })
	held := add(now.Add(-5*day), 130, func(in map[string]any) {
		delete(in, "releaseNow")
		in["releaseAt"] = rfc(now.Add(day))
	})

	for _, tc := range []struct {
		name  string
		token string
		vars  map[string]any
		want  []string
	}{
		{"the patient sees the released results, oldest first", w.alice, map[string]any{}, []string{oldest, mental, recent}},
		{"the carer sees only the released GENERAL ones", w.carer, map[string]any{}, []string{oldest, recent}},
		{"the requesting clinician sees held results too", w.clinician, map[string]any{}, []string{oldest, mental, recent, held}},
		{"from and to bound when the samples were taken", w.alice,
			map[string]any{"from": rfc(now.Add(-25 * day)), "to": rfc(now.Add(-10 * day))}, []string{mental, recent}},
	} {
		if got := resultIDs(w.series(tc.token, tc.vars)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: want %v, got %v", tc.name, tc.want, got)
		}
	}
	ps := w.series(w.alice, map[string]any{})
	if p := ps[0]; p.ValueNumeric == nil || *p.ValueNumeric != 98 || p.Flag == nil || *p.Flag != "LOW" || !closeTo(p.TakenAt, now.Add(-30*day)) {
		t.Errorf("the oldest point: %+v", p)
	}

	w.e.counter.Reset()
	w.series(w.alice, map[string]any{"to": rfc(now.Add(-25 * day))})
	one := w.e.counter.Count()
	w.e.counter.Reset()
	w.series(w.alice, map[string]any{})
	if three := w.e.counter.Count(); three != one {
		t.Errorf("SQL statements for one point: %d, for three: %d", one, three)
	}
}

// recordAllergy records an allergy and returns it as the recorder reads it.
func (w *sharingWorld) recordAllergy(token string, input map[string]any) allergyView {
	w.t.Helper()
	res := w.e.post(token, recordAllergyMutation, map[string]any{"input": input})
	if len(res.Errors) > 0 {
		w.t.Fatalf("recordAllergy: %s", res.raw)
	}
	var data struct{ RecordAllergy allergyView }
	res.decode(w.t, &data)
	return data.RecordAllergy
}

// allergyState reads Alice's allergy state as a token's viewer.
func (w *sharingWorld) allergyState(token string) string {
	w.t.Helper()
	res := w.e.post(token, allergyStateQuery, map[string]any{"id": w.f.Alice.PatientID})
	if len(res.Errors) > 0 {
		w.t.Fatalf("allergyState: %s", res.raw)
	}
	var data struct{ Patient struct{ AllergyState string } }
	res.decode(w.t, &data)
	return data.Patient.AllergyState
}

func TestThePatientRecordsChangesAndRemovesTheirOwnAllergy(t *testing.T) {
	w := newSharingWorld(t)
	a := w.recordAllergy(w.alice, map[string]any{
		"patientId": w.f.Alice.PatientID, "substance": " Penicillin ", "reaction": "Rash", "severity": "MODERATE",
	})
	if a.Kind != "ALLERGY" || a.Substance != "Penicillin" || a.RecordedBy != "PATIENT" || a.SourceOrganisation != nil ||
		a.Category != "GENERAL" || a.Status != "ACTIVE" || a.Severity == nil || *a.Severity != "MODERATE" {
		t.Errorf("a patient-recorded allergy: %+v", a)
	}

	update := func(token string, input map[string]any) gqlResponse {
		return w.e.post(token, updateAllergyMutation, map[string]any{"id": a.ID, "input": input})
	}
	wantCode(t, "a stale expectedUpdatedAt",
		update(w.alice, map[string]any{"expectedUpdatedAt": rfc(w.e.clock.Now().Add(-time.Hour)), "reaction": "Hives"}), "CONFLICT")
	wantCode(t, "the carer changes the patient's entry",
		update(w.carer, map[string]any{"expectedUpdatedAt": a.UpdatedAt, "reaction": "Hives"}), "FORBIDDEN")
	wantCode(t, "the clinician changes the patient's entry",
		update(w.clinician, map[string]any{"expectedUpdatedAt": a.UpdatedAt, "reaction": "Hives"}), "NOT_FOUND")
	wantFields(t, "a blank substance",
		update(w.alice, map[string]any{"expectedUpdatedAt": a.UpdatedAt, "substance": "  "}), "input.substance")
	res := update(w.alice, map[string]any{"expectedUpdatedAt": a.UpdatedAt, "reaction": "Hives", "severity": "SEVERE"})
	if len(res.Errors) > 0 {
		t.Fatalf("updateAllergy: %s", res.raw)
	}
	var data struct{ UpdateAllergy allergyView }
	res.decode(t, &data)
	if u := data.UpdateAllergy; u.Reaction == nil || *u.Reaction != "Hives" || u.Severity == nil || *u.Severity != "SEVERE" || u.Substance != "Penicillin" {
		t.Errorf("the updated allergy: %+v", u)
	}

	wantCode(t, "the carer removes the patient's entry", w.e.post(w.carer, removeAllergyMutation, map[string]any{"id": a.ID}), "FORBIDDEN")
	if res := w.e.post(w.alice, removeAllergyMutation, map[string]any{"id": a.ID}); len(res.Errors) > 0 || string(res.Data) != `{"removeAllergy":true}` {
		t.Fatalf("removeAllergy: %s", res.raw)
	}
	if n, err := w.db().Allergy.Query().Where(allergy.ID(pulid.ID(a.ID))).Count(w.sys()); err != nil || n != 0 {
		t.Errorf("the removed allergy is still stored: %d %v", n, err)
	}
	wantCode(t, "removing it again", w.e.post(w.alice, removeAllergyMutation, map[string]any{"id": a.ID}), "NOT_FOUND")
	for _, action := range []string{"ALLERGY_RECORDED", "ALLERGY_UPDATED", "ALLERGY_REMOVED"} {
		es := w.audits(action)
		if len(es) != 1 || *es[0].PatientID != w.f.Alice.PatientID || *es[0].ActorAccountID != w.f.Alice.AccountID ||
			es[0].ActorOrganisationID != nil {
			t.Errorf("%s audit events: %+v", action, es)
		}
	}
}

func TestATrustAllergyIsChangedOnlyByTheRecordingOrganisation(t *testing.T) {
	w := newSharingWorld(t)
	a := w.recordAllergy(w.clinician, map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID,
		"substance": "Latex", "reaction": "Anaphylaxis", "criticality": "HIGH",
	})
	if a.RecordedBy != "TRUST" || a.SourceOrganisation == nil || a.SourceOrganisation.Name != "Test Hospitals NHS Trust" ||
		a.Recorder == nil || *a.Recorder != "Dr Clinician" || a.Category != "GENERAL" {
		t.Errorf("a clinician-recorded allergy: %+v", a)
	}
	if es := w.audits("ALLERGY_RECORDED"); len(es) != 1 || es[0].ActorOrganisationID == nil || *es[0].ActorOrganisationID != w.f.OrgID {
		t.Errorf("ALLERGY_RECORDED audit events: %+v", es)
	}
	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	w.link(w.f.Alice.PatientID, other)
	_, otherDoctor := w.staff("other@example.org", "Dr Other", other, membership.RoleCLINICIAN)

	change := map[string]any{"expectedUpdatedAt": a.UpdatedAt, "substance": "Peanut"}
	before := w.recordCounts()
	for _, tc := range []struct {
		name, token, doc, code string
	}{
		{"the patient edits a trust allergy", w.alice, updateAllergyMutation, "FORBIDDEN"},
		{"the patient removes a trust allergy", w.alice, removeAllergyMutation, "FORBIDDEN"},
		{"a clinician of another trust edits it", otherDoctor, updateAllergyMutation, "NOT_FOUND"},
		{"a clinician of another trust removes it", otherDoctor, removeAllergyMutation, "NOT_FOUND"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, tc.doc, map[string]any{"id": a.ID, "input": change}), tc.code)
	}
	if after := w.recordCounts(); after != before {
		t.Errorf("a refused change changed the store: %v → %v", before, after)
	}
	if got, err := w.db().Allergy.Get(w.sys(), pulid.ID(a.ID)); err != nil || got.Substance != "Latex" {
		t.Errorf("a refused change changed the allergy: %+v %v", got, err)
	}
	res := w.e.post(w.clinician, updateAllergyMutation, map[string]any{"id": a.ID, "input": map[string]any{
		"expectedUpdatedAt": a.UpdatedAt, "status": "RESOLVED"}})
	var data struct{ UpdateAllergy allergyView }
	if res.decode(t, &data); len(res.Errors) > 0 || data.UpdateAllergy.Status != "RESOLVED" {
		t.Errorf("the recording clinician resolves it: %s", res.raw)
	}
	wantCode(t, "a clinician records for an organisation not theirs",
		w.e.post(w.clinician, recordAllergyMutation, map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "organisationId": other, "substance": "Peanut"}}), "FORBIDDEN")
	wantCode(t, "the carer records as the patient",
		w.e.post(w.carer, recordAllergyMutation, map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "substance": "Peanut"}}), "FORBIDDEN")
	wantCode(t, "a patient records on another's record",
		w.e.post(w.bob, recordAllergyMutation, map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "substance": "Peanut"}}), "NOT_FOUND")
}

func TestAllergyInputIsValidatedAndChangesNothing(t *testing.T) {
	w := newSharingWorld(t)
	for _, tc := range []struct {
		name  string
		input map[string]any
		paths []string
	}{
		{"an allergy needs a substance", map[string]any{"reaction": "Rash"}, []string{"input.substance"}},
		{"a blank substance is no substance", map[string]any{"substance": "   "}, []string{"input.substance"}},
		{"no known allergies has no substance", map[string]any{"noKnownAllergies": true, "substance": "Penicillin"}, []string{"input.substance"}},
		{"texts have a length limit", map[string]any{"substance": strings.Repeat("é", 256), "reaction": strings.Repeat("b", 256)},
			[]string{"input.substance", "input.reaction"}},
	} {
		before := w.recordCounts()
		tc.input["patientId"] = w.f.Alice.PatientID
		wantFields(t, tc.name, w.e.post(w.alice, recordAllergyMutation, map[string]any{"input": tc.input}), tc.paths...)
		if after := w.recordCounts(); after != before {
			t.Errorf("%s: the store changed: %v → %v", tc.name, before, after)
		}
	}
}

func TestAllergyStateTellsNoKnownAllergiesFromNothingRecorded(t *testing.T) {
	w := newSharingWorld(t)
	_, err := w.db().Allergy.Delete().Where(allergy.PatientID(w.f.Alice.PatientID)).Exec(w.sys())
	w.must(err)
	want := func(step, patient, carer string) {
		t.Helper()
		if got := w.allergyState(w.alice); got != patient {
			t.Errorf("%s: the patient reads %s, want %s", step, got, patient)
		}
		if got := w.allergyState(w.carer); got != carer {
			t.Errorf("%s: the carer reads %s, want %s", step, got, carer)
		}
	}
	want("nothing recorded", "NONE_RECORDED", "NONE_RECORDED")

	nka := w.recordAllergy(w.alice, map[string]any{"patientId": w.f.Alice.PatientID, "noKnownAllergies": true})
	if nka.Kind != "NO_KNOWN_ALLERGIES" || nka.Substance != "No known allergies" {
		t.Errorf("a no known allergies statement: %+v", nka)
	}
	want("no known allergies recorded", "NO_KNOWN_ALLERGIES", "NO_KNOWN_ALLERGIES")

	w.recordAllergy(w.alice, map[string]any{"patientId": w.f.Alice.PatientID, "substance": "Latex", "category": "PRIVATE"})
	want("a private allergy", "HAS_ALLERGIES", "NO_KNOWN_ALLERGIES")

	w.recordAllergy(w.clinician, map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID,
		"substance": "Aspirin", "status": "INACTIVE"})
	want("an inactive allergy", "HAS_ALLERGIES", "NO_KNOWN_ALLERGIES")

	w.recordAllergy(w.clinician, map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "substance": "Penicillin"})
	want("a trust allergy", "HAS_ALLERGIES", "HAS_ALLERGIES")

	if n, err := w.db().AuditEvent.Query().Where(auditevent.Action("ALLERGY_RECORDED")).Count(w.sys()); err != nil || n != 4 {
		t.Errorf("ALLERGY_RECORDED audit events: %d %v", n, err)
	}
}
