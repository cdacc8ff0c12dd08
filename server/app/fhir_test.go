package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/fhir"
)

// fhirReply is an answer of the ingest endpoint.
type fhirReply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// fhirPost sends body to path with the integration key.
func (e *testEnv) fhirPost(key, method, path string, body []byte) fhirReply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.server.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := fhirReply{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// entryStatuses are the statuses of a response bundle's entries.
func (r fhirReply) entryStatuses() []string {
	var out []string
	entries, _ := r.body["entry"].([]any)
	for _, e := range entries {
		resp, _ := e.(map[string]any)["response"].(map[string]any)
		s, _ := resp["status"].(string)
		out = append(out, s)
	}
	return out
}

// integrationKey makes a key for the organisation with the ODS code.
func integrationKey(t testing.TB, client *ent.Client, ods string) string {
	t.Helper()
	key, _, err := fhir.NewKey(context.Background(), client, ods)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

const patientBundle = `{"resourceType": "Bundle", "type": "transaction", "entry": [
  {"fullUrl": "urn:uuid:p1", "request": {"method": "POST", "url": "Patient"},
   "resource": {"resourceType": "Patient", "id": "p1",
     "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
     "name": [{"use": "official", "family": "Newcomer", "given": ["Nina"]}], "birthDate": "1990-03-04"}},
  {"fullUrl": "urn:uuid:x1", "request": {"method": "POST", "url": "Claim"},
   "resource": {"resourceType": "Claim", "id": "x1"}}
]}`

func TestTheIngestEndpointTakesOnlyALiveIntegrationKey(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	key := integrationKey(t, e.store.Client, "RXX")

	for name, k := range map[string]string{
		"no key":            "",
		"an unknown key":    "ppk_" + strings.Repeat("a", 26),
		"a session token":   e.signIn(f.Alice.Email, fixturePassword),
		"a clinician token": e.signIn(f.Clinician.Email, fixturePassword),
	} {
		r := e.fhirPost(k, http.MethodPost, "/fhir/r4", []byte(patientBundle))
		if r.status != http.StatusUnauthorized || r.body["resourceType"] != "OperationOutcome" || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if n := e.store.Client.Patient.Query().CountX(access.SystemContext(context.Background())); n != 2 {
		t.Fatalf("refused requests stored patients: %d", n)
	}

	r := e.fhirPost(key, http.MethodPost, "/fhir/r4", []byte(patientBundle))
	if r.status != http.StatusOK || r.body["type"] != "transaction-response" {
		t.Fatalf("with the key: %d %s", r.status, r.raw)
	}
	if got := r.entryStatuses(); len(got) != 2 || got[0] != "201 Created" || got[1] != "200 OK" {
		t.Errorf("entry statuses %v", got)
	}
	if !strings.Contains(string(r.raw), `"not-supported"`) {
		t.Errorf("the Claim is not reported as skipped: %s", r.raw)
	}

	// The key reads its own report, and nothing else.
	report := r.header.Get("Content-Location")
	if again := e.fhirPost(key, http.MethodGet, report, nil); again.status != http.StatusOK || !bytes.Equal(again.raw, r.raw) {
		t.Errorf("reading the report back: %d %s", again.status, again.raw)
	}
	list := e.fhirPost(key, http.MethodGet, "/fhir/r4/import-reports", nil)
	if list.status != http.StatusOK || !strings.Contains(string(list.raw), strings.TrimPrefix(report, "/fhir/r4/import-reports/")) {
		t.Errorf("listing reports: %d %s", list.status, list.raw)
	}
	if meta := e.fhirPost("", http.MethodGet, "/fhir/r4/metadata", nil); meta.status != http.StatusOK ||
		meta.body["resourceType"] != "CapabilityStatement" || !strings.Contains(string(meta.raw), `"DiagnosticReport"`) {
		t.Errorf("metadata: %d %s", meta.status, meta.raw)
	}
	for _, path := range []string{"/fhir/r4/Patient", "/fhir/r4/Patient/p1", "/fhir/r4/Observation?patient=p1"} {
		if got := e.fhirPost(key, http.MethodGet, path, nil); got.status != http.StatusForbidden || strings.Contains(string(got.raw), "Newcomer") {
			t.Errorf("GET %s: %d %s", path, got.status, got.raw)
		}
	}
	// Another organisation's key does not see the report.
	ctx := access.SystemContext(context.Background())
	if _, err := e.store.Client.Organisation.Create().SetOdsCode("RYY").SetName("Other Trust").SetKind(organisation.KindTRUST).Save(ctx); err != nil {
		t.Fatal(err)
	}
	other := integrationKey(t, e.store.Client, "RYY")
	if got := e.fhirPost(other, http.MethodGet, report, nil); got.status != http.StatusNotFound {
		t.Errorf("another organisation's key read the report: %d %s", got.status, got.raw)
	}

	// A revoked key stops at once.
	keys, err := fhir.Keys(context.Background(), e.store.Client, "RXX")
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if err := fhir.RevokeKey(context.Background(), e.store.Client, "RXX", keys[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := e.fhirPost(key, http.MethodPost, "/fhir/r4", []byte(patientBundle)); got.status != http.StatusUnauthorized {
		t.Errorf("a revoked key was taken: %d", got.status)
	}
}

func TestTheIngestEndpointRefusesWhatIsNotFHIR(t *testing.T) {
	e := newEnv(t)
	seed(t, e.store.Client, 1, e.clock.Now())
	key := integrationKey(t, e.store.Client, "RXX")
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"not JSON", http.MethodPost, "/fhir/r4", `{"resourceType": "Bundle",`, http.StatusBadRequest},
		{"not a bundle", http.MethodPost, "/fhir/r4", `{"resourceType": "Patient"}`, http.StatusUnprocessableEntity},
		{"a history bundle", http.MethodPost, "/fhir/r4", `{"resourceType": "Bundle", "type": "history", "entry": []}`, http.StatusUnprocessableEntity},
		{"a resource of another type than the URL's", http.MethodPost, "/fhir/r4/Patient", `{"resourceType": "Observation"}`, http.StatusUnprocessableEntity},
		{"a PUT whose id differs", http.MethodPut, "/fhir/r4/Patient/a", `{"resourceType": "Patient", "id": "b"}`, http.StatusUnprocessableEntity},
		{"a patient without a date of birth", http.MethodPost, "/fhir/r4/Patient", `{"resourceType": "Patient", "name": [{"family": "X", "given": ["Y"]}]}`, http.StatusUnprocessableEntity},
		{"an invalid NHS number", http.MethodPost, "/fhir/r4/Patient", `{"resourceType": "Patient", "birthDate": "1990-01-01",
		  "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "1234567890"}], "name": [{"family": "X", "given": ["Y"]}]}`, http.StatusUnprocessableEntity},
	} {
		r := e.fhirPost(key, tc.method, tc.path, []byte(tc.body))
		if r.status != tc.status || r.body["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
	if n := e.store.Client.Patient.Query().CountX(access.SystemContext(context.Background())); n != 2 {
		t.Errorf("refused requests stored patients: %d", n)
	}
}

// An organisation's ADMIN keeps services out of the portal and holds its
// results for a while; its feed then follows those rules.
func TestAnOrganisationsIngestRulesApplyToItsFeed(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	const set = `mutation($in: IngestRulesInput!) { setIngestRules(input: $in) { excludedServices resultReleaseDelayHours } }`
	rules := func(services []string, hours int) map[string]any {
		return map[string]any{"in": map[string]any{"organisationId": f.OrgID, "excludedServices": services, "resultReleaseDelayHours": hours}}
	}
	clinician := e.signIn(f.Clinician.Email, fixturePassword)
	if res := e.post(clinician, set, rules([]string{"Maternity"}, 48)); !slicesEqual(res.codes(), "FORBIDDEN") {
		t.Errorf("a clinician set the rules: %s", res.raw)
	}
	adminToken := admin(t, e, f)
	for _, bad := range []map[string]any{rules([]string{" "}, 0), rules([]string{}, -1), rules([]string{}, 9000)} {
		if res := e.post(adminToken, set, bad); !slicesEqual(res.codes(), "BAD_USER_INPUT") {
			t.Errorf("%v: %s", bad, res.raw)
		}
	}
	if res := e.post(adminToken, set, rules([]string{"Maternity"}, 48)); string(res.Data) != `{"setIngestRules":{"excludedServices":["Maternity"],"resultReleaseDelayHours":48}}` {
		t.Fatalf("setIngestRules: %s", res.raw)
	}

	key := integrationKey(t, e.store.Client, "RXX")
	now := e.clock.Now().UTC()
	bundle := `{"resourceType": "Bundle", "type": "transaction", "entry": [
  {"fullUrl": "urn:uuid:alice", "request": {"method": "PUT", "url": "Patient/alice-1"},
   "resource": {"resourceType": "Patient", "id": "alice-1",
     "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
     "name": [{"family": "Example", "given": ["Alice"]}], "birthDate": "1980-05-17"}},
  {"fullUrl": "urn:uuid:appt", "request": {"method": "POST", "url": "Appointment"},
   "resource": {"resourceType": "Appointment", "id": "appt-1", "status": "booked",
     "serviceType": [{"text": "Maternity antenatal clinic"}], "start": "` + now.Add(72*time.Hour).Format(time.RFC3339) + `",
     "participant": [{"actor": {"reference": "urn:uuid:alice"}, "status": "accepted"}]}},
  {"fullUrl": "urn:uuid:hb", "request": {"method": "POST", "url": "Observation"},
   "resource": {"resourceType": "Observation", "id": "hb-1", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
     "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}]},
     "subject": {"reference": "urn:uuid:alice"}, "effectiveDateTime": "` + now.Add(-time.Hour).Format(time.RFC3339) + `",
     "issued": "` + now.Format(time.RFC3339) + `", "valueQuantity": {"value": 131, "unit": "g/L"}}}
]}`
	r := e.fhirPost(key, http.MethodPost, "/fhir/r4", []byte(bundle))
	if r.status != http.StatusOK {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	entries := r.body["entry"].([]any)
	appt := entries[1].(map[string]any)["response"].(map[string]any)
	if appt["location"] != nil || !strings.Contains(fmt.Sprint(appt["outcome"]), "warning") {
		t.Errorf("the maternity appointment was not skipped with a warning: %v", appt)
	}
	ctx := access.SystemContext(context.Background())
	if n := e.store.Client.Appointment.Query().Where(appointment.SourceOrganisationID(f.OrgID), appointment.ExternalValue("appt-1")).CountX(ctx); n != 0 {
		t.Errorf("the excluded appointment was stored")
	}
	loc, _ := entries[2].(map[string]any)["response"].(map[string]any)["location"].(string)
	_, id, _ := strings.Cut(loc, "/")
	res, err := e.store.Client.Result.Get(ctx, pulid.ID(id))
	if err != nil {
		t.Fatalf("the result %q: %v (%s)", loc, err, r.raw)
	}
	if res.VisibleFrom == nil || res.VisibleFrom.Sub(now) < 47*time.Hour || res.NotifyAt == nil {
		t.Errorf("the result is not held for 48 hours: visible from %v, announced at %v", res.VisibleFrom, res.NotifyAt)
	}
	if n := e.store.Client.Notification.Query().Where(notification.SubjectID(res.ID)).CountX(ctx); n != 0 {
		t.Errorf("a held result was announced: %d notifications", n)
	}
}

func slicesEqual(got []string, want ...string) bool { return slices.Equal(got, want) }
