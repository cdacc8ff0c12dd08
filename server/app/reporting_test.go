package app_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/report/reporttest"
)

// reportingQuery asks for every figure of the overview.
const reportingQuery = `query($org: ID!, $period: ReportingPeriodInput!) {
  reporting(organisationId: $org, period: $period) {
    period { kind start end }
    registrations { ...f } activePatients { ...f } invitationsSent { ...f } invitationsAccepted { ...f }
    sharesByRelationship { ...b } sharesByCategory { ...b }
    resultsReleased { ...f }
    releaseDelayMedianHours { value suppressed } releaseDelayP90Hours { value suppressed }
    appointmentsByStatus { ...b } appointmentsBySpecialty { ...b }
    lettersDelivered { ...f } lettersReadInPortal { ...f } postageSavedPence { ...f }
    notificationsByChannel { ...b }
  }
}
fragment f on Figure { value suppressed }
fragment b on Breakdown { total { ...f } parts { key figure { ...f } } }`

// reportingAnalyst makes a new account an ANALYST at org and signs it in.
func reportingAnalyst(t *testing.T, e *testEnv, email string, org pulid.ID) string {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	acc, err := e.store.Client.Account.Create().SetEmail(email).SetDisplayName("Ana Analyst").
		SetPasswordHash(fixtureHash(t)).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Client.Membership.Create().SetAccountID(acc.ID).SetOrganisationID(org).
		SetRole(membership.RoleANALYST).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return e.signIn(email, fixturePassword)
}

func reportingVars(org pulid.ID, in model.ReportingPeriodInput) map[string]any {
	period := map[string]any{"kind": string(in.Kind), "year": in.Year}
	if in.Number != nil {
		period["number"] = *in.Number
	}
	return map[string]any{"org": string(org), "period": period}
}

func TestReportingAsAnalystOnAKnownDataset(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	reporttest.Known(t, e.store.Client, f.OrgID)
	analyst := reportingAnalyst(t, e, "analyst@example.org", f.OrgID)

	res := e.post(analyst, reportingQuery, reportingVars(f.OrgID, reporttest.February()))
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %s", res.raw)
	}
	var data struct{ Reporting *model.ReportingOverview }
	res.decode(t, &data)
	if data.Reporting == nil {
		t.Fatalf("no overview: %s", res.raw)
	}
	if d := reporttest.Diff(reporttest.Flatten(data.Reporting), reporttest.Want); d != "" {
		t.Errorf("February:\n%s", d)
	}
	// Suppressed figures carry no number at all, not even a zero.
	for _, hidden := range []string{`"activePatients":{"value":null,"suppressed":true}`,
		`"key":"FAMILY","figure":{"value":null,"suppressed":true}`} {
		if !strings.Contains(string(res.raw), hidden) {
			t.Errorf("answer lacks %s: %s", hidden, res.raw)
		}
	}
}

func TestReportingIsForTheOrganisationsAnalysts(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	data := reporttest.Known(t, e.store.Client, f.OrgID)
	vars := reportingVars(f.OrgID, reporttest.February())
	clinician := e.signIn(f.Clinician.Email, fixturePassword)
	elsewhere := reportingAnalyst(t, e, "analyst.elsewhere@example.org", data.Other)
	patient := e.signIn(f.Alice.Email, fixturePassword)
	for _, tc := range []struct {
		name, token, code string
	}{
		{"signed out", "", "UNAUTHENTICATED"},
		{"a patient", patient, "FORBIDDEN"},
		{"a clinician of the organisation", clinician, "FORBIDDEN"},
		{"an analyst of another organisation", elsewhere, "FORBIDDEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.post(tc.token, reportingQuery, vars)
			if got := res.codes(); !slices.Equal(got, []string{tc.code}) || string(res.Data) != "null" {
				t.Errorf("codes %v, data %s; want %s and no data", got, res.Data, tc.code)
			}
		})
	}
	t.Run("an admin of the organisation", func(t *testing.T) {
		res := e.post(admin(t, e, f), reportingQuery, vars)
		if got := res.codes(); !slices.Equal(got, []string{"FORBIDDEN"}) {
			t.Errorf("codes %v: %s", got, res.raw)
		}
	})
	t.Run("a period that has not started", func(t *testing.T) {
		analyst := reportingAnalyst(t, e, "analyst@example.org", f.OrgID)
		next := e.clock.Now().AddDate(1, 0, 0)
		res := e.post(analyst, reportingQuery, reportingVars(f.OrgID,
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: next.Year()}))
		if got := res.codes(); !slices.Equal(got, []string{"BAD_USER_INPUT"}) {
			t.Errorf("codes %v: %s", got, res.raw)
		}
		res = e.post(analyst, reportingQuery, map[string]any{"org": string(f.OrgID),
			"period": map[string]any{"kind": "MONTH", "year": 2026, "number": 13}})
		if got := res.codes(); !slices.Equal(got, []string{"BAD_USER_INPUT"}) {
			t.Errorf("month 13: codes %v: %s", got, res.raw)
		}
	})
}

// TestReportingCountsASignInThroughTheAPI signs a patient in as the portal
// does and finds her among the organisation's active patients of the
// month: the sign-in keeps the reporting rollup.
func TestReportingCountsASignInThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	analyst := reportingAnalyst(t, e, "analyst@example.org", f.OrgID)
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now().In(london)
	month := int(now.Month())
	vars := reportingVars(f.OrgID, model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth,
		Year: now.Year(), Number: &month})
	active := func() string {
		t.Helper()
		var data struct{ Reporting *model.ReportingOverview }
		e.post(analyst, reportingQuery, vars).decode(t, &data)
		if data.Reporting == nil {
			t.Fatal("no overview")
		}
		return reporttest.Flatten(data.Reporting)["activePatients"]
	}
	if got := active(); got != "0" {
		t.Fatalf("before any patient signed in: activePatients %s, want 0", got)
	}
	e.signIn(f.Alice.Email, fixturePassword)
	if got := active(); got != "*" {
		t.Errorf("after Alice signed in: activePatients %s, want suppressed (one patient)", got)
	}
}

// anyID matches a global ID anywhere in a response.
var anyID = regexp.MustCompile(`[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}`)

// reportingTypes are the types a reporting answer is made of. Nothing else
// may be reached from ReportingOverview.
var reportingTypes = []string{"ReportingOverview", "ReportingPeriod", "Figure", "Measure", "Breakdown", "FigurePart"}

const typeQuery = `query($name: String!) {
  __type(name: $name) {
    name kind
    interfaces { name }
    fields { name type { ...t } }
  }
}
fragment t on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`

type introspectedType struct {
	Kind   string
	Name   *string
	OfType *introspectedType
}

// named unwraps NON_NULL and LIST down to the named type.
func (t *introspectedType) named() *introspectedType {
	for t != nil && t.Name == nil {
		t = t.OfType
	}
	return t
}

func TestReportingTypesLeadNowhere(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)

	var nodeTypes struct {
		Type struct{ PossibleTypes []struct{ Name string } } `json:"__type"`
	}
	e.post(token, `{ __type(name: "Node") { possibleTypes { name } } }`, nil).decode(t, &nodeTypes)
	nodes := map[string]bool{"Node": true}
	for _, p := range nodeTypes.Type.PossibleTypes {
		nodes[p.Name] = true
	}
	if !nodes["Patient"] || !nodes["Result"] {
		t.Fatalf("introspection did not list the Node types: %v", nodes)
	}

	seen := map[string]bool{}
	queue := []string{"ReportingOverview"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		var data struct {
			Type *struct {
				Name       string
				Kind       string
				Interfaces []struct{ Name string }
				Fields     []struct {
					Name string
					Type introspectedType
				}
			} `json:"__type"`
		}
		res := e.post(token, typeQuery, map[string]any{"name": name})
		if len(res.Errors) > 0 {
			t.Fatalf("%s: %s", name, res.raw)
		}
		res.decode(t, &data)
		if data.Type == nil {
			t.Fatalf("no type %s", name)
		}
		if len(data.Type.Interfaces) > 0 {
			t.Errorf("%s implements %v: a reporting type must stand alone", name, data.Type.Interfaces)
		}
		for _, field := range data.Type.Fields {
			ft := field.Type.named()
			where := name + "." + field.Name
			switch {
			case ft == nil:
				t.Errorf("%s: no named type", where)
			case *ft.Name == "ID":
				t.Errorf("%s is an ID", where)
			case nodes[*ft.Name]:
				t.Errorf("%s leads to %s, a node of the patient graph", where, *ft.Name)
			case ft.Kind == "SCALAR", ft.Kind == "ENUM":
			case ft.Kind == "OBJECT" && slices.Contains(reportingTypes, *ft.Name):
				queue = append(queue, *ft.Name)
			default:
				t.Errorf("%s leads to %s %s, which is not a reporting type", where, ft.Kind, *ft.Name)
			}
		}
	}
	for _, want := range reportingTypes {
		if !seen[want] {
			t.Errorf("%s was not reached: the walk is broken", want)
		}
	}

	// The entry point itself answers with the overview and nothing else.
	var query struct {
		Type struct {
			Fields []struct {
				Name string
				Type introspectedType
			}
		} `json:"__type"`
	}
	e.post(token, typeQuery, map[string]any{"name": "Query"}).decode(t, &query)
	found := false
	for _, field := range query.Type.Fields {
		if field.Name == "reporting" {
			found = true
			if n := field.Type.named(); n == nil || *n.Name != "ReportingOverview" {
				t.Errorf("Query.reporting answers %v", n)
			}
		}
	}
	if !found {
		t.Error("Query.reporting is missing")
	}
}

func TestAnalystGetsNothingFromThePatientGraph(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 3, e.clock.Now())
	reporttest.Known(t, e.store.Client, f.OrgID)
	analyst := reportingAnalyst(t, e, "analyst@example.org", f.OrgID)

	t.Run("viewer.patients is empty", func(t *testing.T) {
		res := e.post(analyst, `{ viewer { patients { id } } }`, nil)
		if len(res.Errors) > 0 || string(res.Data) != `{"viewer":{"patients":[]}}` {
			t.Errorf("got %s", res.raw)
		}
	})
	t.Run("patient(id:) is null", func(t *testing.T) {
		res := e.post(analyst, `query($id: ID!) { patient(id: $id) { id givenName } }`,
			map[string]any{"id": string(f.Alice.PatientID)})
		if string(res.Data) != `{"patient":null}` {
			t.Errorf("got %s", res.raw)
		}
	})
	for _, typ := range []string{"Patient", "Result", "Appointment", "Letter", "Share", "Notification", "Account"} {
		t.Run("node(id:) of a "+typ+" is null", func(t *testing.T) {
			ids := f.AliceNodes[typ]
			if len(ids) == 0 {
				t.Fatalf("the fixture has no %s to ask for", typ)
			}
			res := e.post(analyst, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": string(ids[0])})
			if string(res.Data) != `{"node":null}` {
				t.Errorf("got %s", res.raw)
			}
		})
	}
	t.Run("nodes(ids:) are null", func(t *testing.T) {
		ids := []string{string(f.Alice.PatientID), string(f.AliceNodes["Result"][0]), string(f.BobNodes["Letter"][0])}
		res := e.post(analyst, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids})
		if string(res.Data) != `{"nodes":[null,null,null]}` {
			t.Errorf("got %s", res.raw)
		}
	})
	t.Run("the patient search finds no one", func(t *testing.T) {
		for _, where := range []map[string]any{
			nil,
			{"nhsNumber": "9990000018"},
			{"organisationId": string(f.OrgID)},
		} {
			res := e.post(analyst, `query($where: PatientSearchInput) {
  patients(first: 10, where: $where) { totalCount edges { node { id } } }
}`, map[string]any{"where": where})
			codes := res.codes()
			empty := len(res.Errors) == 0 && strings.Contains(string(res.Data), `"totalCount":0,"edges":[]`)
			if !empty && !slices.Equal(codes, []string{"FORBIDDEN"}) {
				t.Errorf("where %v: got %s", where, res.raw)
			}
			if strings.Contains(string(res.raw), string(f.Alice.PatientID)) {
				t.Errorf("where %v: the answer names Alice's record: %s", where, res.raw)
			}
		}
	})
	t.Run("the reporting answer names no record", func(t *testing.T) {
		res := e.post(analyst, reportingQuery, reportingVars(f.OrgID, reporttest.February()))
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %s", res.raw)
		}
		if id := anyID.FindString(string(res.raw)); id != "" {
			t.Errorf("the answer holds an ID, %s: %s", id, res.raw)
		}
	})
	t.Run("another organisation's analyst reports nothing of this one", func(t *testing.T) {
		ctx := access.SystemContext(context.Background())
		other, err := e.store.Client.Organisation.Create().SetOdsCode("RZZ").SetName("Third NHS Trust").
			SetKind(organisation.KindTRUST).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		token := reportingAnalyst(t, e, "analyst.third@example.org", other.ID)
		res := e.post(token, reportingQuery, reportingVars(other.ID, reporttest.February()))
		if len(res.Errors) > 0 {
			t.Fatalf("errors: %s", res.raw)
		}
		var data struct{ Reporting *model.ReportingOverview }
		res.decode(t, &data)
		flat := reporttest.Flatten(data.Reporting)
		for _, k := range []string{"registrations", "invitationsSent", "resultsReleased", "lettersDelivered"} {
			if flat[k] != "0" {
				t.Errorf("%s = %s for an organisation with no data", k, flat[k])
			}
		}
	})
}
