package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// samples is the shared folder of real FHIR data (not in the repository).
const samples = "../../../shared/fhir-samples"

// needSamples skips when the shared FHIR samples are absent, as in a
// user's clone; CI always has them.
func needSamples(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(samples); err != nil {
		t.Skipf("the shared FHIR samples are absent (a user's clone): %v", err)
	}
}

// sampleFiles lists the sample files in the order they must go in: the
// hospital and practitioner batches first, as the patient bundles point
// into them.
func sampleFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(samples, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	first := func(p string) int {
		switch base := filepath.Base(p); {
		case strings.HasPrefix(base, "0-hospital"):
			return 0
		case strings.HasPrefix(base, "0-practitioner"):
			return 1
		case strings.Contains(p, "synthea"):
			return 2
		case strings.Contains(strings.ToLower(base), "patient"):
			return 3
		}
		return 4
	}
	slices.SortStableFunc(files, func(a, b string) int { return first(a) - first(b) })
	return files
}

// sampleRequest is how a sample goes in: a Bundle to /fhir/r4, any other
// resource to /fhir/r4/<Type>.
func sampleRequest(t *testing.T, path string) (string, []byte, int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		ResourceType string
		Entry        []json.RawMessage
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		t.Fatal(err)
	}
	if head.ResourceType == "Bundle" {
		return "/fhir/r4", raw, len(head.Entry)
	}
	return "/fhir/r4/" + head.ResourceType, raw, 1
}

// importAll sends every sample and checks that every entry has an outcome.
func importAll(t *testing.T, e *testEnv, key string) map[string]fhirReply {
	t.Helper()
	replies := map[string]fhirReply{}
	for _, file := range sampleFiles(t) {
		path, body, entries := sampleRequest(t, file)
		r := e.fhirPost(key, http.MethodPost, path, body)
		replies[file] = r
		name := filepath.Base(file)
		switch {
		case r.status >= 500:
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		case path != "/fhir/r4":
			// A single resource: stored (201/200) or refused with an outcome.
			if r.status >= 300 && r.body["resourceType"] != "OperationOutcome" {
				t.Errorf("%s: %d without an OperationOutcome: %s", name, r.status, r.raw)
			}
		case r.status != http.StatusOK:
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		default:
			statuses := r.entryStatuses()
			if len(statuses) != entries {
				t.Errorf("%s: %d outcomes for %d entries", name, len(statuses), entries)
			}
			for i, s := range statuses {
				if s == "" {
					t.Errorf("%s: entry %d has no status", name, i)
				}
			}
		}
	}
	return replies
}

// tableState is each table's row count and latest update, to show that a
// second import changed nothing.
func tableState(t *testing.T, e *testEnv) map[string]string {
	t.Helper()
	db := e.store.DB
	dialect := e.store.Dialect
	var tables []string
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose%'`
	if dialect != "sqlite3" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT LIKE 'goose%'`
	}
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	state := map[string]string{}
	for _, table := range tables {
		if table == "import_reports" || table == "api_keys" || table == "audit_events" {
			continue // each request is reported, its key marked used
		}
		var count int
		if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM `"+table+"`").Scan(&count); err != nil {
			t.Fatal(err)
		}
		latest := ""
		var updated any
		if err := db.QueryRowContext(context.Background(), "SELECT MAX(updated_at) FROM `"+table+"`").Scan(&updated); err == nil {
			latest = fmt.Sprint(updated)
		}
		state[table] = fmt.Sprintf("%d rows, last update %s", count, latest)
	}
	return state
}

// The acceptance run over the shared real data: every file goes in with an
// outcome for every entry; every Synthea transaction commits; the records
// the API shows for each Synthea patient are those its report says it
// took; a second import changes no row.
func TestEveryFHIRSampleGoesInWithAnOutcomeForEveryEntry(t *testing.T) {
	needSamples(t)
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	key := integrationKey(t, e.store.Client, "RXX")
	replies := importAll(t, e, key)

	clinician := e.signIn(f.Clinician.Email, fixturePassword)
	for file, r := range replies {
		if !strings.Contains(file, "synthea") || r.body["type"] != "transaction-response" {
			continue
		}
		name := filepath.Base(file)
		if r.status != http.StatusOK {
			t.Errorf("%s did not commit: %s", name, r.raw)
			continue
		}
		// What the report says it took, by the kind of portal record.
		took := map[string]map[string]bool{}
		var patientID string
		entries, _ := r.body["entry"].([]any)
		skipped := 0
		for _, entry := range entries {
			resp := entry.(map[string]any)["response"].(map[string]any)
			if resp["outcome"] != nil && strings.Contains(fmt.Sprint(resp["outcome"]), "not-supported") {
				skipped++
			}
			loc, _ := resp["location"].(string)
			_, id, ok := strings.Cut(loc, "/")
			if !ok {
				continue
			}
			prefix := id[:2]
			if took[prefix] == nil {
				took[prefix] = map[string]bool{}
			}
			took[prefix][id] = true
			if prefix == "pt" {
				patientID = id
			}
		}
		if skipped == 0 {
			t.Errorf("%s: no unsupported entry reported as skipped", name)
		}
		if patientID == "" {
			t.Fatalf("%s: no patient in the report", name)
		}
		res := e.post(clinician, `query($id: ID!) { patient(id: $id) {
		  results(first: 1) { totalCount } allergies(first: 1) { totalCount } appointments(first: 1) { totalCount }
		  encounters(first: 1) { totalCount } letters(first: 1) { totalCount } measurements(first: 1) { totalCount } } }`,
			map[string]any{"id": patientID})
		var data struct {
			Patient map[string]struct{ TotalCount int }
		}
		res.decode(t, &data)
		if data.Patient == nil {
			t.Fatalf("%s: the clinician cannot open the patient: %s", name, res.raw)
		}
		for field, prefix := range map[string]string{"results": "rs", "allergies": "al", "appointments": "ap",
			"encounters": "en", "letters": "lt", "measurements": "me"} {
			if got, want := data.Patient[field].TotalCount, len(took[prefix]); got != want {
				t.Errorf("%s: the API shows %d %s, the report took %d", name, got, field, want)
			}
		}
	}

	checkSyntheaLabels(t, e, replies)

	before := tableState(t, e)
	e.clock.Advance(time.Hour)
	again := importAll(t, e, key)
	for file, r := range again {
		if r.body["type"] == "transaction-response" || r.body["type"] == "batch-response" {
			for i, s := range r.entryStatuses() {
				if s == "201 Created" {
					t.Errorf("%s: entry %d created again", filepath.Base(file), i)
				}
			}
		}
	}
	after := tableState(t, e)
	for table, state := range before {
		if after[table] != state {
			t.Errorf("a second import changed %s: %s, then %s", table, state, after[table])
		}
	}
	if n, err := e.store.Client.ImportReport.Query().Count(access.SystemContext(context.Background())); err != nil || n != 2*len(replies) {
		t.Errorf("%d import reports for %d requests: %v", n, 2*len(replies), err)
	}
}

// brokenSynthea is a Synthea patient bundle with one Encounter made
// invalid (its start is not a date), as the given Bundle type; it returns
// the bundle and the broken entry's index.
func brokenSynthea(t *testing.T, bundleType string) ([]byte, int) {
	t.Helper()
	raw, err := os.ReadFile(samples + "/synthea/samply-blaze/6c8f3e83-c351-ed33-c38d-6be101c275d2.json")
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	b["type"] = bundleType
	broken := -1
	for i, e := range b["entry"].([]any) {
		res := e.(map[string]any)["resource"].(map[string]any)
		if res["resourceType"] == "Encounter" {
			res["period"].(map[string]any)["start"] = "not a date"
			broken = i
			break
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out, broken
}

// loadReferenceData sends the Synthea hospital and practitioner batches.
func loadReferenceData(t *testing.T, e *testEnv, key string) {
	t.Helper()
	for _, name := range []string{"0-hospitalInformation1625911868739.json", "0-practitionerInformation1625911868739.json"} {
		_, body, _ := sampleRequest(t, samples+"/synthea/samply-blaze/"+name)
		if r := e.fhirPost(key, http.MethodPost, "/fhir/r4", body); r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		}
	}
}

func TestATransactionWithOneInvalidEntryStoresNothing(t *testing.T) {
	needSamples(t)
	e := newEnv(t)
	seed(t, e.store.Client, 1, e.clock.Now())
	key := integrationKey(t, e.store.Client, "RXX")
	loadReferenceData(t, e, key)
	before := tableState(t, e)
	body, broken := brokenSynthea(t, "transaction")
	r := e.fhirPost(key, http.MethodPost, "/fhir/r4", body)
	if r.status != http.StatusUnprocessableEntity || r.body["resourceType"] != "OperationOutcome" ||
		!strings.Contains(string(r.raw), fmt.Sprintf("Bundle.entry[%d]", broken)) {
		t.Fatalf("answer: %d %s", r.status, r.raw)
	}
	after := tableState(t, e)
	for table, state := range before {
		if after[table] != state {
			t.Errorf("the refused transaction changed %s: %s, then %s", table, state, after[table])
		}
	}
}

func TestABatchWithOneInvalidEntryStoresTheRest(t *testing.T) {
	needSamples(t)
	e := newEnv(t)
	seed(t, e.store.Client, 1, e.clock.Now())
	key := integrationKey(t, e.store.Client, "RXX")
	loadReferenceData(t, e, key)
	body, broken := brokenSynthea(t, "batch")
	r := e.fhirPost(key, http.MethodPost, "/fhir/r4", body)
	if r.status != http.StatusOK || r.body["type"] != "batch-response" {
		t.Fatalf("answer: %d %s", r.status, r.raw)
	}
	statuses := r.entryStatuses()
	for i, s := range statuses {
		switch {
		case i == broken && s != "422 Unprocessable Entity":
			t.Errorf("the broken entry: %s", s)
		case i != broken && !strings.HasPrefix(s, "2"):
			t.Errorf("entry %d: %s", i, s)
		}
	}
	ctx := access.SystemContext(context.Background())
	if n := e.store.Client.Encounter.Query().Where(encounter.ExternalSystemNotNil()).CountX(ctx) +
		e.store.Client.Appointment.Query().Where(appointment.ExternalSystemNotNil()).CountX(ctx); n == 0 {
		t.Error("nothing but the broken entry should be missing; no encounter or appointment was stored")
	}
}

// checkSyntheaLabels shows that the Synthea entries a carer with GENERAL
// must not see end up outside GENERAL: HIV status, social history and
// clinical notes.
func checkSyntheaLabels(t *testing.T, e *testEnv, replies map[string]fhirReply) {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	seen := map[string]int{}
	for file, r := range replies {
		if !strings.Contains(file, "synthea") || r.body["type"] != "transaction-response" {
			continue
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType string
					Category     json.RawMessage // a list of concepts, or of codes (allergies)
					Code         struct{ Coding []struct{ Code string } }
				}
			}
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		entries := r.body["entry"].([]any)
		for i, entry := range b.Entry {
			res := entry.Resource
			kind := ""
			switch {
			case res.ResourceType == "DocumentReference":
				kind = "note"
			case res.ResourceType == "Observation" && len(res.Code.Coding) > 0 && res.Code.Coding[0].Code == "55277-8":
				kind = "HIV status"
			case res.ResourceType == "Observation" && strings.Contains(string(res.Category), `"social-history"`):
				kind = "social history"
			default:
				continue
			}
			loc, _ := entries[i].(map[string]any)["response"].(map[string]any)["location"].(string)
			_, id, _ := strings.Cut(loc, "/")
			var label string
			switch {
			case strings.HasPrefix(id, "lt"):
				l, err := e.store.Client.Letter.Get(ctx, pulid.ID(id))
				if err != nil {
					t.Fatal(err)
				}
				label = string(l.Category)
			case strings.HasPrefix(id, "rs"):
				l, err := e.store.Client.Result.Get(ctx, pulid.ID(id))
				if err != nil {
					t.Fatal(err)
				}
				label = string(l.Category)
			case strings.HasPrefix(id, "co"):
				l, err := e.store.Client.ResultComponent.Get(ctx, pulid.ID(id))
				if err != nil {
					t.Fatal(err)
				}
				label = string(l.Category)
			default:
				t.Errorf("%s: the %s entry %d was stored as %q", filepath.Base(file), kind, i, loc)
				continue
			}
			seen[kind]++
			if label == "GENERAL" {
				t.Errorf("%s: the %s entry %d is GENERAL", filepath.Base(file), kind, i)
			}
		}
	}
	for _, kind := range []string{"note", "HIV status", "social history"} {
		if seen[kind] == 0 {
			t.Errorf("no Synthea %s entry was checked", kind)
		}
	}
}
