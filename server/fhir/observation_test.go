package fhir

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/store/storetest"
)

// labNow is the clock of the results and measurements tests.
var labNow = time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)

// labWorld is a store with one organisation sending results and readings.
type labWorld struct {
	t      *testing.T
	ctx    context.Context
	client *ent.Client
	org    *ent.Organisation
	imp    *Importer
}

func newLabWorld(t *testing.T, releaseDelayHours int) *labWorld {
	t.Helper()
	st := storetest.Open(t)
	ctx := access.SystemContext(t.Context())
	org, err := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Test Trust").
		SetKind(organisation.KindTRUST).SetResultReleaseDelayHours(releaseDelayHours).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imp := &Importer{Client: st.Client, Blobs: blob.NewDir(filepath.Join(t.TempDir(), "blobs")), Now: func() time.Time { return labNow }}
	return &labWorld{t: t, ctx: ctx, client: st.Client, org: org, imp: imp}
}

// send imports one resource alone (a map or raw JSON) and returns its
// answer for the entry.
func (w *labWorld) send(res any) EntryResponse {
	w.t.Helper()
	raw := labJSON(w.t, res)
	var head Head
	if err := json.Unmarshal(raw, &head); err != nil {
		w.t.Fatal(err)
	}
	a, err := w.imp.ImportResource(w.ctx, w.org, head.ResourceType, "", raw)
	if err != nil {
		w.t.Fatalf("importing a %s: %v", head.ResourceType, err)
	}
	switch body := a.Body.(type) {
	case EntryResponse:
		return body
	case *OperationOutcome:
		return EntryResponse{Status: fmt.Sprintf("%d %s", a.Status, http.StatusText(a.Status)), Outcome: body}
	}
	w.t.Fatalf("answer %T", a.Body)
	return EntryResponse{}
}

// sendBundle imports a bundle of the given type with the resources as
// entries (fullUrl urn:uuid:<id> when they have an id).
func (w *labWorld) sendBundle(typ string, resources ...any) *Answer {
	w.t.Helper()
	b := &Bundle{ResourceType: "Bundle", Type: typ}
	for _, res := range resources {
		raw := labJSON(w.t, res)
		var head Head
		if err := json.Unmarshal(raw, &head); err != nil {
			w.t.Fatal(err)
		}
		e := BundleEntry{Resource: raw}
		if head.ID != "" {
			e.FullURL = "urn:uuid:" + head.ID
		}
		if typ == transaction || typ == batch {
			e.Request = &EntryRequest{Method: "POST", URL: head.ResourceType}
		}
		b.Entry = append(b.Entry, e)
	}
	return w.importBundle(b)
}

func (w *labWorld) importBundle(b *Bundle) *Answer {
	w.t.Helper()
	a, err := w.imp.ImportBundle(w.ctx, w.org, b)
	if err != nil {
		w.t.Fatalf("importing the bundle: %v", err)
	}
	return a
}

// entries are a bundle answer's entries.
func labEntries(t *testing.T, a *Answer) []EntryResponse {
	t.Helper()
	body, ok := a.Body.(*ResponseBundle)
	if !ok {
		t.Fatalf("answer %d is not a bundle: %s", a.Status, labDiagnostics(a.Body))
	}
	out := make([]EntryResponse, len(body.Entry))
	for i, e := range body.Entry {
		out[i] = e.Response
	}
	return out
}

// labDiagnostics are an answer's diagnostics, for failure messages.
func labDiagnostics(body any) string {
	var o *OperationOutcome
	switch b := body.(type) {
	case *OperationOutcome:
		o = b
	case EntryResponse:
		o = b.Outcome
	}
	if o == nil {
		return ""
	}
	var out []string
	for _, i := range o.Issue {
		out = append(out, i.Diagnostics)
	}
	return strings.Join(out, "; ")
}

// patient stores a Patient with the given FHIR id and returns the record.
func (w *labWorld) patient(id string) pulid.ID {
	w.t.Helper()
	res := w.send(map[string]any{"resourceType": "Patient", "id": id, "birthDate": "1970-01-01",
		"name": []any{map[string]any{"family": "Example", "given": []any{"Pat"}}}})
	if !strings.HasPrefix(res.Status, "20") {
		w.t.Fatalf("storing patient %s: %s %s", id, res.Status, labDiagnostics(res))
	}
	link, err := w.client.PatientOrganisation.Query().Where(patientorganisation.OrganisationID(w.org.ID),
		patientorganisation.FhirID(id)).Only(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return link.PatientID
}

// withAccount gives the patient an account, so that news reaches someone.
func (w *labWorld) withAccount(patientID pulid.ID) pulid.ID {
	w.t.Helper()
	acc, err := w.client.Account.Create().SetEmail(string(patientID) + "@example.org").SetDisplayName("Pat").Save(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.client.Patient.UpdateOneID(patientID).SetAccountID(acc.ID).Exec(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	return acc.ID
}

// results are the patient's results, with components.
func (w *labWorld) results(patientID pulid.ID) []*ent.Result {
	w.t.Helper()
	rs, err := w.client.Result.Query().Where(result.PatientID(patientID)).WithComponents().
		Order(result.ByTakenAt(), result.ByID()).All(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

func (w *labWorld) onlyResult(patientID pulid.ID) *ent.Result {
	w.t.Helper()
	rs := w.results(patientID)
	if len(rs) != 1 {
		w.t.Fatalf("%d results, want 1", len(rs))
	}
	return rs[0]
}

// rows counts the rows the mappings write, and notes every updated_at.
func (w *labWorld) rows() (map[string]int, map[pulid.ID]time.Time) {
	w.t.Helper()
	counts := map[string]int{}
	stamps := map[pulid.ID]time.Time{}
	rs, err := w.client.Result.Query().All(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range rs {
		stamps[r.ID] = r.UpdatedAt
	}
	cs, err := w.client.ResultComponent.Query().All(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, c := range cs {
		stamps[c.ID] = c.UpdatedAt
	}
	ms, err := w.client.Measurement.Query().All(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range ms {
		stamps[m.ID] = m.UpdatedAt
	}
	ro, err := w.client.MeasurementRollup.Query().All(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	ns, err := w.client.Notification.Query().Count(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	counts["results"], counts["components"], counts["measurements"], counts["rollups"], counts["notifications"] =
		len(rs), len(cs), len(ms), len(ro), ns
	return counts, stamps
}

// labJSON is res as JSON: raw bytes as they are, anything else marshalled.
func labJSON(t *testing.T, res any) []byte {
	t.Helper()
	if raw, ok := res.([]byte); ok {
		return raw
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// labSample reads a file of the shared FHIR samples, or skips.
func labSample(t *testing.T, rel string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../../shared/fhir-samples", rel))
	if err != nil {
		t.Skipf("the shared FHIR samples are absent: a user's clone (%v)", err)
	}
	return raw
}

// labEdit decodes raw JSON, lets edit change it, and encodes it again.
func labEdit(t *testing.T, raw []byte, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	return labJSON(t, m)
}

// labObservation is an Observation of the patient "p1" with the given
// category ("" for none), LOINC code and more elements.
func labObservation(id, cat, code string, more map[string]any) map[string]any {
	o := map[string]any{
		"resourceType": "Observation", "id": id, "status": "final",
		"code":              map[string]any{"coding": []any{map[string]any{"system": loinc, "code": code, "display": "Test " + code}}},
		"subject":           map[string]any{"reference": "Patient/p1"},
		"effectiveDateTime": "2024-05-20T09:30:00Z",
		"issued":            "2024-05-21T09:30:00Z",
	}
	if cat != "" {
		o["category"] = []any{map[string]any{"coding": []any{map[string]any{"system": observationCategory, "code": cat}}}}
	}
	for k, v := range more {
		o[k] = v
	}
	return o
}

func labQuantity(v float64, code string) map[string]any {
	return map[string]any{"value": v, "unit": code, "system": ucum, "code": code}
}

func labInterpretation(code string) []any {
	return []any{map[string]any{"coding": []any{map[string]any{
		"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": code}}}}
}

func TestObservationSamples(t *testing.T) {
	t.Run("the HL7 f001 glucose is a result whose component is flagged HIGH", func(t *testing.T) {
		raw := labSample(t, "hl7-r4-examples/observation-example-f001-glucose.json")
		w := newLabWorld(t, 0)
		p := w.patient("f001")
		if res := w.send(raw); res.Status != "201 Created" || !strings.HasPrefix(res.Location, "Observation/rs") {
			t.Fatalf("answer %s at %s: %s", res.Status, res.Location, labDiagnostics(res))
		}
		r := w.onlyResult(p)
		if r.Name != "Glucose [Moles/volume] in Blood" || r.Code == nil || *r.Code != "15074-8" || r.Status != result.StatusFINAL {
			t.Errorf("result %q code %v status %s", r.Name, r.Code, r.Status)
		}
		if !r.TakenAt.Equal(time.Date(2013, 4, 2, 8, 30, 10, 0, time.UTC)) || !r.ReportedAt.Equal(time.Date(2013, 4, 3, 14, 30, 10, 0, time.UTC)) {
			t.Errorf("taken %s reported %s", r.TakenAt, r.ReportedAt)
		}
		if r.Category != category.General || r.PerformingLaboratory == nil || *r.PerformingLaboratory != "A. Langeveld" {
			t.Errorf("category %s, laboratory %v", r.Category, r.PerformingLaboratory)
		}
		if len(r.Edges.Components) != 1 {
			t.Fatalf("%d components, want 1", len(r.Edges.Components))
		}
		c := r.Edges.Components[0]
		if *c.ValueNumeric != 6.3 || *c.Unit != "mmol/L" || *c.ReferenceLow != 3.1 || *c.ReferenceHigh != 6.2 ||
			*c.Flag != resultcomponent.FlagHIGH || *c.Code != "15074-8" {
			t.Errorf("component %+v", c)
		}
	})
	t.Run("the HL7 blood pressure is one BLOOD_PRESSURE measurement with both values", func(t *testing.T) {
		raw := labSample(t, "hl7-r4-examples/observation-example-bloodpressure.json")
		w := newLabWorld(t, 0)
		p := w.patient("example")
		if res := w.send(raw); res.Status != "201 Created" || !strings.HasPrefix(res.Location, "Observation/me") {
			t.Fatalf("answer %s at %s: %s", res.Status, res.Location, labDiagnostics(res))
		}
		m, err := w.client.Measurement.Query().Where(measurement.PatientID(p)).Only(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A date alone is UK midnight.
		if m.Type != measurement.TypeBLOOD_PRESSURE || m.Value != 107 || m.Value2 == nil || *m.Value2 != 60 ||
			m.Unit != "mmHg" || !m.MeasuredAt.Equal(time.Date(2012, 9, 16, 23, 0, 0, 0, time.UTC)) || m.Category != category.General {
			t.Errorf("measurement %+v", m)
		}
		n, err := w.client.MeasurementRollup.Query().Where(measurementrollup.PatientID(p)).Count(w.ctx)
		if err != nil || n != 1 {
			t.Errorf("%d rollups (%v), want 1", n, err)
		}
		if res := w.send(raw); res.Status != "200 OK" || res.Location != "Observation/"+string(m.ID) {
			t.Errorf("sent again: %s at %s", res.Status, res.Location)
		}
	})
}

func TestObservationVitalSignsBecomeMeasurements(t *testing.T) {
	components := func(sys, dia any) []any {
		var out []any
		if sys != nil {
			out = append(out, map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": loinc, "code": "8480-6"}}},
				"valueQuantity": labQuantity(sys.(float64), "mm[Hg]")})
		}
		if dia != nil {
			out = append(out, map[string]any{"code": map[string]any{"coding": []any{map[string]any{"system": loinc, "code": "8462-4"}}},
				"valueQuantity": labQuantity(dia.(float64), "mm[Hg]")})
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		obs       map[string]any
		typ       measurement.Type
		value     float64
		value2    float64
		unit      string
		skip      string
		aResult   bool
		wantLabel category.Category
	}{
		{name: "a heart rate is stored per minute", obs: labObservation("o", "vital-signs", "8867-4",
			map[string]any{"valueQuantity": labQuantity(72, "/min")}), typ: measurement.TypeHEART_RATE, value: 72, unit: "/min"},
		{name: "a weight in pounds is stored in kilograms", obs: labObservation("o", "vital-signs", "29463-7",
			map[string]any{"valueQuantity": labQuantity(154, "[lb_av]")}), typ: measurement.TypeWEIGHT, value: 69.85, unit: "kg"},
		{name: "a height in inches is stored in centimetres", obs: labObservation("o", "vital-signs", "8302-2",
			map[string]any{"valueQuantity": labQuantity(70, "[in_i]")}), typ: measurement.TypeHEIGHT, value: 177.8, unit: "cm"},
		{name: "a height in metres is stored in centimetres", obs: labObservation("o", "vital-signs", "8302-2",
			map[string]any{"valueQuantity": labQuantity(1.8, "m")}), typ: measurement.TypeHEIGHT, value: 180, unit: "cm"},
		{name: "a BMI is stored as sent", obs: labObservation("o", "vital-signs", "39156-5",
			map[string]any{"valueQuantity": labQuantity(24.3, "kg/m2")}), typ: measurement.TypeBMI, value: 24.3, unit: "kg/m2"},
		{name: "a temperature in Fahrenheit is stored in Celsius", obs: labObservation("o", "vital-signs", "8310-5",
			map[string]any{"valueQuantity": labQuantity(98.6, "[degF]")}), typ: measurement.TypeTEMPERATURE, value: 37, unit: "Cel"},
		{name: "a pulse oximetry saturation is an SPO2", obs: labObservation("o", "vital-signs", "59408-5",
			map[string]any{"valueQuantity": labQuantity(97, "%")}), typ: measurement.TypeSPO2, value: 97, unit: "%"},
		{name: "a respiratory rate is stored per minute", obs: labObservation("o", "vital-signs", "9279-1",
			map[string]any{"valueQuantity": labQuantity(16, "/min")}), typ: measurement.TypeRESPIRATORY_RATE, value: 16, unit: "/min"},
		{name: "a glucose in mg/dL sent as a vital sign is stored in mmol/L", obs: labObservation("o", "vital-signs", "2339-0",
			map[string]any{"valueQuantity": labQuantity(99, "mg/dL")}), typ: measurement.TypeGLUCOSE, value: 5.5, unit: "mmol/L"},
		{name: "a blood pressure panel 55284-4 keeps systolic and diastolic", obs: labObservation("o", "vital-signs", "55284-4",
			map[string]any{"component": components(128.0, 82.0)}), typ: measurement.TypeBLOOD_PRESSURE, value: 128, value2: 82, unit: "mmHg"},
		{name: "a heart rate with no category is still a measurement", obs: labObservation("o", "", "8867-4",
			map[string]any{"valueQuantity": labQuantity(60, "/min")}), typ: measurement.TypeHEART_RATE, value: 60, unit: "/min"},
		{name: "a labelled vital sign keeps its label", obs: labObservation("o", "vital-signs", "29463-7",
			map[string]any{"valueQuantity": labQuantity(70, "kg"), "meta": map[string]any{"security": []any{
				map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}}}}),
			typ: measurement.TypeWEIGHT, value: 70, unit: "kg", wantLabel: category.MentalHealth},
		{name: "a pain score is not a measurement the portal keeps", obs: labObservation("o", "vital-signs", "72514-3",
			map[string]any{"valueQuantity": labQuantity(4, "{score}")}), skip: "not a measurement the portal keeps"},
		{name: "a head circumference is not a measurement the portal keeps", obs: labObservation("o", "vital-signs", "9843-4",
			map[string]any{"valueQuantity": labQuantity(40, "cm")}), skip: "not a measurement the portal keeps"},
		{name: "a blood pressure without its diastolic is skipped", obs: labObservation("o", "vital-signs", "85354-9",
			map[string]any{"component": components(128.0, nil)}), skip: "no systolic or no diastolic"},
		{name: "a weight in an unknown unit is skipped", obs: labObservation("o", "vital-signs", "29463-7",
			map[string]any{"valueQuantity": labQuantity(10, "[stone_av]")}), skip: "unit the portal converts"},
		{name: "an implausible weight is skipped", obs: labObservation("o", "vital-signs", "29463-7",
			map[string]any{"valueQuantity": labQuantity(900, "kg")}), skip: "not one the portal charts"},
		{name: "a glucose with no category is a laboratory result", obs: labObservation("o", "", "2339-0",
			map[string]any{"valueQuantity": labQuantity(5.1, "mmol/L")}), aResult: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			res := w.send(tc.obs)
			if tc.skip != "" {
				if res.Status != "200 OK" || !strings.Contains(labDiagnostics(res), tc.skip) {
					t.Errorf("answer %s: %q, want a skip saying %q", res.Status, labDiagnostics(res), tc.skip)
				}
				if counts, _ := w.rows(); counts["measurements"]+counts["results"] != 0 {
					t.Errorf("stored %v", counts)
				}
				return
			}
			if res.Status != "201 Created" {
				t.Fatalf("answer %s: %s", res.Status, labDiagnostics(res))
			}
			if tc.aResult {
				if r := w.onlyResult(p); len(r.Edges.Components) != 1 {
					t.Errorf("%d components", len(r.Edges.Components))
				}
				return
			}
			m, err := w.client.Measurement.Query().Where(measurement.PatientID(p)).Only(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type != tc.typ || math.Abs(m.Value-tc.value) > 1e-9 || m.Unit != tc.unit {
				t.Errorf("stored %s %g %s, want %s %g %s", m.Type, m.Value, m.Unit, tc.typ, tc.value, tc.unit)
			}
			if tc.value2 != 0 && (m.Value2 == nil || *m.Value2 != tc.value2) {
				t.Errorf("value2 %v, want %g", m.Value2, tc.value2)
			}
			want := tc.wantLabel
			if want == "" {
				want = category.General
			}
			if m.Category != want || m.ExternalSystem == nil || *m.ExternalSystem != "fhir:Observation" {
				t.Errorf("category %s, external system %v", m.Category, m.ExternalSystem)
			}
		})
	}
}

func TestObservationCategoryDecidesTheLabel(t *testing.T) {
	coded := func(system, code string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
	}
	for _, tc := range []struct {
		name string
		obs  map[string]any
		want category.Category
	}{
		{"a laboratory value is GENERAL", labObservation("o", "laboratory", "718-7",
			map[string]any{"valueQuantity": labQuantity(140, "g/L")}), category.General},
		{"a smoking survey is RESTRICTED", labObservation("o", "survey", "72166-2",
			map[string]any{"valueCodeableConcept": coded(snomed, "266919005")}), category.Restricted},
		{"an examination finding is GENERAL", labObservation("o", "exam", "8693-4",
			map[string]any{"valueString": "Normal"}), category.General},
		{"HIV status in social history is SEXUAL_HEALTH", labObservation("o", "social-history", "55277-8",
			map[string]any{"valueCodeableConcept": coded(snomed, "165815009")}), category.SexualHealth},
		{"housing status in social history is SOCIAL_CARE", labObservation("o", "social-history", "71802-3",
			map[string]any{"valueCodeableConcept": coded(snomed, "32911000")}), category.SocialCare},
		{"abuse status in social history is RESTRICTED", labObservation("o", "social-history", "28245-9",
			map[string]any{"valueBoolean": false}), category.Restricted},
		{"sexual orientation in social history is RESTRICTED", labObservation("o", "social-history", "76690-7",
			map[string]any{"valueString": "Prefers not to say"}), category.Restricted},
		{"a laboratory value labelled PSY is MENTAL_HEALTH", labObservation("o", "laboratory", "718-7",
			map[string]any{"valueQuantity": labQuantity(140, "g/L"), "meta": map[string]any{"security": []any{
				map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}}}}), category.MentalHealth},
		{"a sensitive coded value labels a laboratory result", labObservation("o", "laboratory", "5199-5",
			map[string]any{"valueCodeableConcept": coded(loinc, "55277-8")}), category.SexualHealth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			if res := w.send(tc.obs); res.Status != "201 Created" {
				t.Fatalf("answer %s: %s", res.Status, labDiagnostics(res))
			}
			r := w.onlyResult(p)
			if r.Category != tc.want {
				t.Errorf("result labelled %s, want %s", r.Category, tc.want)
			}
			for _, c := range r.Edges.Components {
				if c.Category != tc.want {
					t.Errorf("component labelled %s, want %s", c.Category, tc.want)
				}
			}
		})
	}
}

func TestObservationValuesBecomeComponents(t *testing.T) {
	ptrF := func(f float64) *float64 { return &f }
	ptrS := func(s string) *string { return &s }
	type want struct {
		name       string
		num        *float64
		text       *string
		comparator *resultcomponent.Comparator
		unit       *string
		low, high  *float64
		refText    *string
		flag       *resultcomponent.Flag
	}
	lt := resultcomponent.ComparatorLT
	ge := resultcomponent.ComparatorGE
	flag := func(f resultcomponent.Flag) *resultcomponent.Flag { return &f }
	for _, tc := range []struct {
		name string
		more map[string]any
		want []want
	}{
		{"a value below the limit keeps its comparator", map[string]any{"valueQuantity": map[string]any{"value": 0.5, "comparator": "<", "unit": "mg/L", "system": ucum, "code": "mg/L"}},
			[]want{{name: "Test 1988-5", num: ptrF(0.5), comparator: &lt, unit: ptrS("mg/L")}}},
		{"a value at or above the limit keeps its comparator", map[string]any{"valueQuantity": map[string]any{"value": 90, "comparator": ">=", "unit": "mL/min"}},
			[]want{{name: "Test 1988-5", num: ptrF(90), comparator: &ge, unit: ptrS("mL/min")}}},
		{"the UCUM code is the unit when the quantity is UCUM", map[string]any{"valueQuantity": map[string]any{"value": 4.2, "unit": "x10^9/l", "system": ucum, "code": "10*9/L"}},
			[]want{{name: "Test 1988-5", num: ptrF(4.2), unit: ptrS("10*9/L")}}},
		{"a range with text and an interpretation of LL", map[string]any{"valueQuantity": labQuantity(2.1, "mmol/L"),
			"referenceRange": []any{map[string]any{"low": labQuantity(3.5, "mmol/L"), "high": labQuantity(5.3, "mmol/L"), "text": "3.5-5.3"}},
			"interpretation": labInterpretation("LL")},
			[]want{{name: "Test 1988-5", num: ptrF(2.1), unit: ptrS("mmol/L"), low: ptrF(3.5), high: ptrF(5.3), refText: ptrS("3.5-5.3"), flag: flag(resultcomponent.FlagCRITICAL_LOW)}}},
		{"HH is critically high", map[string]any{"valueQuantity": labQuantity(7, "mmol/L"), "interpretation": labInterpretation("HH")},
			[]want{{name: "Test 1988-5", num: ptrF(7), unit: ptrS("mmol/L"), flag: flag(resultcomponent.FlagCRITICAL_HIGH)}}},
		{"A is abnormal", map[string]any{"valueString": "Seen", "interpretation": labInterpretation("A")},
			[]want{{name: "Test 1988-5", text: ptrS("Seen"), flag: flag(resultcomponent.FlagABNORMAL)}}},
		{"N is normal and L low", map[string]any{"component": []any{
			map[string]any{"code": map[string]any{"text": "First"}, "valueQuantity": labQuantity(1, "g"), "interpretation": labInterpretation("N")},
			map[string]any{"code": map[string]any{"text": "Second"}, "valueQuantity": labQuantity(2, "g"), "interpretation": labInterpretation("L")},
		}}, []want{
			{name: "First", num: ptrF(1), unit: ptrS("g"), flag: flag(resultcomponent.FlagNORMAL)},
			{name: "Second", num: ptrF(2), unit: ptrS("g"), flag: flag(resultcomponent.FlagLOW)},
		}},
		{"a coded value is its text", map[string]any{"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": snomed, "code": "260385009", "display": "Negative"}}}},
			[]want{{name: "Test 1988-5", text: ptrS("Negative")}}},
		{"a boolean reads Yes or No", map[string]any{"valueBoolean": true}, []want{{name: "Test 1988-5", text: ptrS("Yes")}}},
		{"an integer is a number", map[string]any{"valueInteger": 3}, []want{{name: "Test 1988-5", num: ptrF(3)}}},
		{"a text longer than a line is cut to 255 characters", map[string]any{"valueString": strings.Repeat("x", 300)},
			[]want{{name: "Test 1988-5", text: ptrS(strings.Repeat("x", 254) + "…")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			if res := w.send(labObservation("o", "laboratory", "1988-5", tc.more)); res.Status != "201 Created" {
				t.Fatalf("answer %s: %s", res.Status, labDiagnostics(res))
			}
			r := w.onlyResult(p)
			if len(r.Edges.Components) != len(tc.want) {
				t.Fatalf("%d components, want %d", len(r.Edges.Components), len(tc.want))
			}
			got := map[string]*ent.ResultComponent{}
			for _, c := range r.Edges.Components {
				got[c.Name] = c
			}
			for _, wc := range tc.want {
				c := got[wc.name]
				if c == nil {
					t.Errorf("no component %q", wc.name)
					continue
				}
				if !equalPtr(c.ValueNumeric, wc.num) || !equalPtr(c.ValueText, wc.text) || !equalPtr(c.Comparator, wc.comparator) ||
					!equalPtr(c.Unit, wc.unit) || !equalPtr(c.ReferenceLow, wc.low) || !equalPtr(c.ReferenceHigh, wc.high) ||
					!equalPtr(c.ReferenceText, wc.refText) || !equalPtr(c.Flag, wc.flag) {
					t.Errorf("component %q = %s, want %+v", wc.name, componentKey(c), wc)
				}
			}
		})
	}
}

func TestObservationStatus(t *testing.T) {
	for _, tc := range []struct {
		status, answer, say string
		want                result.Status
	}{
		{status: "registered", answer: "201 Created", want: result.StatusPRELIMINARY},
		{status: "preliminary", answer: "201 Created", want: result.StatusPRELIMINARY},
		{status: "final", answer: "201 Created", want: result.StatusFINAL},
		{status: "amended", answer: "201 Created", want: result.StatusAMENDED},
		{status: "corrected", answer: "201 Created", want: result.StatusAMENDED},
		{status: "cancelled", answer: "200 OK", say: "cancelled"},
		{status: "entered-in-error", answer: "200 OK", say: "not in the portal"},
		{status: "unknown", answer: "200 OK", say: "unknown"},
		{status: "", answer: "422 Unprocessable Entity", say: "Observation.status is missing"},
	} {
		name := "status " + tc.status + " is " + string(tc.want)
		if tc.want == "" {
			name = "status " + tc.status + " is not stored"
		}
		t.Run(name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			obs := labObservation("o", "laboratory", "718-7", map[string]any{"valueQuantity": labQuantity(140, "g/L"), "status": tc.status})
			res := w.send(obs)
			if res.Status != tc.answer || !strings.Contains(labDiagnostics(res), tc.say) {
				t.Fatalf("answer %s %q, want %s saying %q", res.Status, labDiagnostics(res), tc.answer, tc.say)
			}
			if tc.want != "" {
				if r := w.onlyResult(p); r.Status != tc.want {
					t.Errorf("status %s, want %s", r.Status, tc.want)
				}
			}
		})
	}
	t.Run("an Observation with only an issued time was taken then", func(t *testing.T) {
		w := newLabWorld(t, 0)
		p := w.patient("p1")
		obs := labObservation("o", "laboratory", "718-7", map[string]any{"valueQuantity": labQuantity(140, "g/L")})
		delete(obs, "effectiveDateTime")
		if res := w.send(obs); res.Status != "201 Created" {
			t.Fatalf("answer %s %q", res.Status, labDiagnostics(res))
		}
		if r := w.onlyResult(p); !r.TakenAt.Equal(time.Date(2024, 5, 21, 9, 30, 0, 0, time.UTC)) || !r.ReportedAt.Equal(r.TakenAt) {
			t.Errorf("taken %s, reported %s", r.TakenAt, r.ReportedAt)
		}
	})
	t.Run("an Observation with neither an effective nor an issued time is refused", func(t *testing.T) {
		w := newLabWorld(t, 0)
		w.patient("p1")
		obs := labObservation("o", "laboratory", "718-7", map[string]any{"valueQuantity": labQuantity(140, "g/L")})
		delete(obs, "effectiveDateTime")
		delete(obs, "issued")
		if res := w.send(obs); res.Status != "422 Unprocessable Entity" || !strings.Contains(labDiagnostics(res), "effective") {
			t.Errorf("answer %s %q", res.Status, labDiagnostics(res))
		}
	})
	t.Run("a vital sign with no effective time is refused", func(t *testing.T) {
		w := newLabWorld(t, 0)
		w.patient("p1")
		obs := labObservation("o", "vital-signs", "8867-4", map[string]any{"valueQuantity": labQuantity(60, "/min")})
		delete(obs, "effectiveDateTime")
		if res := w.send(obs); res.Status != "422 Unprocessable Entity" || !strings.Contains(labDiagnostics(res), "Observation.effective[x]") {
			t.Errorf("answer %s %q", res.Status, labDiagnostics(res))
		}
	})
	t.Run("an Observation with no value is skipped", func(t *testing.T) {
		w := newLabWorld(t, 0)
		w.patient("p1")
		if res := w.send(labObservation("o", "laboratory", "718-7", nil)); res.Status != "200 OK" || !strings.Contains(labDiagnostics(res), "no value") {
			t.Errorf("answer %s %q", res.Status, labDiagnostics(res))
		}
	})
}

func TestObservationSentAgain(t *testing.T) {
	w := newLabWorld(t, 0)
	p := w.patient("p1")
	w.withAccount(p)
	lab := func(v float64, status string) map[string]any {
		return labObservation("hb", "laboratory", "718-7", map[string]any{"valueQuantity": labQuantity(v, "g/L"), "status": status})
	}
	weight := func(v float64, status string) map[string]any {
		return labObservation("wt", "vital-signs", "29463-7", map[string]any{"valueQuantity": labQuantity(v, "kg"), "status": status})
	}
	steps := []struct {
		name   string
		obs    map[string]any
		answer string
		check  func(t *testing.T, counts map[string]int)
	}{
		{"a new result is created and its release told", lab(140, "final"), "201 Created", func(t *testing.T, c map[string]int) {
			if c["results"] != 1 || c["components"] != 1 || c["notifications"] != 1 {
				t.Errorf("rows %v", c)
			}
		}},
		{"the same result sent again writes nothing", lab(140, "final"), "200 OK", nil},
		{"a changed value updates it without telling again", lab(150, "amended"), "200 OK", func(t *testing.T, c map[string]int) {
			r := w.onlyResult(p)
			if r.Status != result.StatusAMENDED || *r.Edges.Components[0].ValueNumeric != 150 || c["notifications"] != 1 || c["components"] != 1 {
				t.Errorf("status %s value %v rows %v", r.Status, *r.Edges.Components[0].ValueNumeric, c)
			}
		}},
		{"entered in error removes the result", lab(150, "entered-in-error"), "200 OK", func(t *testing.T, c map[string]int) {
			if c["results"] != 0 || c["components"] != 0 {
				t.Errorf("rows %v", c)
			}
		}},
		{"entered in error again is skipped", lab(150, "entered-in-error"), "200 OK", nil},
		{"a new weight is a measurement", weight(70, "final"), "201 Created", func(t *testing.T, c map[string]int) {
			if c["measurements"] != 1 || c["rollups"] != 1 {
				t.Errorf("rows %v", c)
			}
		}},
		{"the same weight again writes nothing", weight(70, "final"), "200 OK", nil},
		{"a corrected weight updates the reading and its hour", weight(71, "corrected"), "200 OK", func(t *testing.T, c map[string]int) {
			r, err := w.client.MeasurementRollup.Query().Only(w.ctx)
			if err != nil || r.Sum != 71 || r.Count != 1 {
				t.Errorf("rollup %+v, %v", r, err)
			}
		}},
		{"a weight entered in error is removed with its hour", weight(71, "entered-in-error"), "200 OK", func(t *testing.T, c map[string]int) {
			if c["measurements"] != 0 || c["rollups"] != 0 {
				t.Errorf("rows %v", c)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_, before := w.rows()
			res := w.send(s.obs)
			if res.Status != s.answer {
				t.Fatalf("answer %s, want %s: %s", res.Status, s.answer, labDiagnostics(res))
			}
			counts, after := w.rows()
			if s.check == nil {
				for id, at := range after {
					if !before[id].Equal(at) {
						t.Errorf("%s was written", id)
					}
				}
				return
			}
			s.check(t, counts)
		})
	}
}

func TestObservationGroupTakesItsMembers(t *testing.T) {
	group := labSample(t, "uk-nhs/UKCore-Observation-Group-FullBloodCount-Example.json")
	white := labSample(t, "uk-nhs/UKCore-Observation-Lab-WhiteCellCount-Example.json")
	red := labSample(t, "uk-nhs/UKCore-Observation-Lab-RedCellCount-Example.json")
	patient := labSample(t, "uk-nhs/UKCore-Patient-RichardSmith-Example.json")
	timed := labEdit(t, group, func(m map[string]any) { m["effectiveDateTime"] = "2024-05-02T10:00:00+01:00" })
	bundle := func(typ string, resources ...[]byte) *Bundle {
		b := &Bundle{ResourceType: "Bundle", Type: typ}
		for _, raw := range resources {
			var head Head
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatal(err)
			}
			e := BundleEntry{FullURL: "https://example.org/fhir/" + head.ResourceType + "/" + head.ID, Resource: raw}
			if typ != collection {
				e.Request = &EntryRequest{Method: "PUT", URL: head.ResourceType + "/" + head.ID}
			}
			b.Entry = append(b.Entry, e)
		}
		return b
	}
	t.Run("the UK Core sample has no effective time, so the transaction is refused", func(t *testing.T) {
		w := newLabWorld(t, 0)
		a := w.importBundle(bundle(transaction, patient, group, white, red))
		if a.Status != 422 || !strings.Contains(labDiagnostics(a.Body), "Observation.effective[x]") {
			t.Errorf("answer %d: %s", a.Status, labDiagnostics(a.Body))
		}
	})
	for _, tc := range []struct {
		name      string
		resources [][]byte
	}{
		{"a full blood count group is one result with the white and red cell counts", [][]byte{patient, timed, white, red}},
		{"members listed before their group still go in with it", [][]byte{patient, white, red, timed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			a := w.importBundle(bundle(batch, tc.resources...))
			es := labEntries(t, a)
			if a.Refused != 0 || a.Skipped != 0 {
				t.Fatalf("answer %d: %+v", a.Status, es)
			}
			var patientID pulid.ID
			for _, l := range []string{es[0].Location} {
				patientID = pulid.ID(strings.TrimPrefix(l, "Patient/"))
			}
			r := w.onlyResult(patientID)
			if r.Name != "Full blood count" || *r.Code != "26604007" || len(r.Edges.Components) != 2 {
				t.Fatalf("result %q code %v with %d components", r.Name, r.Code, len(r.Edges.Components))
			}
			got := map[string]string{}
			for _, c := range r.Edges.Components {
				if c.ReferenceLow == nil || c.ReferenceHigh == nil {
					t.Errorf("component %s has no reference range", componentKey(c))
				}
				got[*c.Code] = fmt.Sprintf("%g %s", *c.ValueNumeric, *c.Unit)
			}
			want := map[string]string{"16181000237107": "11.2 10*9/L", "58571000237106": "3.9 10*12/L"}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("components %v, want %v", got, want)
			}
			for i, e := range es[1:] {
				if !strings.HasPrefix(e.Status, "20") || !strings.HasPrefix(e.Location, "Observation/") {
					t.Errorf("entry %d: %s at %s", i+1, e.Status, e.Location)
				}
			}
			again := w.importBundle(bundle(batch, tc.resources...))
			if again.Unchanged != len(tc.resources) {
				t.Errorf("sent again: %d of %d unchanged: %+v", again.Unchanged, len(tc.resources), labEntries(t, again))
			}
		})
	}
}

func TestObservationVitalSignsPanelMembersAreMeasurementsOnTheirOwn(t *testing.T) {
	w := newLabWorld(t, 0)
	p := w.patient("p1")
	panel := labObservation("panel", "vital-signs", "85353-1", map[string]any{"hasMember": []any{
		map[string]any{"reference": "urn:uuid:hr"}, map[string]any{"reference": "urn:uuid:wt"}}})
	hr := labObservation("hr", "vital-signs", "8867-4", map[string]any{"valueQuantity": labQuantity(64, "/min")})
	wt := labObservation("wt", "vital-signs", "29463-7", map[string]any{"valueQuantity": labQuantity(70, "kg")})
	a := w.sendBundle(transaction, hr, panel, wt)
	es := labEntries(t, a)
	if es[1].Status != "200 OK" || !strings.Contains(labDiagnostics(es[1]), "not a measurement") ||
		es[0].Status != "201 Created" || es[2].Status != "201 Created" {
		t.Errorf("answers %+v", es)
	}
	n, err := w.client.Measurement.Query().Where(measurement.PatientID(p)).Count(w.ctx)
	if err != nil || n != 2 || len(w.results(p)) != 0 {
		t.Errorf("%d measurements (%v), %d results", n, err, len(w.results(p)))
	}
}

func TestObservationGroupOfAnExcludedServiceKeepsItsMembersOut(t *testing.T) {
	w := newLabWorld(t, 0)
	org, err := w.org.Update().SetExcludedServices([]string{"Maternity"}).Save(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.org = org
	p := w.patient("p1")
	group := labObservation("g", "laboratory", "26604007", map[string]any{
		"code":      map[string]any{"text": "Maternity booking bloods"},
		"hasMember": []any{map[string]any{"reference": "urn:uuid:a"}, map[string]any{"reference": "urn:uuid:b"}}})
	for _, typ := range []string{transaction, batch} {
		t.Run("members listed first in a "+typ, func(t *testing.T) {
			a := w.sendBundle(typ, labMember("a", "718-7", 140, nil), labMember("b", "6690-2", 6, nil), group)
			for i, e := range labEntries(t, a) {
				if e.Status != "200 OK" || !strings.Contains(labDiagnostics(e), "not stored") {
					t.Errorf("entry %d answered %s: %s", i, e.Status, labDiagnostics(e))
				}
			}
			if rs := w.results(p); len(rs) != 0 {
				t.Errorf("%d results stored", len(rs))
			}
		})
	}
}

func TestObservationAloneAndInAReport(t *testing.T) {
	hb := func(v float64) map[string]any {
		return labObservation("hb", "laboratory", "718-7", map[string]any{"valueQuantity": labQuantity(v, "g/L")})
	}
	report := map[string]any{
		"resourceType": "DiagnosticReport", "id": "fbc", "status": "final",
		"code":              map[string]any{"coding": []any{map[string]any{"system": loinc, "code": "58410-2", "display": "CBC"}}},
		"subject":           map[string]any{"reference": "Patient/p1"},
		"effectiveDateTime": "2024-05-20T09:30:00Z",
		"result":            []any{map[string]any{"reference": "urn:uuid:hb"}},
	}
	w := newLabWorld(t, 0)
	p := w.patient("p1")
	t.Run("an Observation stored alone moves into the report that lists it", func(t *testing.T) {
		if res := w.send(hb(140)); res.Status != "201 Created" {
			t.Fatalf("answer %s", res.Status)
		}
		a := w.sendBundle(transaction, report, hb(140))
		if a.Status != 200 {
			t.Fatalf("answer %d: %s", a.Status, labDiagnostics(a.Body))
		}
		r := w.onlyResult(p)
		if r.Name != "CBC" || len(r.Edges.Components) != 1 {
			t.Errorf("result %q with %d components", r.Name, len(r.Edges.Components))
		}
	})
	t.Run("the Observation sent alone again updates its component in the report", func(t *testing.T) {
		res := w.send(hb(150))
		if res.Status != "200 OK" || !strings.HasPrefix(res.Location, "Observation/co") {
			t.Fatalf("answer %s at %s: %s", res.Status, res.Location, labDiagnostics(res))
		}
		r := w.onlyResult(p)
		if r.Name != "CBC" || len(r.Edges.Components) != 1 || *r.Edges.Components[0].ValueNumeric != 150 {
			t.Errorf("result %q with components %v", r.Name, r.Edges.Components)
		}
	})
	t.Run("a sensitive Observation sent alone relabels the whole report", func(t *testing.T) {
		sensitive := hb(150)
		sensitive["meta"] = map[string]any{"security": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HIV"}}}
		if res := w.send(sensitive); res.Status != "200 OK" {
			t.Fatalf("answer %s", res.Status)
		}
		r := w.onlyResult(p)
		if r.Category != category.SexualHealth || r.Edges.Components[0].Category != category.SexualHealth {
			t.Errorf("result %s, component %s", r.Category, r.Edges.Components[0].Category)
		}
	})
	t.Run("the Observation entered in error leaves the report without it", func(t *testing.T) {
		gone := hb(150)
		gone["status"] = "entered-in-error"
		if res := w.send(gone); res.Status != "200 OK" {
			t.Fatalf("answer %s", res.Status)
		}
		if r := w.onlyResult(p); len(r.Edges.Components) != 0 {
			t.Errorf("%d components left", len(r.Edges.Components))
		}
	})
	n, err := w.client.Notification.Query().Where(notification.PatientID(p)).Count(w.ctx)
	if err != nil || n != 0 {
		t.Errorf("%d notifications (%v) for a patient with no account", n, err)
	}
}
