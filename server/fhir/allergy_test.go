package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/store/storetest"
)

// recordsHarness is an importer for one trust over a fresh store, for the
// tests of the record mappings (allergies, appointments, encounters and
// letters).
type recordsHarness struct {
	t       *testing.T
	ctx     context.Context
	client  *ent.Client
	imp     *Importer
	org     *ent.Organisation
	blobDir string
	now     time.Time
}

// recordsNow is the harness's clock.
var recordsNow = time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)

func newRecordsHarness(t *testing.T, excludedServices ...string) *recordsHarness {
	t.Helper()
	st := storetest.Open(t)
	ctx := access.SystemContext(t.Context())
	c := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Test Trust").SetKind(organisation.KindTRUST)
	if len(excludedServices) > 0 {
		c.SetExcludedServices(excludedServices)
	}
	org, err := c.Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "blobs")
	h := &recordsHarness{t: t, ctx: ctx, client: st.Client, org: org, blobDir: dir, now: recordsNow}
	h.imp = &Importer{Client: st.Client, Blobs: blob.NewDir(dir), Now: func() time.Time { return h.now }}
	return h
}

// send imports one resource alone (a map or raw JSON).
func (h *recordsHarness) send(res any) *Answer {
	h.t.Helper()
	raw := recordsJSON(h.t, res)
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		h.t.Fatal(err)
	}
	a, err := h.imp.ImportResource(h.ctx, h.org, head.ResourceType, "", raw)
	if err != nil {
		h.t.Fatalf("ImportResource: %v", err)
	}
	return a
}

// sendBundle imports a bundle.
func (h *recordsHarness) sendBundle(b *Bundle) *Answer {
	h.t.Helper()
	a, err := h.imp.ImportBundle(h.ctx, h.org, b)
	if err != nil {
		h.t.Fatalf("ImportBundle: %v", err)
	}
	return a
}

// recAnswered is the status and diagnostics of a single resource's answer.
func recAnswered(a *Answer) (string, string) {
	switch b := a.Body.(type) {
	case EntryResponse:
		return b.Status, recDiagnostics(b.Outcome)
	case *OperationOutcome:
		return strconv.Itoa(a.Status), recDiagnostics(b)
	}
	return strconv.Itoa(a.Status), ""
}

func recDiagnostics(o *OperationOutcome) string {
	if o == nil {
		return ""
	}
	var ds []string
	for _, i := range o.Issue {
		ds = append(ds, i.Diagnostics)
	}
	return strings.Join(ds, "; ")
}

// expect checks a single resource's answer: its status line starts with
// status, and its diagnostics contain say.
func (h *recordsHarness) expect(a *Answer, status, say string) {
	h.t.Helper()
	got, diag := recAnswered(a)
	if !strings.HasPrefix(got, status) || !strings.Contains(diag, say) {
		h.t.Fatalf("answer %s %q, want %s %q", got, diag, status, say)
	}
}

// patient sends a Patient with the FHIR id and returns the record.
func (h *recordsHarness) patient(id string) pulid.ID {
	h.t.Helper()
	h.expect(h.send(map[string]any{"resourceType": "Patient", "id": id,
		"name": []any{map[string]any{"family": "Tester", "given": []string{"Pat"}}}, "birthDate": "1980-02-03"}), "20", "")
	return h.patientByFhirID(id)
}

func (h *recordsHarness) patientByFhirID(id string) pulid.ID {
	h.t.Helper()
	link, err := h.client.PatientOrganisation.Query().Where(patientorganisation.OrganisationID(h.org.ID),
		patientorganisation.FhirID(id)).Only(h.ctx)
	if err != nil {
		h.t.Fatalf("patient %s: %v", id, err)
	}
	return link.PatientID
}

// account gives the patient an account, so that they are told of news.
func (h *recordsHarness) account(patientID pulid.ID) pulid.ID {
	h.t.Helper()
	acc := h.client.Account.Create().SetEmail(string(patientID) + "@example.org").SetDisplayName("Pat").SaveX(h.ctx)
	h.client.Patient.UpdateOneID(patientID).SetAccountID(acc.ID).ExecX(h.ctx)
	return acc.ID
}

// carer gives someone an accepted share of the patient's record.
func (h *recordsHarness) carer(patientID pulid.ID, mentalHealth bool) pulid.ID {
	h.t.Helper()
	acc := h.client.Account.Create().SetEmail("carer-" + string(patientID) + "@example.org").SetDisplayName("Carer").SaveX(h.ctx)
	h.client.Share.Create().SetPatientID(patientID).SetGranteeAccountID(acc.ID).
		SetRelationship(share.RelationshipCARER).SetMentalHealth(mentalHealth).SetAcceptedAt(h.now.Add(-time.Hour)).
		ExecX(h.ctx)
	return acc.ID
}

// news is the notifications about records (organisation links aside),
// each as "KIND CATEGORY recipient".
func (h *recordsHarness) news() []*ent.Notification {
	h.t.Helper()
	ns, err := h.client.Notification.Query().
		Where(notification.KindNEQ(notification.KindORGANISATION_LINKED)).
		Order(ent.Asc(notification.FieldCreatedAt), ent.Asc(notification.FieldID)).All(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return ns
}

// recordsSample reads a file of the shared FHIR samples, skipping without them.
func recordsSample(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fhir-samples", path))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("the shared FHIR samples are absent: a user's clone")
	}
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// recordsJSON marshals a fixture; raw JSON passes through.
func recordsJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	switch v := v.(type) {
	case []byte:
		return v
	case json.RawMessage:
		return v
	case string:
		return json.RawMessage(v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// recWith is a copy of a fixture with fields set (nil deletes one).
func recWith(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func recCC(system, code, display string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code, "display": display}}}
}

func recStatusCC(system, code string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}}
}

const (
	recClinicalSystem     = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	recVerificationSystem = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
)

// penicillinAllergy is an inline AllergyIntolerance for Patient/p1.
func penicillinAllergy() map[string]any {
	return map[string]any{
		"resourceType":       "AllergyIntolerance",
		"id":                 "al-1",
		"clinicalStatus":     recStatusCC(recClinicalSystem, "active"),
		"verificationStatus": recStatusCC(recVerificationSystem, "confirmed"),
		"criticality":        "high",
		"code":               recCC(snomed, "764146007", "Penicillin"),
		"patient":            map[string]any{"reference": "Patient/p1"},
		"recordedDate":       "2023-03-04T09:30:00Z",
		"recorder":           map[string]any{"reference": "Practitioner/x", "display": "Dr Ann Smith"},
		"reaction": []any{
			map[string]any{"manifestation": []any{recCC(snomed, "271807003", "Rash")}, "severity": "mild"},
			map[string]any{"manifestation": []any{recCC(snomed, "39579001", "Anaphylaxis"), recCC(snomed, "271807003", "Rash")}, "severity": "severe"},
		},
	}
}

func TestAllergyIntoleranceMapsOntoAnAllergy(t *testing.T) {
	base := penicillinAllergy()
	tests := []struct {
		name   string
		res    map[string]any
		status string
		say    string
		check  func(t *testing.T, a *ent.Allergy)
	}{
		{"an allergy keeps its substance, reactions, worst severity, criticality and recorder", base, "201", "",
			func(t *testing.T, a *ent.Allergy) {
				if a.Kind != allergy.KindALLERGY || a.Substance != "Penicillin" || a.Reaction == nil || *a.Reaction != "Rash; Anaphylaxis" ||
					a.Severity == nil || *a.Severity != allergy.SeveritySEVERE || a.Criticality == nil || *a.Criticality != allergy.CriticalityHIGH ||
					a.Status != allergy.StatusACTIVE || a.RecordedBy != allergy.RecordedByTRUST || a.Recorder == nil || *a.Recorder != "Dr Ann Smith" ||
					!a.RecordedAt.Equal(time.Date(2023, 3, 4, 9, 30, 0, 0, time.UTC)) {
					t.Errorf("allergy = %+v", a)
				}
				if a.Category != category.General || a.AssignedCategory != nil {
					t.Errorf("labelled %s (assigned %v), want GENERAL unassigned", a.Category, a.AssignedCategory)
				}
			}},
		{"a no-known-drug-allergy statement is a NO_KNOWN_ALLERGIES entry",
			recWith(base, "code", recCC(snomed, "409137002", "No known history of drug allergy"), "reaction", nil, "criticality", nil), "201", "",
			func(t *testing.T, a *ent.Allergy) {
				if a.Kind != allergy.KindNO_KNOWN_ALLERGIES || a.Substance != "No known history of drug allergy" || a.Reaction != nil || a.Severity != nil || a.Criticality != nil {
					t.Errorf("allergy = %+v", a)
				}
			}},
		{"without a recorded date it is dated by its onset", recWith(base, "recordedDate", nil, "onsetDateTime", "2001-05"), "201", "",
			func(t *testing.T, a *ent.Allergy) {
				if !a.RecordedAt.Equal(time.Date(2001, 5, 1, 0, 0, 0, 0, time.UTC).Add(-time.Hour)) {
					t.Errorf("recorded at %v, want 2001-05-01 UK time", a.RecordedAt)
				}
			}},
		{"without any date it is dated when it arrived", recWith(base, "recordedDate", nil), "201", "",
			func(t *testing.T, a *ent.Allergy) {
				if !a.RecordedAt.Equal(recordsNow) {
					t.Errorf("recorded at %v, want now", a.RecordedAt)
				}
			}},
		{"a resolved allergy is RESOLVED and the asserter names it when no recorder does",
			recWith(base, "clinicalStatus", recStatusCC(recClinicalSystem, "resolved"), "recorder", nil,
				"asserter", map[string]any{"reference": "Practitioner/y", "display": "Nurse Bo"}), "201", "",
			func(t *testing.T, a *ent.Allergy) {
				if a.Status != allergy.StatusRESOLVED || a.Recorder == nil || *a.Recorder != "Nurse Bo" {
					t.Errorf("allergy = %+v", a)
				}
			}},
		{"meta.security labels the allergy",
			recWith(base, "meta", map[string]any{"security": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}}}), "201", "",
			func(t *testing.T, a *ent.Allergy) {
				if a.Category != category.MentalHealth || a.AssignedCategory == nil || *a.AssignedCategory != category.MentalHealth {
					t.Errorf("labelled %s (assigned %v), want MENTAL_HEALTH", a.Category, a.AssignedCategory)
				}
			}},
		{"an allergy without a code is refused", recWith(base, "code", nil), "422", "AllergyIntolerance.code", nil},
		{"an allergy for a patient the trust never sent is not found",
			recWith(base, "patient", map[string]any{"reference": "Patient/nobody"}), "404", "send the Patient first", nil},
		{"an allergy entered in error that was never stored is skipped",
			recWith(base, "verificationStatus", recStatusCC(recVerificationSystem, "entered-in-error")), "200", "never stored", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			h.patient("p1")
			h.expect(h.send(tc.res), tc.status, tc.say)
			all := h.client.Allergy.Query().AllX(h.ctx)
			if tc.check == nil {
				if len(all) != 0 {
					t.Fatalf("%d allergies stored, want none", len(all))
				}
				return
			}
			if len(all) != 1 {
				t.Fatalf("%d allergies stored, want 1", len(all))
			}
			tc.check(t, all[0])
			if n := len(h.news()); n != 0 {
				t.Errorf("%d notifications, want none: there is no news of allergies", n)
			}
		})
	}
}

func TestAllergyIntoleranceSentAgain(t *testing.T) {
	base := penicillinAllergy()
	tests := []struct {
		name   string
		again  map[string]any
		status string
		say    string
		rows   int
		moved  bool
	}{
		{"the same allergy again changes nothing", base, "200", "", 1, false},
		{"a changed allergy is updated", recWith(base, "clinicalStatus", recStatusCC(recClinicalSystem, "inactive")), "200", "", 1, true},
		{"an allergy sent again without a date keeps its date", recWith(base, "recordedDate", nil), "200", "", 1, false},
		{"an allergy entered in error is removed", recWith(base, "verificationStatus", recStatusCC(recVerificationSystem, "entered-in-error")), "200", "entered in error", 0, false},
		{"a refuted allergy is removed", recWith(base, "verificationStatus", recStatusCC(recVerificationSystem, "refuted")), "200", "entered in error", 0, false},
		{"an allergy moved to another patient is refused", recWith(base, "patient", map[string]any{"reference": "Patient/p2"}), "422", "another patient", 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			h.patient("p1")
			h.patient("p2")
			h.expect(h.send(base), "201", "")
			first := h.client.Allergy.Query().OnlyX(h.ctx)
			h.now = h.now.Add(time.Hour)
			time.Sleep(2 * time.Millisecond) // updated_at comes from the wall clock
			h.expect(h.send(tc.again), tc.status, tc.say)
			all := h.client.Allergy.Query().AllX(h.ctx)
			if len(all) != tc.rows {
				t.Fatalf("%d allergies, want %d", len(all), tc.rows)
			}
			if tc.rows == 1 {
				if moved := !all[0].UpdatedAt.Equal(first.UpdatedAt); moved != tc.moved {
					t.Errorf("updated_at moved = %v, want %v", moved, tc.moved)
				}
				if !tc.moved && !all[0].RecordedAt.Equal(first.RecordedAt) {
					t.Errorf("recorded at %v, was %v", all[0].RecordedAt, first.RecordedAt)
				}
			}
		})
	}
}

func TestAllergyIntoleranceSamples(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		patient  string // FHIR id the sample points at
		substa   string
		kind     allergy.Kind
		reaction string
		severity allergy.Severity
		crit     allergy.Criticality
		at       time.Time
	}{
		{"the HL7 cashew allergy with two reactions", "hl7-r4-examples/allergyintolerance-example.json", "example",
			"Cashew nuts", allergy.KindALLERGY, "Anaphylactic reaction; Urticaria", allergy.SeveritySEVERE, allergy.CriticalityHIGH,
			time.Date(2014, 10, 9, 3, 58, 0, 0, time.UTC)},
		{"the HL7 no-known-allergy statement", "hl7-r4-examples/allergyintolerance-nka.json", "mom",
			"NKA", allergy.KindNO_KNOWN_ALLERGIES, "", "", "", time.Date(2015, 8, 6, 21, 37, 31, 0, time.UTC)},
		{"the UK Core amoxicillin allergy", "uk-nhs/UKCore-AllergyIntolerance-Amoxicillin-Example.json", "UKCore-Patient-RichardSmith-Example",
			"Amoxicillin", allergy.KindALLERGY, "Urticarial rash", allergy.SeverityMILD, "", time.Date(2019, 12, 10, 13, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := recordsSample(t, tc.file)
			h := newRecordsHarness(t)
			h.patient(tc.patient)
			h.expect(h.send(raw), "201", "")
			a := h.client.Allergy.Query().OnlyX(h.ctx)
			if a.Substance != tc.substa || a.Kind != tc.kind || recDeref(a.Reaction) != tc.reaction ||
				recDeref(a.Severity) != tc.severity || recDeref(a.Criticality) != tc.crit || !a.RecordedAt.Equal(tc.at) ||
				a.Category != category.General {
				t.Errorf("allergy = %+v", a)
			}
			h.expect(h.send(raw), "200", "")
			if b := h.client.Allergy.Query().OnlyX(h.ctx); !b.UpdatedAt.Equal(a.UpdatedAt) {
				t.Error("sending the sample again rewrote it")
			}
		})
	}
}

// recDeref is *p, or the zero value for nil.
func recDeref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
