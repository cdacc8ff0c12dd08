package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
)

// visWorld is one patient record holding, for every record type, one item
// in every category, produced by trust A (or recorded by the patient), and
// the people around it.
type visWorld struct {
	// Patient is the record under test; Other is the record of a carer
	// who is a patient too.
	Patient, Other pulid.ID
	OrgA           pulid.ID
	Items          []recItem
	// Emails of the viewers, by role in the world.
	Owner, CarerGeneral, CarerMental, CarerAll, CarerPending, FamilyExpired, CarerRevoked,
	ClinicianA, ClinicianB, AdminB, ClinicianC, Emergency, AnalystA, ResearcherA, IntegrationA string
}

func buildVisibilityWorld(t testing.TB, e *testEnv) *visWorld {
	t.Helper()
	now := e.clock.Now()
	b := newBuilder(t, e.store.Client, now)
	ago := func(d time.Duration) *time.Time { at := now.Add(-d); return &at }
	day := 24 * time.Hour

	orgA := b.organisation("RA1", "Producing Hospitals NHS Trust", organisation.KindTRUST, true)
	orgB := b.organisation("RB2", "Sharing Hospitals NHS Trust", organisation.KindTRUST, true)
	orgC := b.organisation("RC3", "Unrelated Hospitals NHS Trust", organisation.KindTRUST, true)
	orgD := b.organisation("RD4", "Regional Ambulance Service", organisation.KindAMBULANCE_SERVICE, true)

	w := &visWorld{OrgA: orgA}
	acc := func(email, name string) (pulid.ID, string) { return b.account(email, name), email }
	var owner, carerGeneral, carerMental, carerAll, carerPending, familyExpired, carerRevoked,
		clinicianA, clinicianB, adminB, clinicianC, emergency, analystA, researcherA, integrationA pulid.ID
	owner, w.Owner = acc("owner@example.org", "Olive Owner")
	carerGeneral, w.CarerGeneral = acc("carer.general@example.org", "Gail Carer")
	carerMental, w.CarerMental = acc("carer.mental@example.org", "Mina Carer")
	carerAll, w.CarerAll = acc("carer.all@example.org", "Alma Carer")
	carerPending, w.CarerPending = acc("carer.pending@example.org", "Pat Pending")
	familyExpired, w.FamilyExpired = acc("family.expired@example.org", "Eddie Expired")
	carerRevoked, w.CarerRevoked = acc("carer.revoked@example.org", "Rory Revoked")
	clinicianA, w.ClinicianA = acc("clinician.a@example.org", "Dr Producing")
	clinicianB, w.ClinicianB = acc("clinician.b@example.org", "Dr Sharing")
	adminB, w.AdminB = acc("admin.b@example.org", "Adam Admin")
	clinicianC, w.ClinicianC = acc("clinician.c@example.org", "Dr Unrelated")
	emergency, w.Emergency = acc("paramedic@example.org", "Pam Paramedic")
	analystA, w.AnalystA = acc("analyst.a@example.org", "Ana Analyst")
	researcherA, w.ResearcherA = acc("researcher.a@example.org", "Rex Researcher")
	integrationA, w.IntegrationA = acc("integration.a@example.org", "Integration Engine")

	b.member(clinicianA, orgA, membership.RoleCLINICIAN)
	b.member(clinicianB, orgB, membership.RoleCLINICIAN)
	b.member(adminB, orgB, membership.RoleADMIN)
	b.member(clinicianC, orgC, membership.RoleCLINICIAN)
	b.member(emergency, orgD, membership.RoleCLINICIAN)
	b.member(analystA, orgA, membership.RoleANALYST)
	b.member(researcherA, orgA, membership.RoleRESEARCHER)
	b.member(integrationA, orgA, membership.RoleINTEGRATION)

	w.Patient = b.patient(owner, "Olive", orgA)
	w.Other = b.patient(carerMental, "Mina") // a carer who is a patient too; linked to no organisation

	b.share(w.Patient, shareSpec{Account: carerGeneral, Relationship: share.RelationshipCARER, AcceptedAt: ago(day)})
	b.share(w.Patient, shareSpec{Account: carerMental, Relationship: share.RelationshipCARER, MentalHealth: true, AcceptedAt: ago(day)})
	b.share(w.Patient, shareSpec{Account: carerAll, Relationship: share.RelationshipCARER,
		MentalHealth: true, SexualHealth: true, Social: true, AcceptedAt: ago(day)})
	b.share(w.Patient, shareSpec{Account: carerPending, Relationship: share.RelationshipCARER,
		MentalHealth: true, SexualHealth: true, Social: true})
	b.share(w.Patient, shareSpec{Account: familyExpired, Relationship: share.RelationshipFAMILY,
		MentalHealth: true, SexualHealth: true, Social: true, AcceptedAt: ago(10 * day), ExpiresAt: ago(time.Hour)})
	b.share(w.Patient, shareSpec{Account: carerRevoked, Relationship: share.RelationshipCARER,
		MentalHealth: true, SexualHealth: true, Social: true, AcceptedAt: ago(10 * day), RevokedAt: ago(time.Hour)})
	b.share(w.Patient, shareSpec{Organisation: orgB, Relationship: share.RelationshipORGANISATION,
		MentalHealth: true, AcceptedAt: ago(day)})
	// Opened a minute ago: 29 minutes left.
	b.breakGlass(w.Patient, emergency, orgD, now.Add(29*time.Minute))

	for _, c := range category.All {
		for _, typ := range []string{"Appointment", "Allergy", "Letter", "CareResource"} {
			w.Items = append(w.Items, b.record(typ, w.Patient, c, &orgA))
		}
		w.Items = append(w.Items, b.result(w.Patient, c, &orgA, relReleased)...)
		w.Items = append(w.Items, b.encounter(w.Patient, c, &orgA, false))
		for _, typ := range []string{"Symptom", "JournalEntry", "Measurement", "Allergy"} {
			w.Items = append(w.Items, b.record(typ, w.Patient, c, nil))
		}
	}
	w.Items = append(w.Items, b.result(w.Patient, category.General, &orgA, relHeld)...)
	w.Items = append(w.Items, b.result(w.Patient, category.General, &orgA, relNever)...)
	// Assigned MENTAL_HEALTH, but GENERAL until seen.
	w.Items = append(w.Items, b.encounter(w.Patient, category.MentalHealth, &orgA, true))

	for _, c := range []category.Category{category.General, category.Private} {
		w.Items = append(w.Items, b.record("Appointment", w.Other, c, nil), b.record("JournalEntry", w.Other, c, nil))
	}
	return w
}

// viewerCase is one viewer of the world and what the rules give it.
type viewerCase struct {
	name  string
	email string // "" when signed out
	// before runs before signing in (e.g. moving the clock).
	before func(e *testEnv)
	// owner: the patient of the record under test.
	owner bool
	// producer: a clinician of the trust that produced the items.
	producer bool
	// opens: the categories an active share or break-the-glass window
	// opens (released content only; an unseen ED attendance's detail never).
	opens []category.Category
	// ownsOther: the patient of the other record.
	ownsOther bool
	// patients: what viewer.patients lists, in order.
	patients []pulid.ID
	// linked: patients whose row the viewer may open without their being
	// listed (a clinician's trust's patients, found by searching).
	linked []pulid.ID
}

// opensPatient reports whether the viewer may open the patient row.
func (v viewerCase) opensPatient(p pulid.ID) bool {
	return slices.Contains(v.patients, p) || slices.Contains(v.linked, p)
}

// sees applies the rules to one item: whether the viewer sees the row, and
// whether it sees the fields @sensitive guards.
func (v viewerCase) sees(w *visWorld, it recItem) (row, content bool) {
	if it.Patient != w.Patient {
		if !v.ownsOther {
			return false, false
		}
		return ownerSees(it)
	}
	if v.producer && it.Source != nil && *it.Source == w.OrgA {
		return true, true
	}
	if v.owner {
		return ownerSees(it)
	}
	if slices.Contains(v.opens, it.Category) && it.Release == relReleased {
		return true, !it.UnseenED
	}
	return false, false
}

// ownerSees is the patient's view of their own item: a held result as an
// entry without content, its components not at all; a never-released
// result not at all.
func ownerSees(it recItem) (row, content bool) {
	switch {
	case it.Release == relNever:
		return false, false
	case it.Release == relHeld && it.Type == "ResultComponent":
		return false, false
	case it.Release == relHeld:
		return true, false
	}
	return true, true
}

func (w *visWorld) viewers() []viewerCase {
	general := []category.Category{category.General}
	mental := []category.Category{category.General, category.MentalHealth}
	three := []category.Category{category.General, category.MentalHealth, category.SexualHealth, category.SocialCare, category.Restricted}
	mine := []pulid.ID{w.Patient}
	return []viewerCase{
		{name: "patient sees every recItem of their record, a held result without its content, never a never-released one",
			email: w.Owner, owner: true, patients: mine},
		{name: "carer with GENERAL sees GENERAL items only",
			email: w.CarerGeneral, opens: general, patients: mine},
		{name: "carer with GENERAL + MENTAL_HEALTH who is a patient too sees those labels, own record listed first",
			email: w.CarerMental, opens: mental, ownsOther: true, patients: []pulid.ID{w.Other, w.Patient}},
		{name: "carer with all three labels sees RESTRICTED too but never PRIVATE",
			email: w.CarerAll, opens: three, patients: mine},
		{name: "carer invited but not yet accepted sees nothing",
			email: w.CarerPending},
		{name: "family member whose share expired sees nothing",
			email: w.FamilyExpired},
		{name: "revoked carer sees nothing",
			email: w.CarerRevoked},
		{name: "clinician of the producing trust sees everything it produced at once, nothing the patient recorded",
			// viewer.patients lists records held through a grant; a
			// clinician finds the trust's patients by searching.
			email: w.ClinicianA, producer: true, linked: mine},
		{name: "clinician of a trust with an organisation share (GENERAL + MENTAL_HEALTH) sees those labels",
			email: w.ClinicianB, opens: mental, patients: mine},
		{name: "administrator of a trust with an organisation share sees nothing: it opens the record to clinicians",
			email: w.AdminB},
		{name: "clinician of a trust without a share sees nothing",
			email: w.ClinicianC},
		{name: "professional inside a break-the-glass window sees GENERAL only",
			email: w.Emergency, opens: general, patients: mine},
		{name: "analyst of the producing trust reaches no record",
			email: w.AnalystA},
		{name: "researcher of the producing trust reaches no record",
			email: w.ResearcherA},
		{name: "integration account of the producing trust reads nothing",
			email: w.IntegrationA},
		{name: "signed-out visitor is UNAUTHENTICATED"},
		// Last: it moves the clock.
		{name: "professional after the 30-minute break-the-glass window sees nothing",
			email: w.Emergency, before: func(e *testEnv) { e.clock.Advance(30 * time.Minute) }},
	}
}

// protectedFields are the fields @sensitive guards, each selected alone.
var protectedFields = []struct{ Type, Field, Selection string }{
	{"Result", "conclusion", "conclusion"},
	{"Result", "code", "code"},
	{"Result", "performingLaboratory", "performingLaboratory"},
	{"Result", "components", "components { id }"},
	{"Encounter", "presentingComplaint", "presentingComplaint"},
	{"Encounter", "summary", "summary"},
}

// TestVisibility checks every viewer against every item of every record
// type on every path: the patient's connections and their counts and
// category filters, node, nodes, and the guarded fields selected alone.
func TestVisibility(t *testing.T) {
	root := newEnv(t)
	w := buildVisibilityWorld(t, root)
	for _, v := range w.viewers() {
		t.Run(v.name, func(t *testing.T) {
			e := root.in(t)
			if v.before != nil {
				v.before(e)
			}
			c := &visCheck{e: e, w: w, v: v, secrets: map[string]string{}}
			if v.email != "" {
				c.token = e.signIn(v.email, fixturePassword)
			}
			for _, it := range w.Items {
				row, content := v.sees(w, it)
				if !row {
					c.secrets[string(it.ID)] = "the hidden " + it.String()
				}
				if !content {
					for f, val := range it.Protected {
						c.secrets[val] = fmt.Sprintf("%s.%s of %s", it.Type, f, it)
					}
				}
			}
			for _, p := range []pulid.ID{w.Patient, w.Other} {
				if !v.opensPatient(p) {
					c.secrets[string(p)] = "the hidden patient " + string(p)
				}
			}

			t.Run("patient record", c.patientRecord)
			for _, typ := range recordTypes {
				t.Run(typ, func(t *testing.T) { c.recordType(t, typ) })
			}
			t.Run("nodes over every recItem of both records", c.allNodes)
			for _, f := range protectedFields {
				t.Run(f.Type+"."+f.Field+" selected alone", func(t *testing.T) {
					c.protectedField(t, f.Type, f.Field, f.Selection)
				})
			}
		})
	}
}

// visCheck runs the checks for one viewer.
type visCheck struct {
	e     *testEnv
	w     *visWorld
	v     viewerCase
	token string
	// secrets maps what must never appear in a response to what it is.
	secrets map[string]string
}

// post sends a query as the viewer, checks the answer carries no error
// (signed in) or only UNAUTHENTICATED (signed out), and that nothing
// hidden appears anywhere in it.
func (c *visCheck) post(t *testing.T, query string, vars map[string]any) gqlResponse {
	t.Helper()
	res := c.e.in(t).post(c.token, query, vars)
	if c.token == "" {
		codes := res.codes()
		if len(codes) == 0 {
			t.Errorf("signed out, no UNAUTHENTICATED error: %s", res.raw)
		}
		for _, code := range codes {
			if code != "UNAUTHENTICATED" {
				t.Errorf("signed out, code %q: %s", code, res.raw)
			}
		}
	} else if len(res.Errors) > 0 {
		t.Errorf("errors for a signed-in viewer: %s", res.raw)
	}
	for secret, what := range c.secrets {
		if strings.Contains(string(res.raw), secret) {
			t.Errorf("response reveals %s: %s", what, res.raw)
		}
	}
	return res
}

// sameAsMissing checks that hidden answers exactly as missing does, and,
// signed in, that both are the bare null want.
func (c *visCheck) sameAsMissing(t *testing.T, what string, hidden, missing gqlResponse, want string) {
	t.Helper()
	if string(hidden.raw) != string(missing.raw) {
		t.Errorf("%s: hidden and missing answer differently:\nhidden  %s\nmissing %s", what, hidden.raw, missing.raw)
	}
	if c.token != "" && string(hidden.raw) != want {
		t.Errorf("%s: got %s, want %s", what, hidden.raw, want)
	}
}

func (c *visCheck) patientRecord(t *testing.T) {
	for _, p := range []pulid.ID{c.w.Patient, c.w.Other} {
		visible := c.v.opensPatient(p)
		vars := map[string]any{"id": string(p)}
		missing := map[string]any{"id": string(missingLike(p))}
		for _, q := range []struct{ name, query, field string }{
			{"patient(id:)", `query($id: ID!) { patient(id: $id) { id } }`, "patient"},
			{"node(id:)", `query($id: ID!) { node(id: $id) { __typename id } }`, "node"},
		} {
			got := c.post(t, q.query, vars)
			if visible {
				want := fmt.Sprintf(`{"%s":{`, q.field)
				if !strings.HasPrefix(string(got.Data), want) || !strings.Contains(string(got.Data), string(p)) {
					t.Errorf("%s of visible record %s: %s", q.name, p, got.raw)
				}
				continue
			}
			absent := c.post(t, q.query, missing)
			c.sameAsMissing(t, q.name+" of hidden record "+string(p), got, absent, fmt.Sprintf(`{"data":{"%s":null}}`, q.field))
		}
	}

	if c.token == "" {
		// Signed out, viewer is null without an error (the SPA asks it to
		// decide whether to show the sign-in page).
		if got := c.e.in(t).post("", `{ viewer { patients { id } } }`, nil); string(got.raw) != `{"data":{"viewer":null}}` {
			t.Errorf("signed out, viewer: %s", got.raw)
		}
		return
	}
	got := c.post(t, `{ viewer { patients { id } } }`, nil)
	var data struct {
		Viewer *struct{ Patients []struct{ ID pulid.ID } }
	}
	got.decode(t, &data)
	if data.Viewer == nil {
		t.Fatalf("viewer is null for a signed-in viewer: %s", got.raw)
	}
	var ids []pulid.ID
	for _, p := range data.Viewer.Patients {
		ids = append(ids, p.ID)
	}
	if !slices.Equal(ids, c.v.patients) {
		t.Errorf("viewer.patients = %v, want %v (own record first)", ids, c.v.patients)
	}
}

// expected returns the items of a type, and the IDs of those of the record
// under test the viewer sees, sorted.
func (c *visCheck) expected(typ string, keep func(recItem) bool) (all []recItem, visible []string) {
	for _, it := range c.w.Items {
		if it.Type != typ {
			continue
		}
		all = append(all, it)
		if row, _ := c.v.sees(c.w, it); row && it.Patient == c.w.Patient && (keep == nil || keep(it)) {
			visible = append(visible, string(it.ID))
		}
	}
	slices.Sort(visible)
	return all, visible
}

func (c *visCheck) recordType(t *testing.T, typ string) {
	all, want := c.expected(typ, nil)
	patient := map[string]any{"id": string(c.w.Patient)}

	if conn, ok := connectionOf[typ]; ok {
		t.Run("connection", func(t *testing.T) {
			res := c.post(t, `query($id: ID!) { patient(id: $id) { list: `+conn+`(first: 100) { totalCount edges { node { id } } } } }`, patient)
			ids, total := connectionIDs(t, res)
			if !slices.Equal(ids, want) {
				t.Errorf("%s lists %v, want %v", conn, ids, want)
			}
			if total != len(want) {
				t.Errorf("%s totalCount %d, want %d", conn, total, len(want))
			}
			res = c.post(t, `query($id: ID!) { patient(id: $id) { list: `+conn+` { totalCount } } }`, patient)
			if _, total := connectionIDs(t, res); total != len(want) {
				t.Errorf("%s { totalCount } alone = %d, want %d", conn, total, len(want))
			}
		})
		t.Run("where category", func(t *testing.T) {
			filters := map[string]func(recItem) bool{
				`{categoryIn: [GENERAL, MENTAL_HEALTH, SEXUAL_HEALTH, SOCIAL_CARE, RESTRICTED, PRIVATE]}`: nil,
				`{categoryNotIn: [GENERAL]}`: func(it recItem) bool { return it.Category != category.General },
				`{or: [{category: MENTAL_HEALTH}, {category: PRIVATE}]}`: func(it recItem) bool {
					return it.Category == category.MentalHealth || it.Category == category.Private
				},
			}
			for _, cat := range category.All {
				filters[`{category: `+string(cat)+`}`] = func(it recItem) bool { return it.Category == cat }
			}
			for where, keep := range filters {
				_, want := c.expected(typ, keep)
				res := c.post(t, `query($id: ID!) { patient(id: $id) { list: `+conn+`(first: 100, where: `+where+`) { totalCount edges { node { id } } } } }`, patient)
				ids, total := connectionIDs(t, res)
				if !slices.Equal(ids, want) || total != len(want) {
					t.Errorf("%s(where: %s) lists %v (totalCount %d), want %v", conn, where, ids, total, want)
				}
			}
		})
	}

	if typ == "ResultComponent" {
		t.Run("through results", func(t *testing.T) {
			res := c.post(t, `query($id: ID!) { patient(id: $id) { results(first: 100) { edges { node { id components { id } } } } } }`, patient)
			var data struct {
				Patient *struct {
					Results struct {
						Edges []struct {
							Node struct {
								ID         pulid.ID
								Components *[]struct{ ID string }
							}
						}
					}
				}
			}
			if res.Data != nil {
				res.decode(t, &data)
			}
			var ids []string
			if data.Patient != nil {
				for _, e := range data.Patient.Results.Edges {
					if e.Node.Components != nil {
						for _, co := range *e.Node.Components {
							ids = append(ids, co.ID)
						}
					}
				}
			}
			slices.Sort(ids)
			if !slices.Equal(ids, want) {
				t.Errorf("results { components } list %v, want %v", ids, want)
			}
		})
	}

	t.Run("node", func(t *testing.T) {
		q := `query($id: ID!) { node(id: $id) { __typename id } }`
		var absent gqlResponse
		if len(all) > 0 {
			absent = c.post(t, q, map[string]any{"id": string(missingLike(all[0].ID))})
		}
		for _, it := range all {
			got := c.post(t, q, map[string]any{"id": string(it.ID)})
			if row, _ := c.v.sees(c.w, it); row {
				want := fmt.Sprintf(`{"node":{"__typename":"%s","id":"%s"}}`, typ, it.ID)
				if string(got.Data) != want {
					t.Errorf("node(%s) = %s, want it", it, got.raw)
				}
				continue
			}
			c.sameAsMissing(t, "node("+it.String()+")", got, absent, `{"data":{"node":null}}`)
		}
	})

	t.Run("nodes", func(t *testing.T) {
		c.nodes(t, all)
	})
}

// nodes asks nodes(ids:) for the items and one missing ID, and checks it is
// null exactly where the item is hidden.
func (c *visCheck) nodes(t *testing.T, items []recItem) {
	t.Helper()
	if len(items) == 0 {
		return
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, string(it.ID))
	}
	ids = append(ids, string(missingLike(items[0].ID)))
	res := c.post(t, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids})
	if c.token == "" {
		hiddenOnly := make([]string, len(ids))
		for i := range ids {
			hiddenOnly[i] = string(missingLike(pulid.ID(ids[i])))
		}
		absent := c.post(t, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": hiddenOnly})
		if string(res.raw) != string(absent.raw) {
			t.Errorf("signed out, nodes over real and missing IDs answer differently:\n%s\n%s", res.raw, absent.raw)
		}
		return
	}
	var data struct{ Nodes []*struct{ ID string } }
	res.decode(t, &data)
	if len(data.Nodes) != len(ids) {
		t.Fatalf("nodes over %d IDs returned %d: %s", len(ids), len(data.Nodes), res.raw)
	}
	for i, it := range items {
		row, _ := c.v.sees(c.w, it)
		switch n := data.Nodes[i]; {
		case row && (n == nil || n.ID != string(it.ID)):
			t.Errorf("nodes[%d] = %+v, want %s", i, n, it)
		case !row && n != nil:
			t.Errorf("nodes[%d] returned the hidden %s", i, it)
		}
	}
	if data.Nodes[len(items)] != nil {
		t.Errorf("nodes returned something for a missing ID: %s", res.raw)
	}
}

func (c *visCheck) allNodes(t *testing.T) {
	c.nodes(t, c.w.Items)
}

// protectedField selects one guarded field alone by node, by nodes and
// through the patient's connection.
func (c *visCheck) protectedField(t *testing.T, typ, field, selection string) {
	all, _ := c.expected(typ, nil)
	// want is the normalised value the viewer must read; "" when the
	// node itself is hidden.
	want := func(it recItem) string {
		row, content := c.v.sees(c.w, it)
		switch {
		case !row:
			return ""
		case !content:
			return "null"
		}
		return it.Protected[field]
	}
	fragment := `... on ` + typ + ` { ` + selection + ` }`

	t.Run("by node", func(t *testing.T) {
		for _, it := range all {
			res := c.post(t, `query($id: ID!) { node(id: $id) { `+fragment+` } }`, map[string]any{"id": string(it.ID)})
			if c.token == "" {
				continue
			}
			var data struct{ Node map[string]json.RawMessage }
			res.decode(t, &data)
			switch w := want(it); {
			case w == "" && data.Node != nil:
				t.Errorf("node(%s) { %s } returned the hidden node: %s", it, selection, res.raw)
			case w != "" && data.Node == nil:
				t.Errorf("node(%s) { %s } is null: %s", it, selection, res.raw)
			case w != "" && fieldValue(data.Node[field]) != w:
				t.Errorf("node(%s) { %s } = %s, want %s", it, selection, data.Node[field], w)
			}
		}
	})

	t.Run("by nodes", func(t *testing.T) {
		var ids []string
		for _, it := range all {
			ids = append(ids, string(it.ID))
		}
		res := c.post(t, `query($ids: [ID!]!) { nodes(ids: $ids) { `+fragment+` } }`, map[string]any{"ids": ids})
		if c.token == "" {
			return
		}
		var data struct{ Nodes []map[string]json.RawMessage }
		res.decode(t, &data)
		if len(data.Nodes) != len(all) {
			t.Fatalf("nodes over %d IDs returned %d: %s", len(all), len(data.Nodes), res.raw)
		}
		for i, it := range all {
			n := data.Nodes[i]
			switch w := want(it); {
			case w == "" && n != nil:
				t.Errorf("nodes[%d] { %s } returned the hidden %s", i, selection, it)
			case w != "" && n == nil:
				t.Errorf("nodes[%d] { %s } is null for %s", i, selection, it)
			case w != "" && fieldValue(n[field]) != w:
				t.Errorf("nodes[%d] { %s } = %s for %s, want %s", i, selection, n[field], it, w)
			}
		}
	})

	t.Run("through the patient's connection", func(t *testing.T) {
		conn := connectionOf[typ]
		res := c.post(t, `query($id: ID!) { patient(id: $id) { list: `+conn+`(first: 100) { edges { node { `+selection+` } } } } }`,
			map[string]any{"id": string(c.w.Patient)})
		var data struct {
			Patient *struct {
				List struct {
					Edges []struct{ Node map[string]json.RawMessage }
				}
			}
		}
		if res.Data != nil {
			res.decode(t, &data)
		}
		var got, wantAll []string
		if data.Patient != nil {
			for _, e := range data.Patient.List.Edges {
				got = append(got, fieldValue(e.Node[field]))
			}
		}
		for _, it := range all {
			if w := want(it); w != "" && it.Patient == c.w.Patient {
				wantAll = append(wantAll, w)
			}
		}
		slices.Sort(got)
		slices.Sort(wantAll)
		if !slices.Equal(got, wantAll) {
			t.Errorf("%s { %s } reads %v, want %v", conn, selection, got, wantAll)
		}
	})
}
