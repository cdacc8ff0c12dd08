package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/careresource"
	"github.com/patientportal/portal/ent/journalentry"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/ent/symptom"
	"github.com/patientportal/portal/server/store/storetest"
)

const (
	recordSymptomDoc = `mutation($input: RecordSymptomInput!) { recordSymptom(input: $input) {
    id category name severity occurredAt notes sourceOrganisation { id } } }`
	symptomSeriesDoc = `query($id: ID!, $name: String!, $from: Time, $to: Time) { patient(id: $id) {
    symptomSeries(name: $name, from: $from, to: $to) { symptomId occurredAt severity } } }`
	joFields         = `id updatedAt category title body writtenAt sourceOrganisation { id }`
	addJournalDoc    = `mutation($input: AddJournalEntryInput!) { addJournalEntry(input: $input) { ` + joFields + ` } }`
	updateJournalDoc = `mutation($id: ID!, $input: UpdateJournalEntryInput!) { updateJournalEntry(id: $id, input: $input) { ` + joFields + ` } }`
	deleteJournalDoc = `mutation($id: ID!) { deleteJournalEntry(id: $id) }`
	journalPathsDoc  = `query($p: ID!, $id: ID!) {
    patient(id: $p) {
      all: journalEntries(first: 100) { totalCount edges { node { id } } }
      private: journalEntries(first: 100, where: {category: PRIVATE}) { totalCount edges { node { id } } } }
    node(id: $id) { id }
    nodes(ids: [$id, $id]) { id } }` // two IDs: entgql's Noders answers one ID with an error
	crFields      = `id category title description link body tags assignedAt completedAt sourceOrganisation { id }`
	assignCRDoc   = `mutation($input: AssignCareResourceInput!) { assignCareResource(input: $input) { ` + crFields + ` } }`
	completeCRDoc = `mutation($id: ID!) { completeCareResource(id: $id) { ` + crFields + ` } }`
	careListDoc   = `query($p: ID!) { patient(id: $p) {
    careResources(first: 100, orderBy: {field: ASSIGNED_AT, direction: DESC}) { totalCount edges { node { id } } } } }`
)

// symptomView is a symptom as the API answers it.
type symptomView struct {
	ID, Category, Name, OccurredAt string
	Severity                       int
	Notes                          *string
	SourceOrganisation             *struct{ ID string }
}

// journalView is a journal entry as the API answers it.
type journalView struct {
	ID, UpdatedAt, Category, Title, Body, WrittenAt string
	SourceOrganisation                              *struct{ ID string }
}

// careView is a care resource as the API answers it.
type careView struct {
	ID, Category, Title, AssignedAt string
	Description, Link, Body         *string
	CompletedAt                     *string
	Tags                            []string
	SourceOrganisation              *struct{ ID string }
}

// trackingWorld is the sharing fixture with a second carer of Alice's who
// holds all three labels, and a second trust.
type trackingWorld struct {
	*sharingWorld
	// fullCarer holds MENTAL_HEALTH, SEXUAL_HEALTH and SOCIAL_CARE (so
	// RESTRICTED too): everything but PRIVATE.
	fullCarer string
	otherOrg  pulid.ID
	// other is a clinician of otherOrg only, with no tie to Alice.
	other string
	now   time.Time
}

func newTrackingWorld(t *testing.T) *trackingWorld {
	t.Helper()
	w := &trackingWorld{sharingWorld: newSharingWorld(t)}
	acc, err := w.db().Account.Create().SetEmail("full.carer@example.org").SetDisplayName("Fay Carer").
		SetPasswordHash(fixtureHash(t)).Save(w.sys())
	w.must(err)
	w.must(w.db().Share.Create().SetPatientID(w.f.Alice.PatientID).SetGranteeAccountID(acc.ID).
		SetRelationship(share.RelationshipCARER).SetAcceptedAt(w.e.clock.Now()).
		SetMentalHealth(true).SetSexualHealth(true).SetSocialCare(true).Exec(w.sys()))
	w.fullCarer = w.e.signIn("full.carer@example.org", fixturePassword)
	w.otherOrg = w.organisation("RYY", "Other Hospitals NHS Trust", organisation.KindTRUST, false)
	_, w.other = w.staff("other.clinician@example.org", "Dr Other", w.otherOrg, membership.RoleCLINICIAN)
	w.now = w.e.clock.Now().UTC().Truncate(time.Second)
	return w
}

// at is a time relative to the test's now, as the API takes it.
func (w *trackingWorld) at(d time.Duration) string { return w.now.Add(d).Format(time.RFC3339) }

// call sends a document as token and decodes its one field into into (left
// alone when the field is null).
func (w *trackingWorld) call(token, doc string, vars map[string]any, into any) gqlResponse {
	w.t.Helper()
	res := w.e.post(token, doc, vars)
	var data map[string]json.RawMessage
	res.decode(w.t, &data)
	for _, v := range data {
		if string(v) != "null" {
			res.Data = v
			res.decode(w.t, into)
			res.Data = nil
		}
	}
	return res
}

// symptom records a symptom for Alice as Alice; fields override the defaults.
func (w *trackingWorld) symptom(fields map[string]any) symptomView {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "name": "Migraine", "severity": 4,
		"occurredAt": w.at(-time.Hour)}
	for k, v := range fields {
		input[k] = v
	}
	var s symptomView
	if res := w.call(w.alice, recordSymptomDoc, map[string]any{"input": input}, &s); len(res.Errors) > 0 {
		w.t.Fatalf("recordSymptom %v: %s", fields, res.raw)
	}
	return s
}

// series is Alice's history of one symptom as token sees it.
func (w *trackingWorld) series(token, name string, from, to *string) []int {
	w.t.Helper()
	vars := map[string]any{"id": w.f.Alice.PatientID, "name": name, "from": from, "to": to}
	var p struct {
		SymptomSeries []struct {
			SymptomID, OccurredAt string
			Severity              int
		}
	}
	if res := w.call(token, symptomSeriesDoc, vars, &p); len(res.Errors) > 0 {
		w.t.Fatalf("symptomSeries: %s", res.raw)
	}
	var severities []int
	for i, pt := range p.SymptomSeries {
		if i > 0 && pt.OccurredAt < p.SymptomSeries[i-1].OccurredAt {
			w.t.Errorf("series not oldest first: %+v", p.SymptomSeries)
		}
		severities = append(severities, pt.Severity)
	}
	return severities
}

// journal adds an entry to Alice's journal as Alice.
func (w *trackingWorld) journal(fields map[string]any) journalView {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "title": "Tuesday", "body": "Slept badly."}
	for k, v := range fields {
		input[k] = v
	}
	var j journalView
	if res := w.call(w.alice, addJournalDoc, map[string]any{"input": input}, &j); len(res.Errors) > 0 {
		w.t.Fatalf("addJournalEntry %v: %s", fields, res.raw)
	}
	return j
}

// assign assigns a care resource to Alice as the trust's clinician.
func (w *trackingWorld) assign(fields map[string]any) careView {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "title": "Managing back pain"}
	for k, v := range fields {
		input[k] = v
	}
	var c careView
	if res := w.call(w.clinician, assignCRDoc, map[string]any{"input": input}, &c); len(res.Errors) > 0 {
		w.t.Fatalf("assignCareResource %v: %s", fields, res.raw)
	}
	return c
}

// writes counts what a refused call must leave alone: symptoms, journal
// entries, care resources, audit events other than reads, notifications.
func (w *trackingWorld) writes() [5]int {
	w.t.Helper()
	ctx := w.sys()
	var n [5]int
	var err error
	for i, count := range []func(context.Context) (int, error){
		w.db().Symptom.Query().Count,
		w.db().JournalEntry.Query().Count,
		w.db().CareResource.Query().Count,
		w.db().AuditEvent.Query().Where(auditevent.ActionNEQ("READ")).Count,
		w.db().Notification.Query().Count,
	} {
		n[i], err = count(ctx)
		w.must(err)
	}
	return n
}

func TestSymptomsAreRecordedAndChartedAsEachViewerMaySee(t *testing.T) {
	w := newTrackingWorld(t)
	notes := "after screen work"
	first := w.symptom(map[string]any{"name": "  Migraine ", "severity": 3, "occurredAt": w.at(-3 * time.Hour),
		"notes": notes})
	if first.Name != "Migraine" || first.Category != "GENERAL" || first.Severity != 3 ||
		first.Notes == nil || *first.Notes != notes || first.SourceOrganisation != nil {
		t.Errorf("recorded symptom: %+v", first)
	}
	if first.OccurredAt != w.at(-3*time.Hour) {
		t.Errorf("occurredAt %s, want %s in UTC", first.OccurredAt, w.at(-3*time.Hour))
	}
	w.symptom(map[string]any{"severity": 7, "occurredAt": w.at(-time.Hour), "category": "MENTAL_HEALTH"})
	w.symptom(map[string]any{"severity": 5, "occurredAt": w.at(-2 * time.Hour)})
	w.symptom(map[string]any{"severity": 9, "occurredAt": w.at(-30 * time.Minute), "category": "PRIVATE"})
	w.symptom(map[string]any{"name": "Nausea", "severity": 2})
	if n := len(w.audits("SYMPTOM_RECORDED")); n != 5 {
		t.Errorf("%d SYMPTOM_RECORDED audit events, want 5", n)
	}

	from, to := w.at(-150*time.Minute), w.at(-45*time.Minute)
	for _, tc := range []struct {
		name     string
		token    string
		symptom  string
		from, to *string
		want     []int
	}{
		{"the patient sees every entry oldest first", w.alice, "Migraine", nil, nil, []int{3, 5, 7, 9}},
		{"the name matches without regard to case", w.alice, "migraine", nil, nil, []int{3, 5, 7, 9}},
		{"from is inclusive and to exclusive", w.alice, "Migraine", &from, &to, []int{5, 7}},
		{"a carer without MENTAL_HEALTH sees only the general entries", w.carer, "Migraine", nil, nil, []int{3, 5}},
		{"a carer with every label still does not see the private entry", w.fullCarer, "Migraine", nil, nil, []int{3, 5, 7}},
		{"a clinician sees nothing the patient recorded", w.clinician, "Migraine", nil, nil, nil},
		{"another symptom is another series", w.alice, "Nausea", nil, nil, []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.series(tc.token, tc.symptom, tc.from, tc.to); !slices.Equal(got, tc.want) {
				t.Errorf("severities %v, want %v", got, tc.want)
			}
		})
	}
	res := w.e.post(w.alice, symptomSeriesDoc, map[string]any{"id": w.f.Alice.PatientID, "name": "Migraine",
		"from": to, "to": from})
	wantFields(t, "to before from", res, "to")
}

func TestBadSymptomsAreRefusedWithTheirFieldsAndWriteNothing(t *testing.T) {
	w := newTrackingWorld(t)
	before := w.writes()
	for _, tc := range []struct {
		name   string
		fields map[string]any
		want   []string
	}{
		{"severity 11 is out of range", map[string]any{"severity": 11}, []string{"input.severity"}},
		{"a negative severity is out of range", map[string]any{"severity": -1}, []string{"input.severity"}},
		{"a blank name is refused", map[string]any{"name": "   "}, []string{"input.name"}},
		{"a name over 100 characters is refused", map[string]any{"name": strings.Repeat("é", 101)}, []string{"input.name"}},
		{"notes over 4000 characters are refused", map[string]any{"notes": strings.Repeat("x", 4001)}, []string{"input.notes"}},
		{"a symptom in the future is refused", map[string]any{"occurredAt": w.at(time.Hour)}, []string{"input.occurredAt"}},
		{"every bad field is reported at once", map[string]any{"name": "", "severity": 11, "occurredAt": w.at(time.Hour)},
			[]string{"input.name", "input.occurredAt", "input.severity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := map[string]any{"patientId": w.f.Alice.PatientID, "name": "Migraine", "severity": 4,
				"occurredAt": w.at(-time.Hour)}
			for k, v := range tc.fields {
				input[k] = v
			}
			res := w.e.post(w.alice, recordSymptomDoc, map[string]any{"input": input})
			if got := badFields(res); !slices.Equal(got, tc.want) || !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
				t.Errorf("want BAD_USER_INPUT on %v, got %s", tc.want, res.raw)
			}
		})
	}
	if after := w.writes(); after != before {
		t.Errorf("refused symptoms wrote: %v then %v", before, after)
	}
}

func TestJournalEntriesChangeOnlyFromTheVersionRead(t *testing.T) {
	w := newTrackingWorld(t)
	j := w.journal(map[string]any{"title": " Tuesday ", "writtenAt": w.at(-time.Hour)})
	if j.Title != "Tuesday" || j.Body != "Slept badly." || j.Category != "GENERAL" ||
		j.WrittenAt != w.at(-time.Hour) || j.SourceOrganisation != nil {
		t.Errorf("added entry: %+v", j)
	}
	if unset := w.journal(nil); !closeTo(unset.WrittenAt, w.e.clock.Now()) {
		t.Errorf("writtenAt defaults to now: %s", unset.WrittenAt)
	}

	var updated journalView
	res := w.call(w.alice, updateJournalDoc, map[string]any{"id": j.ID, "input": map[string]any{
		"expectedUpdatedAt": j.UpdatedAt, "body": "Slept well in the end.", "category": "MENTAL_HEALTH"}}, &updated)
	if len(res.Errors) > 0 || updated.Body != "Slept well in the end." || updated.Title != "Tuesday" ||
		updated.Category != "MENTAL_HEALTH" || updated.UpdatedAt == j.UpdatedAt {
		t.Fatalf("update from the version read: %+v %s", updated, res.raw)
	}

	for _, tc := range []struct {
		name  string
		input map[string]any
		code  string
		paths []string
	}{
		{"a stale version conflicts", map[string]any{"expectedUpdatedAt": j.UpdatedAt, "body": "Lost update"}, "CONFLICT", nil},
		{"a blank title is refused", map[string]any{"expectedUpdatedAt": updated.UpdatedAt, "title": " "}, "BAD_USER_INPUT", []string{"input.title"}},
		{"a blank body is refused", map[string]any{"expectedUpdatedAt": updated.UpdatedAt, "body": ""}, "BAD_USER_INPUT", []string{"input.body"}},
		{"an over-long title is refused", map[string]any{"expectedUpdatedAt": updated.UpdatedAt, "title": strings.Repeat("t", 256)},
			"BAD_USER_INPUT", []string{"input.title"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := w.e.post(w.alice, updateJournalDoc, map[string]any{"id": j.ID, "input": tc.input})
			wantCode(t, tc.name, res, tc.code)
			if got := badFields(res); !slices.Equal(got, tc.paths) {
				t.Errorf("fields %v, want %v", got, tc.paths)
			}
		})
	}
	row, err := w.db().JournalEntry.Get(w.sys(), pulid.ID(j.ID))
	w.must(err)
	if row.Body != "Slept well in the end." || row.Title != "Tuesday" {
		t.Errorf("a refused update changed the entry: %q %q", row.Title, row.Body)
	}
	if n := len(w.audits("JOURNAL_ENTRY_UPDATED")); n != 1 {
		t.Errorf("%d JOURNAL_ENTRY_UPDATED audit events, want 1", n)
	}
	if n := len(w.audits("JOURNAL_ENTRY_ADDED")); n != 2 {
		t.Errorf("%d JOURNAL_ENTRY_ADDED audit events, want 2", n)
	}
}

func TestAPrivateJournalEntryIsThePatientsAloneByEveryPath(t *testing.T) {
	w := newTrackingWorld(t)
	type seen struct {
		total, privateTotal                int
		listed, privateListed, node, nodes bool
	}
	look := func(token, id string) seen {
		t.Helper()
		res := w.e.post(token, journalPathsDoc, map[string]any{"p": w.f.Alice.PatientID, "id": id})
		if len(res.Errors) > 0 {
			t.Fatalf("journal paths of %s: %s", id, res.raw)
		}
		type conn struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID string } }
		}
		var data struct {
			Patient struct{ All, Private conn }
			Node    *struct{ ID string }
			Nodes   []*struct{ ID string }
		}
		res.decode(t, &data)
		has := func(c conn) bool {
			return slices.ContainsFunc(c.Edges, func(e struct{ Node struct{ ID string } }) bool { return e.Node.ID == id })
		}
		return seen{
			total: data.Patient.All.TotalCount, privateTotal: data.Patient.Private.TotalCount,
			listed: has(data.Patient.All), privateListed: has(data.Patient.Private),
			node: data.Node != nil, nodes: len(data.Nodes) == 2 && data.Nodes[0] != nil,
		}
	}
	viewers := []struct {
		name  string
		token string
	}{{"a carer with every label", w.fullCarer}, {"a carer with GENERAL", w.carer}, {"a clinician of the trust", w.clinician}}
	// Counts before the entry exists: it must not move them.
	anyID := string(w.f.AliceNodes["JournalEntry"][0])
	beforeCounts := map[string]seen{}
	for _, v := range viewers {
		beforeCounts[v.name] = look(v.token, anyID)
	}
	notes := w.writes()[4]

	j := w.journal(map[string]any{"title": "Just for me", "body": "Nobody else reads this.", "category": "PRIVATE"})
	if j.Category != "PRIVATE" {
		t.Fatalf("category %s, want PRIVATE", j.Category)
	}
	own := look(w.alice, j.ID)
	if !own.listed || !own.privateListed || !own.node || !own.nodes || own.privateTotal < 1 {
		t.Errorf("the patient sees their private entry by every path: %+v", own)
	}
	for _, v := range viewers {
		t.Run(v.name+" sees no trace of it", func(t *testing.T) {
			got := look(v.token, j.ID)
			before := beforeCounts[v.name]
			if got.listed || got.privateListed || got.node || got.nodes {
				t.Errorf("reached the private entry: %+v", got)
			}
			if got.total != before.total || got.privateTotal != 0 {
				t.Errorf("counts moved: %+v before, %+v after", before, got)
			}
			wantCode(t, "changing it", w.e.post(v.token, updateJournalDoc, map[string]any{"id": j.ID,
				"input": map[string]any{"expectedUpdatedAt": j.UpdatedAt, "body": "x"}}), "NOT_FOUND")
			wantCode(t, "deleting it", w.e.post(v.token, deleteJournalDoc, map[string]any{"id": j.ID}), "NOT_FOUND")
		})
	}
	if after := w.writes()[4]; after != notes {
		t.Errorf("a journal entry wrote %d notifications", after-notes)
	}
}

func TestADeletedJournalEntryLeavesNoTextBehind(t *testing.T) {
	w := newTrackingWorld(t)
	marker := "zebra-" + strings.ToLower(rand.Text())
	first := marker + "-first-draft"
	j := w.journal(map[string]any{"title": "About " + marker, "body": first})
	var updated journalView
	if res := w.call(w.alice, updateJournalDoc, map[string]any{"id": j.ID, "input": map[string]any{
		"expectedUpdatedAt": j.UpdatedAt, "body": marker + "-second-draft"}}, &updated); len(res.Errors) > 0 {
		t.Fatalf("update: %s", res.raw)
	}
	files := sqliteFiles(t, w)
	if files != nil && !slices.ContainsFunc(files, func(p string) bool { return fileHas(t, p, marker) }) {
		t.Fatal("the check cannot see the entry's text before deletion")
	}

	for _, tc := range []struct{ name, token, code string }{
		{"a carer who sees the entry may not delete it", w.carer, "FORBIDDEN"},
		{"a clinician who cannot see it is told it does not exist", w.clinician, "NOT_FOUND"},
		{"another patient is told it does not exist", w.bob, "NOT_FOUND"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, deleteJournalDoc, map[string]any{"id": j.ID}), tc.code)
	}
	res := w.e.post(w.alice, deleteJournalDoc, map[string]any{"id": j.ID})
	if len(res.Errors) > 0 || string(res.Data) != `{"deleteJournalEntry":true}` {
		t.Fatalf("delete: %s", res.raw)
	}
	wantCode(t, "deleting it again", w.e.post(w.alice, deleteJournalDoc, map[string]any{"id": j.ID}), "NOT_FOUND")
	if n, err := w.db().JournalEntry.Query().Where(journalentry.ID(pulid.ID(j.ID))).Count(w.sys()); err != nil || n != 0 {
		t.Errorf("the row is still there (%d, %v)", n, err)
	}
	deleted := w.audits("JOURNAL_ENTRY_DELETED")
	if len(deleted) != 1 || !slices.Equal(deleted[0].RecordKinds, []string{"JournalEntry"}) {
		t.Errorf("want one JOURNAL_ENTRY_DELETED event naming the kind only, got %+v", deleted)
	}
	if n, err := w.db().Notification.Query().Where(notification.SubjectID(pulid.ID(j.ID))).Count(w.sys()); err != nil || n != 0 {
		t.Errorf("%d notifications about the entry (%v)", n, err)
	}
	mails, err := w.db().MailMessage.Query().All(w.sys())
	w.must(err)
	for _, m := range mails {
		if strings.Contains(m.Subject+m.TextBody, marker) {
			t.Errorf("mail %s quotes the entry", m.ID)
		}
	}

	if files == nil {
		t.Skipf("the byte check reads SQLite's files; on %s the database server keeps its own", storetest.Engine())
	}
	for _, p := range files {
		if fileHas(t, p, marker) {
			t.Errorf("%s still holds the deleted entry's text", p)
		}
	}
}

// sqliteFiles returns the SQLite database file of the world's store and
// its write-ahead log, or nil on MySQL.
func sqliteFiles(t *testing.T, w *trackingWorld) []string {
	t.Helper()
	if storetest.Engine() != "sqlite" {
		return nil
	}
	var seq int
	var name, path string
	w.must(w.e.store.DB.QueryRowContext(t.Context(), "PRAGMA database_list").Scan(&seq, &name, &path))
	if path == "" {
		t.Fatal("the store is not a file")
	}
	return []string{path, path + "-wal"}
}

// fileHas reports whether the file at path holds text; a missing file
// holds nothing.
func fileHas(t *testing.T, path, text string) bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(b, []byte(text))
}

func TestCareResourcesReachThePatientNewestFirst(t *testing.T) {
	w := newTrackingWorld(t)
	leaflet := w.assign(map[string]any{"description": "What to try first", "link": "https://www.nhs.uk/conditions/back-pain/",
		"body": "Keep moving.", "tags": []string{" back ", "pain", "back"}})
	if leaflet.Category != "GENERAL" || leaflet.SourceOrganisation == nil || leaflet.SourceOrganisation.ID != string(w.f.OrgID) ||
		!slices.Equal(leaflet.Tags, []string{"back", "pain"}) || leaflet.CompletedAt != nil || !closeTo(leaflet.AssignedAt, w.e.clock.Now()) {
		t.Errorf("assigned resource: %+v", leaflet)
	}
	w.e.clock.Advance(time.Minute)
	talking := w.assign(map[string]any{"title": "Talking therapies", "category": "MENTAL_HEALTH"})
	w.e.clock.Advance(time.Minute)
	sleep := w.assign(map[string]any{"title": "Sleep diary"})

	subjects := map[string]string{}
	for _, n := range w.notes(w.f.Alice.AccountID, notification.KindCARE_RESOURCE_ASSIGNED) {
		subjects[string(*n.SubjectID)] = string(n.Category)
	}
	if want := map[string]string{leaflet.ID: "GENERAL", talking.ID: "MENTAL_HEALTH", sleep.ID: "GENERAL"}; !maps.Equal(subjects, want) {
		t.Errorf("notifications %v, want %v", subjects, want)
	}
	if n := len(w.audits("CARE_RESOURCE_ASSIGNED")); n != 3 {
		t.Errorf("%d CARE_RESOURCE_ASSIGNED audit events, want 3", n)
	}

	assigned := []string{sleep.ID, talking.ID, leaflet.ID}
	for _, tc := range []struct {
		name  string
		token string
		want  []string
	}{
		{"the patient sees them newest first", w.alice, assigned},
		{"a carer without MENTAL_HEALTH does not see the therapy resource", w.carer, []string{sleep.ID, leaflet.ID}},
		{"the assigning clinician sees what their trust assigned", w.clinician, assigned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var data struct {
				Patient struct {
					CareResources struct {
						Edges []struct{ Node struct{ ID string } }
					}
				}
			}
			res := w.e.post(tc.token, careListDoc, map[string]any{"p": w.f.Alice.PatientID})
			if len(res.Errors) > 0 {
				t.Fatalf("careResources: %s", res.raw)
			}
			res.decode(t, &data)
			var got []string
			for _, e := range data.Patient.CareResources.Edges {
				if slices.Contains(assigned, e.Node.ID) {
					got = append(got, e.Node.ID)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct{ name, token, code string }{
		{"a carer may not complete it", w.carer, "FORBIDDEN"},
		{"the clinician may not complete it for the patient", w.clinician, "FORBIDDEN"},
		{"another patient is told it does not exist", w.bob, "NOT_FOUND"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, completeCRDoc, map[string]any{"id": leaflet.ID}), tc.code)
	}
	var done, again careView
	w.call(w.alice, completeCRDoc, map[string]any{"id": leaflet.ID}, &done)
	if done.CompletedAt == nil || !closeTo(*done.CompletedAt, w.e.clock.Now()) {
		t.Fatalf("completed: %+v", done)
	}
	w.e.clock.Advance(time.Minute)
	if res := w.call(w.alice, completeCRDoc, map[string]any{"id": leaflet.ID}, &again); len(res.Errors) > 0 {
		t.Fatalf("completing again: %s", res.raw)
	}
	if again.CompletedAt == nil || *again.CompletedAt != *done.CompletedAt {
		t.Errorf("completing again moved completedAt: %v then %v", *done.CompletedAt, again.CompletedAt)
	}
	if n := len(w.audits("CARE_RESOURCE_COMPLETED")); n != 1 {
		t.Errorf("%d CARE_RESOURCE_COMPLETED audit events, want 1", n)
	}
}

func TestCareResourcesComeOnlyFromTheCareTeamWithGoodInput(t *testing.T) {
	w := newTrackingWorld(t)
	// The trust's clinician also works for the second trust, which has
	// not yet sent Alice anything.
	w.role(w.f.Clinician.AccountID, w.otherOrg, membership.RoleCLINICIAN)
	w.clinician = w.e.signIn(w.f.Clinician.Email, fixturePassword)
	before := w.writes()
	long := strings.Repeat("t", 51)
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = string(rune('a' + i))
	}
	for _, tc := range []struct {
		name   string
		token  string
		fields map[string]any
		code   string
		paths  []string
	}{
		{"a carer may not assign", w.carer, nil, "FORBIDDEN", nil},
		{"the patient may not assign", w.alice, nil, "FORBIDDEN", nil},
		{"a clinician of another trust may not assign for this one", w.other, nil, "FORBIDDEN", nil},
		{"a clinician of another trust cannot reach the patient", w.other, map[string]any{"organisationId": w.otherOrg}, "NOT_FOUND", nil},
		{"a script link is refused", w.clinician, map[string]any{"link": "javascript:alert(1)"}, "BAD_USER_INPUT", []string{"input.link"}},
		{"a link without a host is refused", w.clinician, map[string]any{"link": "https:///x"}, "BAD_USER_INPUT", []string{"input.link"}},
		{"a link with credentials is refused", w.clinician, map[string]any{"link": "https://nhs.uk@evil.example/"}, "BAD_USER_INPUT", []string{"input.link"}},
		{"more than 20 tags are refused", w.clinician, map[string]any{"tags": tooMany}, "BAD_USER_INPUT", []string{"input.tags"}},
		{"a tag over 50 characters is refused", w.clinician, map[string]any{"tags": []string{"ok", long}}, "BAD_USER_INPUT", []string{"input.tags[1]"}},
		{"PRIVATE is the patient's own label", w.clinician, map[string]any{"category": "PRIVATE"}, "BAD_USER_INPUT", []string{"input.category"}},
		{"a blank title is refused", w.clinician, map[string]any{"title": " "}, "BAD_USER_INPUT", []string{"input.title"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "title": "Leaflet"}
			for k, v := range tc.fields {
				input[k] = v
			}
			res := w.e.post(tc.token, assignCRDoc, map[string]any{"input": input})
			wantCode(t, tc.name, res, tc.code)
			if got := badFields(res); !slices.Equal(got, tc.paths) {
				t.Errorf("fields %v, want %v", got, tc.paths)
			}
		})
	}
	if after := w.writes(); after != before {
		t.Errorf("refused assignments wrote: %v then %v", before, after)
	}

	r := w.assign(map[string]any{"organisationId": w.otherOrg})
	if r.SourceOrganisation == nil || r.SourceOrganisation.ID != string(w.otherOrg) {
		t.Errorf("source organisation %+v, want the acting trust", r.SourceOrganisation)
	}
	linked, err := w.db().PatientOrganisation.Query().Where(patientorganisation.PatientID(w.f.Alice.PatientID),
		patientorganisation.OrganisationID(w.otherOrg)).Exist(w.sys())
	w.must(err)
	if !linked {
		t.Error("assigning did not link the trust to the record")
	}
	if n, err := w.db().CareResource.Query().Where(careresource.SourceOrganisationID(w.otherOrg)).Count(w.sys()); err != nil || n != 1 {
		t.Errorf("%d resources from the second trust (%v)", n, err)
	}
}

func TestACarerWritesNothingToTheDiary(t *testing.T) {
	w := newTrackingWorld(t)
	general := w.journal(nil)
	before := w.writes()
	for _, tc := range []struct {
		name, token, doc, code string
		vars                   map[string]any
	}{
		{"a carer may not record a symptom", w.carer, recordSymptomDoc, "FORBIDDEN", map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "name": "Cough", "severity": 2, "occurredAt": w.at(-time.Hour)}}},
		{"a clinician may not record the patient's symptom", w.clinician, recordSymptomDoc, "FORBIDDEN", map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "name": "Cough", "severity": 2, "occurredAt": w.at(-time.Hour)}}},
		{"another patient is told the record does not exist", w.bob, recordSymptomDoc, "NOT_FOUND", map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "name": "Cough", "severity": 2, "occurredAt": w.at(-time.Hour)}}},
		{"a carer may not add a journal entry", w.fullCarer, addJournalDoc, "FORBIDDEN", map[string]any{"input": map[string]any{
			"patientId": w.f.Alice.PatientID, "title": "Visit", "body": "Came round."}}},
		{"a carer may not change an entry they can read", w.carer, updateJournalDoc, "FORBIDDEN", map[string]any{"id": general.ID,
			"input": map[string]any{"expectedUpdatedAt": general.UpdatedAt, "body": "Changed"}}},
		{"a carer may not delete an entry they can read", w.carer, deleteJournalDoc, "FORBIDDEN", map[string]any{"id": general.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.name, w.e.post(tc.token, tc.doc, tc.vars), tc.code)
		})
	}
	if after := w.writes(); after != before {
		t.Errorf("refused writes wrote: %v then %v", before, after)
	}
	n, err := w.db().Symptom.Query().Where(symptom.Name("Cough")).Count(w.sys())
	w.must(err)
	if n != 0 {
		t.Errorf("%d symptoms written by others", n)
	}
}
