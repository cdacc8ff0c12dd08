package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/membership"
)

const accessLogQuery = `query($id: ID!) { patient(id: $id) { accessLog(first: 50) { totalCount edges { node { action recordKinds breakGlass } } } } }`

type accessLogEntry struct {
	Action      string
	RecordKinds []string
	BreakGlass  bool
}

func readAccessLog(t *testing.T, e *testEnv, token, patient string) []accessLogEntry {
	t.Helper()
	var data struct {
		Patient *struct {
			AccessLog struct {
				TotalCount int
				Edges      []struct{ Node accessLogEntry }
			}
		}
	}
	res := e.post(token, accessLogQuery, map[string]any{"id": patient})
	if len(res.Errors) > 0 {
		t.Fatalf("accessLog: %s", res.raw)
	}
	res.decode(t, &data)
	if data.Patient == nil {
		return nil
	}
	var out []accessLogEntry
	for _, e := range data.Patient.AccessLog.Edges {
		if e.Node.Action == "READ" {
			out = append(out, e.Node)
		}
	}
	return out
}

func TestAccessLogShowsExactlyTheReadsOfOthers(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 6, e.clock.Now())
	alice := string(f.Alice.PatientID)
	owner := e.signIn(f.Alice.Email, fixturePassword)
	carer := e.signIn(f.Carer.Email, fixturePassword) // holds a GENERAL share
	clinician := e.signIn(f.Clinician.Email, fixturePassword)

	// The patient's own reads are never logged.
	e.post(owner, dashboardQuery, map[string]any{"patient": alice, "now": e.clock.Now().Format("2006-01-02T15:04:05Z")})
	if got := readAccessLog(t, e, owner, alice); len(got) != 0 {
		t.Fatalf("own reads logged: %+v", got)
	}
	// Two requests by the carer, one by the clinician, one that reads
	// nothing of Alice's (a count is not a read of content).
	e.post(carer, `query($id: ID!) { patient(id: $id) { appointments { edges { node { id title } } } } }`, map[string]any{"id": alice})
	e.post(carer, `query($id: ID!) { node(id: $id) { id ... on Letter { title } } }`, map[string]any{"id": string(f.AliceNodes["Letter"][0])})
	e.post(clinician, `query($id: ID!) { node(id: $id) { id ... on Result { name } } }`, map[string]any{"id": string(f.AliceNodes["Result"][0])})
	e.post(carer, `{ viewer { account { id } } }`, nil)

	got := readAccessLog(t, e, owner, alice)
	want := [][]string{{"Result"}, {"Letter"}, {"Appointment", "Patient"}} // newest first
	if len(got) != len(want) {
		t.Fatalf("access log = %+v, want %d READ entries", got, len(want))
	}
	for i, w := range want {
		if !slices.Equal(got[i].RecordKinds, w) || got[i].BreakGlass {
			t.Errorf("entry %d = %+v, want kinds %v", i, got[i], w)
		}
	}
	// Only the patient reads the log.
	for name, token := range map[string]string{"carer": carer, "clinician": clinician} {
		res := e.post(token, accessLogQuery, map[string]any{"id": alice})
		if strings.Contains(string(res.Data), "READ") {
			t.Errorf("%s read the access log: %s", name, res.raw)
		}
	}
}

func TestPrivacyOfficerSeesOnlyTheirOwnStaffsReads(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 2, e.clock.Now())
	ctx := access.SystemContext(context.Background())
	if err := e.store.Client.Membership.Create().SetAccountID(f.Bob.AccountID).SetOrganisationID(f.OrgID).
		SetRole(membership.RolePRIVACY_OFFICER).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	clinician := e.signIn(f.Clinician.Email, fixturePassword)
	carer := e.signIn(f.Carer.Email, fixturePassword)
	e.post(clinician, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": string(f.AliceNodes["Appointment"][0])})
	e.post(carer, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": string(f.AliceNodes["Appointment"][0])})

	q := `query($org: ID!) { staffAccessLog(organisationId: $org) { totalCount edges { node { action recordKinds } } } }`
	officer := e.signIn(f.Bob.Email, fixturePassword)
	res := e.post(officer, q, map[string]any{"org": string(f.OrgID)})
	if !strings.Contains(string(res.Data), `"totalCount":1,`) || !strings.Contains(string(res.Data), `"recordKinds":["Appointment"]`) {
		t.Errorf("privacy officer: %s", res.raw)
	}
	for name, token := range map[string]string{"clinician": clinician, "carer": carer} {
		if res := e.post(token, q, map[string]any{"org": string(f.OrgID)}); !strings.Contains(string(res.Data), `"totalCount":0`) {
			t.Errorf("%s reads the staff log: %s", name, res.raw)
		}
	}
}
