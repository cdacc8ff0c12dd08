package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// fuzzReply is one answer as a client reads it, for the fuzz targets,
// which must report through their own t rather than the env's.
type fuzzReply struct {
	status int
	body   []byte
}

func fuzzSend(t *testing.T, e *testEnv, method, path, contentType, token string, body []byte) fuzzReply {
	t.Helper()
	req, err := http.NewRequest(method, e.server.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode >= 500 {
		t.Fatalf("%s %s answered %d: %s", method, path, res.StatusCode, raw)
	}
	return fuzzReply{status: res.StatusCode, body: raw}
}

// FuzzNodeID sends any string as a global ID to node and nodes, as a
// patient: never a server error, only a stable code, and never a node
// that is not the one asked for or that belongs to someone else.
func FuzzNodeID(f *testing.F) {
	e := newEnv(f)
	fx := seed(f, e.store.Client, 1, e.clock.Now())
	alice := e.signIn(fx.Alice.Email, fixturePassword)
	bobs := map[string]bool{}
	for typ, ids := range fx.BobNodes {
		for _, id := range ids {
			if typ != "Organisation" {
				bobs[string(id)] = true
			}
			f.Add(string(id))
		}
	}
	for _, ids := range fx.AliceNodes {
		f.Add(string(ids[0]))
	}
	f.Add(string(pulid.New("pt")))
	const query = `query($id: ID!) { node(id: $id) { id } nodes(ids: [$id]) { id } }`
	f.Fuzz(func(t *testing.T, id string) {
		body, err := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"id": id}})
		if err != nil {
			t.Fatal(err)
		}
		r := fuzzSend(t, e, http.MethodPost, "/query", "application/json", alice, body)
		var res struct {
			Data *struct {
				Node  *struct{ ID string }
				Nodes []*struct{ ID string }
			}
			Errors []gqlError
		}
		if err := json.Unmarshal(r.body, &res); err != nil {
			t.Fatalf("status %d, not JSON: %q", r.status, r.body)
		}
		for _, e := range res.Errors {
			if code, _ := e.Extensions["code"].(string); code == "" || code == "INTERNAL_SERVER_ERROR" {
				t.Fatalf("id %q: error %+v", id, e)
			}
		}
		if res.Data == nil {
			return
		}
		found := slices.DeleteFunc(append(res.Data.Nodes, res.Data.Node), func(n *struct{ ID string }) bool { return n == nil })
		for _, n := range found {
			if n.ID != id || bobs[n.ID] {
				t.Fatalf("asked for %q, Alice got %q", id, n.ID)
			}
		}
	})
}

// FuzzReadingUpload sends any body as a device export, CSV or NDJSON:
// never a server error, and the readings stored are exactly the ones the
// answer says were accepted.
func FuzzReadingUpload(f *testing.F) {
	e := newEnv(f)
	fx := seed(f, e.store.Client, 1, e.clock.Now())
	alice := e.signIn(fx.Alice.Email, fixturePassword)
	at := e.clock.Now().Add(-3 * time.Hour).Format(time.RFC3339)
	f.Add("type,time,value,unit,device\nGLUCOSE,"+at+",5.4,mmol/L,meter-1\n", false)
	f.Add("type,time,value,unit,device\nBLOOD_PRESSURE,"+at+",120/80,mmHg,cuff\nWEIGHT,"+at+",80,kg,\n", false)
	f.Add(`{"type":"GLUCOSE","time":"`+at+`","value":5.4,"unit":"mmol/L"}`+"\n"+`{"type":"HEART_RATE","time":"`+at+`","value":70,"unit":"/min"}`, true)
	f.Add("type,time\n\"unterminated,", false)
	f.Add("{\"type\": [1,2]}\n\x00\xff", true)
	sys := access.SystemContext(context.Background())
	stored := func(t *testing.T) int {
		n, err := e.store.Client.Measurement.Query().Where(measurement.PatientID(fx.Alice.PatientID)).Count(sys)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	path := "/measurements/upload?patientId=" + url.QueryEscape(string(fx.Alice.PatientID))
	f.Fuzz(func(t *testing.T, body string, ndjson bool) {
		contentType := "text/csv"
		if ndjson {
			contentType = "application/x-ndjson"
		}
		before := stored(t)
		r := fuzzSend(t, e, http.MethodPost, path, contentType, alice, []byte(body))
		var rep struct {
			Accepted *int
			// Stored is what a refused upload had stored before it stopped.
			Stored *struct{ Accepted int }
		}
		if err := json.Unmarshal(r.body, &rep); err != nil {
			t.Fatalf("status %d, not JSON: %q", r.status, r.body)
		}
		added := stored(t) - before
		if r.status != http.StatusOK {
			kept := 0
			if rep.Stored != nil {
				kept = rep.Stored.Accepted
			}
			if added != kept {
				t.Fatalf("refused with %d (%s) but stored %d readings", r.status, r.body, added)
			}
			return
		}
		if rep.Accepted == nil || *rep.Accepted != added {
			t.Fatalf("answer %s, stored %d", r.body, added)
		}
	})
}

// FuzzFHIRBundle posts any body to the ingest endpoint with a live key:
// never a server error, and always a FHIR answer (a Bundle or an
// OperationOutcome).
func FuzzFHIRBundle(f *testing.F) {
	e := newEnv(f)
	seed(f, e.store.Client, 1, e.clock.Now())
	key := integrationKey(f, e.store.Client, "RXX")
	f.Add([]byte(patientBundle))
	f.Add([]byte(`{"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "PUT", "url": "AllergyIntolerance/a1"},
	  "resource": {"resourceType": "AllergyIntolerance", "id": "a1", "patient": {"reference": "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018"},
	  "code": {"text": "Penicillin"}, "recordedDate": "2024-01-02"}}]}`))
	f.Add([]byte(`{"resourceType": "Bundle", "type": "transaction", "entry": [{"fullUrl": "urn:uuid:o1", "request": {"method": "POST", "url": "Observation"},
	  "resource": {"resourceType": "Observation", "status": "final", "category": [{"coding": [{"code": "vital-signs"}]}],
	  "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}, "subject": {"reference": "urn:uuid:missing"},
	  "effectiveDateTime": "2024-01-02T10:00:00Z", "valueQuantity": {"value": 72, "unit": "/min"}}}]}`))
	f.Add([]byte(`{"resourceType": "Bundle", "type": "document", "entry": [null, {}, {"resource": null}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := fuzzSend(t, e, http.MethodPost, "/fhir/r4", "application/fhir+json", key, body)
		var answer struct{ ResourceType string }
		if err := json.Unmarshal(r.body, &answer); err != nil || (answer.ResourceType != "Bundle" && answer.ResourceType != "OperationOutcome") {
			t.Fatalf("status %d, not a FHIR answer: %q", r.status, r.body)
		}
	})
}
