package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/organisation"
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
	for _, path := range []string{"/fhir/r4/Patient", "/fhir/r4/Patient/p1", "/fhir/r4/metadata?x=1"} {
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
