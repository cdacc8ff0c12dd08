package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/server/config"
)

// What a research export may never contain.
var (
	researchInternalID = regexp.MustCompile(`\b[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}\b`)
	researchDayDate    = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
)

const (
	researchCreateStudy = `mutation($org: ID!, $title: String!) {
  createResearchStudy(input: {organisationId: $org, title: $title}) {
    id title open exportURL cohortSize { value suppressed }
  }
}`
	researchMyStudies = `{ researchStudies { id title cohortSize { value suppressed } exportURL } }`
	researchPatient   = `query($id: ID!) {
  patient(id: $id) { id researchStudies { study { id title } consent { categories consentedAt withdrawnAt } } }
}`
	researchConsent = `mutation($patient: ID!, $study: ID!, $categories: [Category!]!) {
  consentToStudy(patientId: $patient, studyId: $study, categories: $categories) {
    study { id } consent { categories consentedAt withdrawnAt }
  }
}`
	researchWithdraw = `mutation($patient: ID!, $study: ID!) {
  withdrawFromStudy(patientId: $patient, studyId: $study) {
    study { id } consent { categories withdrawnAt }
  }
}`
)

// researchStudyAnswer is a study as its researcher reads it.
type researchStudyAnswer struct {
	ID         string
	Title      string
	Open       bool
	ExportURL  *string
	CohortSize struct {
		Value      *int
		Suppressed bool
	}
}

// researchPatientStudies is Patient.researchStudies as a client reads it.
type researchPatientStudies struct {
	Patient *struct {
		ID              string
		ResearchStudies []struct {
			Study   struct{ ID, Title string }
			Consent *struct {
				Categories  []string
				WithdrawnAt *string
			}
		}
	}
}

// researchExportLines downloads an export with a bearer token and parses
// its lines; status is the HTTP status.
func researchExportLines(t *testing.T, e *testEnv, exportURL, token string) (status int, raw string, lines []map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, exportURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, body.String(), nil
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(&body)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	return res.StatusCode, body.String(), lines
}

// researchPseudonyms lists the patients of an export.
func researchPseudonyms(lines []map[string]any) []string {
	var out []string
	for _, l := range lines {
		if l["type"] == "patient" {
			out = append(out, l["pseudonym"].(string))
		}
	}
	return out
}

func TestResearchEndToEnd(t *testing.T) {
	e := newEnvWith(t, func(url string) config.Config { return config.Config{PublicURL: url} })
	f := seed(t, e.store.Client, 6, e.clock.Now())
	ctx := access.SystemContext(context.Background())

	// A research unit with a researcher.
	unit, err := e.store.Client.Organisation.Create().SetOdsCode("RU1").SetName("Northbridge Research Unit").
		SetKind(organisation.KindRESEARCH).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := e.store.Client.Account.Create().SetEmail("researcher@example.org").SetDisplayName("Dr Researcher").
		SetPasswordHash(fixtureHash(t)).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Client.Membership.Create().SetAccountID(acc.ID).SetOrganisationID(unit.ID).
		SetRole(membership.RoleRESEARCHER).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	researcher := e.signIn("researcher@example.org", fixturePassword)
	alice := e.signIn(f.Alice.Email, fixturePassword)
	carer := e.signIn(f.Carer.Email, fixturePassword)
	clinician := e.signIn(f.Clinician.Email, fixturePassword)
	aliceID := string(f.Alice.PatientID)

	createStudy := func(title string) researchStudyAnswer {
		t.Helper()
		res := e.post(researcher, researchCreateStudy, map[string]any{"org": string(unit.ID), "title": title})
		if len(res.Errors) > 0 {
			t.Fatalf("createResearchStudy: %+v", res.Errors)
		}
		var data struct{ CreateResearchStudy researchStudyAnswer }
		res.decode(t, &data)
		return data.CreateResearchStudy
	}
	study := createStudy("Anaemia in adults")
	if !study.Open || study.ExportURL == nil || *study.ExportURL != e.server.URL+"/research/studies/"+study.ID+"/export" {
		t.Fatalf("new study %+v", study)
	}
	if res := e.post(researcher, researchCreateStudy, map[string]any{"org": string(f.OrgID), "title": "X"}); !slices.Contains(res.codes(), "FORBIDDEN") {
		t.Errorf("a researcher defined a study of an organisation they do not research at: %s %v", res.Data, res.codes())
	}

	t.Run("Alice sees the open study and joins it", func(t *testing.T) {
		res := e.post(alice, researchPatient, map[string]any{"id": aliceID})
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %+v", res.Errors)
		}
		var data researchPatientStudies
		res.decode(t, &data)
		found := false
		for _, ps := range data.Patient.ResearchStudies {
			if ps.Study.ID == study.ID {
				found = ps.Study.Title == "Anaemia in adults" && ps.Consent == nil
			}
		}
		if !found {
			t.Fatalf("Alice's studies %s", res.Data)
		}
		res = e.post(alice, researchConsent, map[string]any{"patient": aliceID, "study": study.ID, "categories": []string{"GENERAL", "MENTAL_HEALTH"}})
		if len(res.Errors) > 0 {
			t.Fatalf("consentToStudy: %+v", res.Errors)
		}
		var joined struct {
			ConsentToStudy struct {
				Consent struct{ Categories []string }
			}
		}
		res.decode(t, &joined)
		if !slices.Equal(joined.ConsentToStudy.Consent.Categories, []string{"GENERAL", "MENTAL_HEALTH"}) {
			t.Errorf("consent %s", res.Data)
		}
	})

	t.Run("the researcher's cohort of one is suppressed", func(t *testing.T) {
		res := e.post(researcher, researchMyStudies, nil)
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %+v", res.Errors)
		}
		var data struct{ ResearchStudies []researchStudyAnswer }
		res.decode(t, &data)
		if len(data.ResearchStudies) != 1 || data.ResearchStudies[0].ID != study.ID {
			t.Fatalf("studies %s", res.Data)
		}
		if c := data.ResearchStudies[0].CohortSize; !c.Suppressed || c.Value != nil {
			t.Errorf("cohort size %s", res.Data)
		}
	})

	var pseudonym string
	t.Run("the export has Alice's pseudonymised lines and nothing that identifies her", func(t *testing.T) {
		status, raw, lines := researchExportLines(t, e, *study.ExportURL, researcher)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, raw)
		}
		ps := researchPseudonyms(lines)
		if len(ps) != 1 {
			t.Fatalf("patients %v", ps)
		}
		pseudonym = ps[0]
		kinds := map[string]int{}
		for _, l := range lines {
			if l["type"] == "end" {
				continue
			}
			if l["pseudonym"] != pseudonym {
				t.Errorf("a line about someone else: %v", l)
			}
			kinds[l["type"].(string)]++
			if c, ok := l["category"]; ok && c != "GENERAL" && c != "MENTAL_HEALTH" {
				t.Errorf("a line of a label Alice did not agree to: %v", l)
			}
		}
		// seed gives Alice one item of each kind per label: GENERAL and
		// MENTAL_HEALTH are two of six.
		if kinds["patient"] != 1 || kinds["result"] != 4 || kinds["measurement"] != 2 || kinds["encounter"] != 2 || kinds["allergy"] != 2 {
			t.Errorf("lines by type %v", kinds)
		}
		if m := researchInternalID.FindString(raw); m != "" {
			t.Errorf("an internal ID in the export: %s", m)
		}
		if m := researchDayDate.FindString(raw); m != "" {
			t.Errorf("a date to the day in the export: %s", m)
		}
		for _, s := range []string{"Alice", "Example", f.Alice.Email, "9990000018", "Substance", "Component", "Test ",
			"Clinic", "Letter", "Felt fine", "Headache", "Leaflet", aliceID} {
			if strings.Contains(raw, s) {
				t.Errorf("%q in the export", s)
			}
		}
	})

	t.Run("the carer and the clinician get nothing from Alice's studies", func(t *testing.T) {
		for who, token := range map[string]string{"carer": carer, "clinician": clinician} {
			res := e.post(token, researchPatient, map[string]any{"id": aliceID})
			var data researchPatientStudies
			res.decode(t, &data)
			if len(res.Errors) > 0 || data.Patient == nil || len(data.Patient.ResearchStudies) != 0 {
				t.Errorf("%s: %s %+v", who, res.Data, res.Errors)
			}
			res = e.post(token, researchConsent, map[string]any{"patient": aliceID, "study": study.ID, "categories": []string{"GENERAL"}})
			if !slices.Contains(res.codes(), "FORBIDDEN") {
				t.Errorf("%s consented for Alice: %s %v", who, res.Data, res.codes())
			}
			res = e.post(token, researchWithdraw, map[string]any{"patient": aliceID, "study": study.ID})
			if !slices.Contains(res.codes(), "FORBIDDEN") {
				t.Errorf("%s withdrew Alice: %s %v", who, res.Data, res.codes())
			}
			if status, _, _ := researchExportLines(t, e, *study.ExportURL, token); status != http.StatusForbidden {
				t.Errorf("%s downloaded the export: %d", who, status)
			}
		}
		if status, _, _ := researchExportLines(t, e, *study.ExportURL, alice); status != http.StatusForbidden {
			t.Errorf("Alice downloaded the export: %d", status)
		}
		if status, _, _ := researchExportLines(t, e, *study.ExportURL, ""); status != http.StatusUnauthorized {
			t.Errorf("signed out downloaded the export: %d", status)
		}
	})

	t.Run("the researcher gets nothing from the patient graph", func(t *testing.T) {
		res := e.post(researcher, `{ viewer { patients { id } } }`, nil)
		var v struct {
			Viewer struct{ Patients []struct{ ID string } }
		}
		res.decode(t, &v)
		if len(v.Viewer.Patients) != 0 {
			t.Errorf("viewer.patients %s", res.Data)
		}
		res = e.post(researcher, researchPatient, map[string]any{"id": aliceID})
		var p researchPatientStudies
		res.decode(t, &p)
		if p.Patient != nil {
			t.Errorf("patient(id:) %s", res.Data)
		}
		res = e.post(researcher, `query($id: ID!) { node(id: $id) { id ... on Result { name } } }`,
			map[string]any{"id": string(f.AliceNodes["Result"][0])})
		var n struct{ Node *struct{ ID string } }
		res.decode(t, &n)
		if n.Node != nil {
			t.Errorf("node(id:) of Alice's result %s", res.Data)
		}
		res = e.post(alice, researchStudyCohort, map[string]any{"id": study.ID})
		if !slices.Contains(res.codes(), "FORBIDDEN") {
			t.Errorf("Alice read the cohort size: %s %v", res.Data, res.codes())
		}
	})

	t.Run("after Alice withdraws, the next export has no line of hers", func(t *testing.T) {
		res := e.post(alice, researchWithdraw, map[string]any{"patient": aliceID, "study": study.ID})
		if len(res.Errors) > 0 {
			t.Fatalf("withdrawFromStudy: %+v", res.Errors)
		}
		var left struct {
			WithdrawFromStudy struct {
				Consent struct{ WithdrawnAt *string }
			}
		}
		res.decode(t, &left)
		if left.WithdrawFromStudy.Consent.WithdrawnAt == nil {
			t.Fatalf("withdrawal %s", res.Data)
		}
		status, raw, lines := researchExportLines(t, e, *study.ExportURL, researcher)
		if status != http.StatusOK || len(researchPseudonyms(lines)) != 0 || strings.Contains(raw, pseudonym) {
			t.Errorf("export after withdrawal (%d): %s", status, raw)
		}
		res = e.post(researcher, researchMyStudies, nil)
		var data struct{ ResearchStudies []researchStudyAnswer }
		res.decode(t, &data)
		if c := data.ResearchStudies[0].CohortSize; c.Suppressed || c.Value == nil || *c.Value != 0 {
			t.Errorf("cohort size after withdrawal %s", res.Data)
		}
	})

	t.Run("a second study gives Alice another pseudonym", func(t *testing.T) {
		second := createStudy("Iron and sleep")
		res := e.post(alice, researchConsent, map[string]any{"patient": aliceID, "study": second.ID, "categories": []string{"GENERAL"}})
		if len(res.Errors) > 0 {
			t.Fatalf("consentToStudy: %+v", res.Errors)
		}
		status, raw, lines := researchExportLines(t, e, *second.ExportURL, researcher)
		ps := researchPseudonyms(lines)
		if status != http.StatusOK || len(ps) != 1 {
			t.Fatalf("second export (%d): %s", status, raw)
		}
		if pseudonym == "" || ps[0] == pseudonym {
			t.Errorf("the same pseudonym %q in two studies", ps[0])
		}
	})
}

const researchStudyCohort = `query($id: ID!) { node(id: $id) { id ... on ResearchStudy { title cohortSize { value suppressed } } } }`
