package app_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// labelledBundle sends, for the fixture's Alice, an item of each way a
// label arrives: meta.security codes, a code in the value sets, and the
// defaults per kind.
func labelledBundle() string {
	note := base64.StdEncoding.EncodeToString([]byte("Discussed low mood and sleep."))
	return `{"resourceType": "Bundle", "type": "transaction", "entry": [
  {"fullUrl": "urn:uuid:alice", "request": {"method": "PUT", "url": "Patient/alice-1"},
   "resource": {"resourceType": "Patient", "id": "alice-1",
     "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
     "name": [{"family": "Example", "given": ["Alice"]}], "birthDate": "1980-05-17"}},
  {"fullUrl": "urn:uuid:allergy", "request": {"method": "POST", "url": "AllergyIntolerance"},
   "resource": {"resourceType": "AllergyIntolerance", "id": "allergy-1", "patient": {"reference": "urn:uuid:alice"},
     "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91935009", "display": "Allergy to peanuts"}]},
     "recordedDate": "2026-01-10"}},
  {"fullUrl": "urn:uuid:psy", "request": {"method": "POST", "url": "DiagnosticReport"},
   "resource": {"resourceType": "DiagnosticReport", "id": "psy-1", "status": "final",
     "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]},
     "code": {"coding": [{"system": "http://loinc.org", "code": "14682-9", "display": "Creatinine"}], "text": "Lithium monitoring"},
     "subject": {"reference": "urn:uuid:alice"}, "effectiveDateTime": "2026-01-10T09:00:00Z", "issued": "2026-01-10T12:00:00Z",
     "result": [{"reference": "urn:uuid:psy-obs"}]}},
  {"fullUrl": "urn:uuid:psy-obs", "request": {"method": "POST", "url": "Observation"},
   "resource": {"resourceType": "Observation", "id": "psy-obs-1", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
     "code": {"coding": [{"system": "http://loinc.org", "code": "14682-9", "display": "Creatinine"}]},
     "subject": {"reference": "urn:uuid:alice"}, "effectiveDateTime": "2026-01-10T09:00:00Z",
     "valueQuantity": {"value": 80, "unit": "umol/L", "system": "http://unitsofmeasure.org", "code": "umol/L"}}},
  {"fullUrl": "urn:uuid:hiv", "request": {"method": "POST", "url": "Observation"},
   "resource": {"resourceType": "Observation", "id": "hiv-1", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
     "code": {"coding": [{"system": "http://loinc.org", "code": "75622-1", "display": "HIV 1 and 2 tests"}]},
     "subject": {"reference": "urn:uuid:alice"}, "effectiveDateTime": "2026-01-11T09:00:00Z", "issued": "2026-01-11T12:00:00Z",
     "valueCodeableConcept": {"text": "Negative"}}},
  {"fullUrl": "urn:uuid:fbc", "request": {"method": "POST", "url": "Observation"},
   "resource": {"resourceType": "Observation", "id": "hb-1", "status": "final",
     "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
     "code": {"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}]},
     "subject": {"reference": "urn:uuid:alice"}, "effectiveDateTime": "2026-01-12T09:00:00Z", "issued": "2026-01-12T12:00:00Z",
     "valueQuantity": {"value": 131, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"}}},
  {"fullUrl": "urn:uuid:soc", "request": {"method": "POST", "url": "Appointment"},
   "resource": {"resourceType": "Appointment", "id": "soc-1", "status": "booked",
     "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SOC"}]},
     "serviceType": [{"text": "Housing support review"}], "start": "2027-02-01T10:00:00Z", "end": "2027-02-01T10:30:00Z",
     "participant": [{"actor": {"reference": "urn:uuid:alice"}, "status": "accepted"}]}},
  {"fullUrl": "urn:uuid:doc", "request": {"method": "POST", "url": "DocumentReference"},
   "resource": {"resourceType": "DocumentReference", "id": "doc-1", "status": "current",
     "type": {"text": "Clinic letter"}, "subject": {"reference": "urn:uuid:alice"}, "date": "2026-01-13T09:00:00Z",
     "content": [{"attachment": {"contentType": "text/plain", "data": "` + note + `"}}]}}
]}`
}

// Labels that arrive with FHIR data decide who sees it, end to end: the
// patient sees everything; the carer with a GENERAL share sees the allergy
// and the haemoglobin, and nothing of the rest, by any path.
func TestLabelsFromFHIRHideItemsFromACarerWithoutThem(t *testing.T) {
	w := newSharingWorld(t)
	key := integrationKey(t, w.db(), "RXX")
	r := w.e.fhirPost(key, http.MethodPost, "/fhir/r4", []byte(labelledBundle()))
	if r.status != http.StatusOK {
		t.Fatalf("import: %d %s", r.status, r.raw)
	}
	ids := map[string]string{}
	entries := r.body["entry"].([]any)
	names := []string{"patient", "allergy", "psy-report", "psy-obs", "hiv", "hb", "soc-appointment", "letter"}
	for i, e := range entries {
		resp := e.(map[string]any)["response"].(map[string]any)
		loc, _ := resp["location"].(string)
		_, id, _ := strings.Cut(loc, "/")
		ids[names[i]] = id
	}
	if ids["patient"] != string(w.f.Alice.PatientID) {
		t.Fatalf("the patient was not matched to Alice's record by NHS number and date of birth: %v (%s)", ids, r.raw)
	}
	categories := map[string]string{"allergy": "GENERAL", "psy-report": "MENTAL_HEALTH", "hiv": "SEXUAL_HEALTH",
		"hb": "GENERAL", "soc-appointment": "SOCIAL_CARE", "letter": "RESTRICTED"}
	for name, want := range categories {
		id := ids[name]
		if id == "" {
			t.Errorf("%s was not stored: %s", name, r.raw)
			continue
		}
		q := `query($id: ID!) { node(id: $id) { id ... on Allergy { category } ... on Result { category }
		  ... on Appointment { category } ... on Letter { category } } }`
		var as struct {
			Node *struct{ ID, Category string }
		}
		w.e.post(w.alice, q, map[string]any{"id": id}).decode(t, &as)
		if as.Node == nil || as.Node.Category != want {
			t.Errorf("%s: Alice reads %+v, want category %s", name, as.Node, want)
		}
		var carer struct {
			Node *struct{ ID, Category string }
		}
		w.e.post(w.carer, q, map[string]any{"id": id}).decode(t, &carer)
		if shown := carer.Node != nil; shown != (want == "GENERAL") {
			t.Errorf("%s (%s): the GENERAL carer sees it: %v", name, want, shown)
		}
	}
	// Lists and counts say the same.
	lists := `query($id: ID!) { patient(id: $id) { results(first: 100) { totalCount edges { node { id } } }
	  appointments(first: 100) { totalCount edges { node { id } } } letters(first: 100) { totalCount edges { node { id } } } } }`
	res := w.e.post(w.carer, lists, map[string]any{"id": w.f.Alice.PatientID})
	for _, hidden := range []string{"psy-report", "hiv", "soc-appointment", "letter"} {
		if strings.Contains(string(res.raw), ids[hidden]) {
			t.Errorf("the carer's lists show %s: %s", hidden, res.raw)
		}
	}
	if !strings.Contains(string(res.raw), ids["hb"]) {
		t.Errorf("the carer's results miss the GENERAL haemoglobin: %s", res.raw)
	}
	for _, term := range []string{"Lithium", "HIV", "Housing", "low mood"} {
		if strings.Contains(string(res.raw), term) {
			t.Errorf("the carer's answer mentions %q", term)
		}
	}
	all := w.e.post(w.alice, lists, map[string]any{"id": w.f.Alice.PatientID})
	for _, shown := range []string{"psy-report", "hiv", "soc-appointment", "letter", "hb"} {
		if !strings.Contains(string(all.raw), ids[shown]) {
			t.Errorf("Alice's lists miss %s", shown)
		}
	}
}
