package app_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/demo"
)

// dashboardQuery is what the portal's home page asks for (see README).
const dashboardQuery = `query Dashboard($patient: ID!, $now: Time!) {
  viewer { account { id email displayName } patients { id givenName familyName } }
  patient(id: $patient) {
    id givenName familyName nhsNumber dateOfBirth
    invitedBy { id name logoURL welcomeMessage }
    appointments(first: 100, where: {startsAtGTE: $now}, orderBy: {field: STARTS_AT, direction: ASC}) {
      totalCount edges { node { id title startsAt category clinic site status } }
    }
    allergies(first: 100) { totalCount edges { node { id substance reaction severity category recordedBy } } }
    results(first: 100, orderBy: {field: REPORTED_AT, direction: DESC}) {
      totalCount
      edges { node { id name reportedAt releasedAt category
        components { id name valueNumeric valueText unit referenceLow referenceHigh flag } } }
    }
    letters(first: 100, where: {readAtIsNil: true}, orderBy: {field: SENT_AT, direction: DESC}) {
      totalCount edges { node { id title sentAt category } }
    }
  }
}`

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())

	wrong := e.post("", signInMutation, map[string]any{"email": f.Alice.Email, "password": "wrong password!"})
	unknown := e.post("", signInMutation, map[string]any{"email": "nobody@example.org", "password": "wrong password!"})
	if len(wrong.Errors) != 1 || len(unknown.Errors) != 1 {
		t.Fatalf("want one error each, got %+v and %+v", wrong.Errors, unknown.Errors)
	}
	if string(wrong.raw) != string(unknown.raw) {
		t.Errorf("wrong password and unknown email answer differently:\n%s\n%s", wrong.raw, unknown.raw)
	}
	if got := wrong.codes(); !slices.Equal(got, []string{"UNAUTHENTICATED"}) {
		t.Errorf("codes = %v", got)
	}

	t.Run("email is case-insensitive and a cookie is set for browsers", func(t *testing.T) {
		req := e.request(signInMutation, map[string]any{"email": "ALICE@Example.org", "password": fixturePassword})
		res, err := e.server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var cookie *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == auth.CookieName {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value == "" {
			t.Fatalf("session cookie = %+v", cookie)
		}
		// The cookie authenticates a same-origin POST, as the SPA sends it.
		me := e.request(`{ viewer { account { email } } }`, nil)
		me.AddCookie(cookie)
		if got := e.send(me); !strings.Contains(string(got.Data), f.Alice.Email) {
			t.Errorf("cookie POST: %s", got.raw)
		}
		// A cookie alone never authenticates a GET, nor a cross-origin POST.
		get, _ := http.NewRequest(http.MethodGet, e.server.URL+"/query?query=%7Bviewer%7Baccount%7Bemail%7D%7D%7D", nil)
		get.AddCookie(cookie)
		if got := e.send(get); string(got.Data) != `{"viewer":null}` {
			t.Errorf("cookie GET: %s", got.raw)
		}
		cross := e.request(`{ viewer { account { email } } }`, nil)
		cross.AddCookie(cookie)
		cross.Header.Set("Origin", "https://evil.example")
		if got := e.send(cross); strings.Contains(string(got.raw), f.Alice.Email) {
			t.Errorf("cross-origin cookie POST: %s", got.raw)
		}
	})

	t.Run("sign-out ends the session at once", func(t *testing.T) {
		token := e.signIn(f.Alice.Email, fixturePassword)
		if got := e.post(token, `{ viewer { account { email } } }`, nil); !strings.Contains(string(got.Data), f.Alice.Email) {
			t.Fatalf("viewer: %s", got.raw)
		}
		if got := e.post(token, `mutation { signOut }`, nil); string(got.Data) != `{"signOut":true}` {
			t.Fatalf("signOut: %s", got.raw)
		}
		if got := e.post(token, `{ viewer { account { email } } }`, nil); string(got.Data) != `{"viewer":null}` {
			t.Errorf("after sign-out: %s", got.raw)
		}
	})

	t.Run("disabling the account ends its live sessions", func(t *testing.T) {
		token := e.signIn(f.Bob.Email, fixturePassword)
		if got := e.post(token, `{ viewer { account { email } } }`, nil); !strings.Contains(string(got.Data), f.Bob.Email) {
			t.Fatalf("viewer: %s", got.raw)
		}
		sys := access.SystemContext(t.Context())
		if err := e.store.Client.Account.UpdateOneID(f.Bob.AccountID).SetDisabledAt(e.clock.Now()).Exec(sys); err != nil {
			t.Fatal(err)
		}
		if got := e.post(token, `{ viewer { account { email } } }`, nil); string(got.Data) != `{"viewer":null}` {
			t.Errorf("after the account was disabled: %s", got.raw)
		}
	})

	t.Run("idle timeout and absolute lifetime end the session", func(t *testing.T) {
		token := e.signIn(f.Alice.Email, fixturePassword)
		e.clock.Advance(31 * time.Minute)
		if got := e.post(token, `{ viewer { account { id } } }`, nil); string(got.Data) != `{"viewer":null}` {
			t.Errorf("after 31 idle minutes: %s", got.raw)
		}
		token = e.signIn(f.Alice.Email, fixturePassword)
		for range 26 { // 13 hours of use every 30 minutes
			e.clock.Advance(29 * time.Minute)
			e.post(token, `{ viewer { account { id } } }`, nil)
		}
		if got := e.post(token, `{ viewer { account { id } } }`, nil); string(got.Data) != `{"viewer":null}` {
			t.Errorf("after 12 hours: %s", got.raw)
		}
	})
}

func TestSignedOutSeesNothing(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 6, e.clock.Now())
	alice := string(f.Alice.PatientID)

	if got := e.post("", `{ viewer { account { id } } }`, nil); string(got.Data) != `{"viewer":null}` || len(got.Errors) > 0 {
		t.Errorf("viewer: %s", got.raw)
	}
	for name, q := range map[string]string{
		"patient": `query($id: ID!) { patient(id: $id) { id givenName appointments { totalCount } } }`,
		"node":    `query($id: ID!) { node(id: $id) { id ... on Patient { givenName } } }`,
		"nodes":   `query($id: ID!) { nodes(ids: [$id]) { id } }`,
	} {
		got := e.post("", q, map[string]any{"id": alice})
		if !slices.Equal(got.codes(), []string{"UNAUTHENTICATED"}) {
			t.Errorf("%s: codes %v in %s", name, got.codes(), got.raw)
		}
		if strings.Contains(string(got.raw), "Alice") || strings.Contains(string(got.raw), "totalCount") {
			t.Errorf("%s leaks: %s", name, got.raw)
		}
	}
}

func TestAnotherPatientsRecordIsUnreachable(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 6, e.clock.Now())
	bob := e.signIn(f.Bob.Email, fixturePassword)

	// A well-formed ID that names nothing, to compare hidden with missing.
	missing := func(like pulid.ID) string { return string(pulid.New(like.Prefix())) }

	got := e.post(bob, `{ viewer { patients { id } } }`, nil)
	if want := `{"viewer":{"patients":[{"id":"` + string(f.Bob.PatientID) + `"}]}}`; string(got.Data) != want {
		t.Errorf("viewer.patients = %s, want %s", got.Data, want)
	}
	patientQ := `query($id: ID!) { patient(id: $id) { id givenName appointments { totalCount } } }`
	hidden := e.post(bob, patientQ, map[string]any{"id": string(f.Alice.PatientID)})
	absent := e.post(bob, patientQ, map[string]any{"id": missing(f.Alice.PatientID)})
	if string(hidden.raw) != `{"data":{"patient":null}}` || string(absent.raw) != string(hidden.raw) {
		t.Errorf("patient: hidden %s, missing %s", hidden.raw, absent.raw)
	}
	var all []string
	for typ, ids := range f.AliceNodes {
		if typ == "Organisation" || typ == "ResearchStudy" {
			continue // reference data, readable by every signed-in viewer
		}
		for _, id := range ids {
			all = append(all, string(id))
			q := `query($id: ID!) { node(id: $id) { id } }`
			hidden := e.post(bob, q, map[string]any{"id": string(id)})
			absent := e.post(bob, q, map[string]any{"id": missing(id)})
			if string(hidden.raw) != `{"data":{"node":null}}` || string(hidden.raw) != string(absent.raw) {
				t.Errorf("node(%s %s): hidden %s, missing %s", typ, id, hidden.raw, absent.raw)
			}
		}
	}
	got = e.post(bob, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": all})
	if len(got.Errors) > 0 || strings.Count(string(got.Data), "null") != len(all) {
		t.Errorf("nodes over %d hidden IDs: %s", len(all), got.raw)
	}
}

func TestNodeRoundTripsEveryType(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 6, e.clock.Now())
	alice := e.signIn(f.Alice.Email, fixturePassword)
	clinician := e.signIn(f.Clinician.Email, fixturePassword)

	// Every type that implements Node must be covered below.
	res := e.post(alice, `{ __type(name: "Node") { possibleTypes { name } } }`, nil)
	var schema struct {
		Type struct{ PossibleTypes []struct{ Name string } } `json:"__type"`
	}
	res.decode(t, &schema)
	if len(schema.Type.PossibleTypes) == 0 {
		t.Fatalf("no node types: %s", res.raw)
	}
	var mb struct {
		Viewer struct {
			Account struct{ Memberships []struct{ ID string } }
		}
	}
	e.post(clinician, `{ viewer { account { memberships { id } } } }`, nil).decode(t, &mb)
	if len(mb.Viewer.Account.Memberships) != 1 {
		t.Fatalf("clinician memberships: %+v", mb)
	}
	asViewer := map[string]string{"Membership": clinician}
	ids := map[string][]pulid.ID{"Membership": {pulid.ID(mb.Viewer.Account.Memberships[0].ID)}}
	for typ, v := range f.AliceNodes {
		ids[typ] = v
	}
	for _, pt := range schema.Type.PossibleTypes {
		list := ids[pt.Name]
		if len(list) == 0 {
			t.Errorf("node type %s has no fixture", pt.Name)
			continue
		}
		token := alice
		if v, ok := asViewer[pt.Name]; ok {
			token = v
		}
		for _, id := range list {
			got := e.post(token, `query($id: ID!) { node(id: $id) { __typename id } }`, map[string]any{"id": string(id)})
			want := `{"node":{"__typename":"` + pt.Name + `","id":"` + string(id) + `"}}`
			if string(got.Data) != want || len(got.Errors) > 0 {
				t.Errorf("node(%s) = %s, want %s", id, got.raw, want)
			}
		}
	}
	var all []string
	for typ, list := range f.AliceNodes {
		if typ != "Membership" {
			for _, id := range list {
				all = append(all, string(id))
			}
		}
	}
	got := e.post(alice, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": all})
	var nodes struct{ Nodes []*struct{ ID string } }
	got.decode(t, &nodes)
	for i, n := range nodes.Nodes {
		if n == nil || n.ID != all[i] {
			t.Errorf("nodes[%d] = %+v, want %s", i, n, all[i])
		}
	}
}

func TestMalformedIDsAreBadUserInput(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	alice := e.signIn(f.Alice.Email, fixturePassword)
	valid := string(f.Alice.PatientID)
	for _, bad := range []any{"1", "42", "pt", valid[:len(valid)-1], "zz" + valid[2:], "PT" + valid[2:], valid + "0", 7} {
		for name, q := range map[string]string{
			"node":    `query($id: ID!) { node(id: $id) { id } }`,
			"nodes":   `query($id: ID!) { nodes(ids: [$id]) { id } }`,
			"patient": `query($id: ID!) { patient(id: $id) { id } }`,
		} {
			got := e.post(alice, q, map[string]any{"id": bad})
			if !slices.Equal(got.codes(), []string{"BAD_USER_INPUT"}) {
				t.Errorf("%s(%v): %s", name, bad, got.raw)
			}
		}
	}
}

var pulidPattern = regexp.MustCompile(`^[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}$`)

func TestNoSequentialNumberInResponses(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 12, e.clock.Now())
	alice := e.signIn(f.Alice.Email, fixturePassword)
	res := e.post(alice, `query($id: ID!) { patient(id: $id) {
	  id invitedBy { id } organisations { edges { cursor node { id } } }
	  appointments { edges { cursor node { id sourceOrganisation { id } patient { id } } } }
	  allergies { edges { node { id } } } results { edges { node { id components { id } } } }
	  encounters { edges { node { id } } } letters { edges { node { id } } }
	  measurements { edges { node { id } } } symptoms { edges { node { id } } }
	  journalEntries { edges { node { id } } } careResources { edges { node { id } } }
	  shares { edges { node { id categories } } } } }`, map[string]any{"id": string(f.Alice.PatientID)})
	if len(res.Errors) > 0 {
		t.Fatal(res.raw)
	}
	var walk func(key string, v any)
	count := 0
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(k, c)
			}
		case []any:
			for _, c := range v {
				walk(key, c)
			}
		case string:
			if key == "id" {
				count++
				if !pulidPattern.MatchString(v) {
					t.Errorf("id %q is not a type-prefixed ULID", v)
				}
			}
		case float64:
			t.Errorf("number %v under %q", v, key)
		}
	}
	var data any
	if err := json.Unmarshal(res.Data, &data); err != nil {
		t.Fatal(err)
	}
	walk("", data)
	if count < 100 {
		t.Errorf("only %d ids checked", count)
	}
}

func TestPageSizes(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 120, e.clock.Now())
	alice := e.signIn(f.Alice.Email, fixturePassword)
	vars := map[string]any{"id": string(f.Alice.PatientID)}
	count := func(q string, vars map[string]any) (edges, total int, res gqlResponse) {
		res = e.post(alice, q, vars)
		var data struct {
			Patient struct {
				Measurements struct {
					TotalCount int
					Edges      []any
				}
			}
		}
		if res.Data != nil && string(res.Data) != "null" {
			res.decode(t, &data)
		}
		return len(data.Patient.Measurements.Edges), data.Patient.Measurements.TotalCount, res
	}
	if n, total, res := count(`query($id: ID!) { patient(id: $id) { measurements { totalCount edges { node { id } } } } }`, vars); n != 20 || total != 120 {
		t.Errorf("default page: %d edges of %d: %s", n, total, res.raw)
	}
	if n, _, res := count(`query($id: ID!, $n: Int) { patient(id: $id) { measurements(first: $n) { totalCount edges { node { id } } } } }`, vars); n != 20 {
		t.Errorf("null page size variable: %d edges: %s", n, res.raw)
	}
	if n, _, res := count(`query($id: ID!) { patient(id: $id) { measurements(last: 7) { totalCount edges { node { id } } } } }`, vars); n != 7 {
		t.Errorf("last 7: %d edges: %s", n, res.raw)
	}
	if n, _, res := count(`query($id: ID!) { patient(id: $id) { measurements(first: 100) { totalCount edges { node { id } } } } }`, vars); n != 100 {
		t.Errorf("first 100: %d edges: %s", n, res.raw)
	}
	for _, q := range []string{
		`query($id: ID!) { patient(id: $id) { measurements(first: 101) { totalCount } } }`,
		`query($id: ID!) { patient(id: $id) { measurements(last: 1000) { totalCount } } }`,
		`query($id: ID!) { patient(id: $id) { measurements(first: -1) { totalCount } } }`,
		`query($id: ID!) { patient(id: $id) { measurements(first: 5, after: "not a cursor") { totalCount } } }`,
	} {
		_, _, res := count(q, vars)
		if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) || strings.Contains(string(res.raw), "totalCount\":") {
			t.Errorf("%s: %s", q, res.raw)
		}
	}
	// Paging forward with cursors reaches every item exactly once.
	seen := map[string]bool{}
	after := any(nil)
	for {
		res := e.post(alice, `query($id: ID!, $after: Cursor) { patient(id: $id) { measurements(first: 50, after: $after) {
		  pageInfo { hasNextPage endCursor } edges { node { id } } } } }`, map[string]any{"id": vars["id"], "after": after})
		var page struct {
			Patient struct {
				Measurements struct {
					PageInfo struct {
						HasNextPage bool
						EndCursor   string
					}
					Edges []struct{ Node struct{ ID string } }
				}
			}
		}
		res.decode(t, &page)
		for _, e := range page.Patient.Measurements.Edges {
			if seen[e.Node.ID] {
				t.Fatalf("%s seen twice", e.Node.ID)
			}
			seen[e.Node.ID] = true
		}
		if !page.Patient.Measurements.PageInfo.HasNextPage {
			break
		}
		after = page.Patient.Measurements.PageInfo.EndCursor
	}
	if len(seen) != 120 {
		t.Errorf("paged through %d of 120", len(seen))
	}
}

func TestCategoryFilters(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 12, e.clock.Now()) // two of each category
	alice := e.signIn(f.Alice.Email, fixturePassword)
	for where, want := range map[string]int{
		`{category: MENTAL_HEALTH}`:               2,
		`{categoryIn: [PRIVATE, RESTRICTED]}`:     4,
		`{categoryNEQ: GENERAL}`:                  10,
		`{categoryNotIn: [GENERAL, SOCIAL_CARE]}`: 8,
	} {
		for _, conn := range []string{"appointments", "allergies", "results", "encounters", "letters", "measurements", "symptoms", "journalEntries", "careResources"} {
			res := e.post(alice, `query($id: ID!) { patient(id: $id) { list: `+conn+`(where: `+where+`) { totalCount edges { node { category } } } } }`,
				map[string]any{"id": string(f.Alice.PatientID)})
			var data struct {
				Patient struct {
					List struct {
						TotalCount int
						Edges      []any
					}
				}
			}
			res.decode(t, &data)
			if data.Patient.List.TotalCount != want || len(data.Patient.List.Edges) != want {
				t.Errorf("%s(where: %s): %s", conn, where, res.raw)
			}
		}
	}
}

func TestDashboardStatementsDoNotGrowWithItems(t *testing.T) {
	counts := map[int]int64{}
	for _, n := range []int{1, 100} {
		e := newEnv(t)
		now := e.clock.Now()
		f := seed(t, e.store.Client, n, now)
		token := e.signIn(f.Alice.Email, fixturePassword)
		vars := map[string]any{"patient": string(f.Alice.PatientID), "now": now.Add(-365 * 24 * time.Hour).Format(time.RFC3339)}
		e.post(token, dashboardQuery, vars) // warm the query cache
		e.counter.Reset()
		res := e.post(token, dashboardQuery, vars)
		counts[n] = e.counter.Count()
		if len(res.Errors) > 0 {
			t.Fatal(res.raw)
		}
		var data struct {
			Patient struct {
				Appointments, Allergies, Letters struct{ TotalCount int }
				Results                          struct {
					Edges []struct{ Node struct{ Components []any } }
				}
			}
		}
		res.decode(t, &data)
		if data.Patient.Allergies.TotalCount != n || len(data.Patient.Results.Edges) != n ||
			len(data.Patient.Results.Edges[0].Node.Components) != 2 {
			t.Errorf("n=%d: unexpected dashboard %s", n, res.Data)
		}
	}
	t.Logf("SQL statements for the dashboard: %v", counts)
	if counts[1] != counts[100] {
		t.Errorf("statements with 1 item: %d, with 100: %d", counts[1], counts[100])
	}
}

func TestDemoDashboard(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	creds, err := demo.Load(context.Background(), e.store.Client, now)
	if err != nil {
		t.Fatal(err)
	}
	token := e.signIn(creds.Patient.Email, creds.Patient.Password)
	var viewer struct {
		Viewer struct{ Patients []struct{ ID string } }
	}
	e.post(token, `{ viewer { patients { id } } }`, nil).decode(t, &viewer)
	if len(viewer.Viewer.Patients) != 1 {
		t.Fatalf("demo patient opens %d records", len(viewer.Viewer.Patients))
	}
	res := e.post(token, dashboardQuery, map[string]any{"patient": viewer.Viewer.Patients[0].ID, "now": now.Format(time.RFC3339)})
	if len(res.Errors) > 0 {
		t.Fatal(res.raw)
	}
	var d struct {
		Viewer  struct{ Account struct{ Email string } }
		Patient struct {
			GivenName    string
			InvitedBy    struct{ Name, LogoURL, WelcomeMessage string }
			Appointments struct {
				TotalCount int
				Edges      []struct{ Node struct{ StartsAt time.Time } }
			}
			Allergies struct{ TotalCount int }
			Results   struct {
				Edges []struct {
					Node struct {
						Name       string
						ReleasedAt *time.Time
						Components []struct {
							Name                                      string
							Unit                                      *string
							Flag                                      *string
							ValueNumeric, ReferenceLow, ReferenceHigh *float64
						}
					}
				}
			}
			Letters struct{ TotalCount int }
		}
	}
	res.decode(t, &d)
	p := d.Patient
	if d.Viewer.Account.Email != creds.Patient.Email || p.GivenName == "" || p.InvitedBy.Name == "" || p.InvitedBy.LogoURL == "" {
		t.Errorf("identity and branding: %+v", d)
	}
	if p.Appointments.TotalCount == 0 {
		t.Error("no upcoming appointments")
	}
	for i, a := range p.Appointments.Edges {
		if a.Node.StartsAt.Before(now) || (i > 0 && a.Node.StartsAt.Before(p.Appointments.Edges[i-1].Node.StartsAt)) {
			t.Errorf("upcoming appointments out of order or past: %v", a.Node.StartsAt)
		}
	}
	if p.Allergies.TotalCount < 2 || p.Letters.TotalCount == 0 {
		t.Errorf("allergies %d, unread letters %d", p.Allergies.TotalCount, p.Letters.TotalCount)
	}
	var fbc bool
	for _, r := range p.Results.Edges {
		if len(r.Node.Components) >= 4 && r.Node.Components[0].ReferenceLow != nil && r.Node.Components[0].Unit != nil {
			fbc = true
		}
	}
	if !fbc {
		t.Errorf("no full blood count with components and ranges: %s", res.Data)
	}
}

func TestNodesOfOneHiddenIDIsAListWithANull(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	bob := e.signIn(f.Bob.Email, fixturePassword)
	for _, id := range []string{string(f.AliceNodes["Appointment"][0]), string(pulid.New("ap"))} {
		got := e.post(bob, `query($id: ID!) { nodes(ids: [$id]) { id } }`, map[string]any{"id": id})
		if string(got.raw) != `{"data":{"nodes":[null]}}` {
			t.Errorf("nodes([%s]) = %s", id, got.raw)
		}
	}
}

func TestDemoGlucoseChartsFromItsRollups(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	creds, err := demo.Load(context.Background(), e.store.Client, now)
	if err != nil {
		t.Fatal(err)
	}
	token := e.signIn(creds.Patient.Email, creds.Patient.Password)
	var v struct {
		Viewer struct{ Patients []struct{ ID string } }
	}
	e.post(token, `{ viewer { patients { id } } }`, nil).decode(t, &v)
	res := e.post(token, `query($id: ID!, $from: Time!, $to: Time!) { patient(id: $id) {
	  measurementSeries(type: GLUCOSE, from: $from, to: $to, bucket: DAY) {
	    buckets { start count min max mean } timeInRange { readings belowPercent inRangePercent abovePercent } } } }`,
		map[string]any{"id": v.Viewer.Patients[0].ID, "from": now.Add(-31 * 24 * time.Hour).Format(time.RFC3339), "to": now.Add(time.Hour).Format(time.RFC3339)})
	var d struct {
		Patient struct {
			MeasurementSeries struct {
				Buckets     []struct{ Count int }
				TimeInRange struct {
					Readings                                   int
					BelowPercent, InRangePercent, AbovePercent float64
				}
			}
		}
	}
	res.decode(t, &d)
	s := d.Patient.MeasurementSeries
	total := 0
	for _, b := range s.Buckets {
		total += b.Count
	}
	tir := s.TimeInRange
	if len(s.Buckets) < 30 || total != 8640 || tir.Readings != 8640 || tir.InRangePercent < 50 ||
		math.Abs(tir.BelowPercent+tir.InRangePercent+tir.AbovePercent-100) > 0.01 {
		t.Errorf("a month of demo glucose: %s", res.raw)
	}
}
