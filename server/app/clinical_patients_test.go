package app_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/contactpreference"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/session"
	"github.com/patientportal/portal/ent/share"
)

const updateContactMutation = `mutation($input: UpdateContactDetailsInput!) {
  updateContactDetails(input: $input) {
    id updatedAt nhsNumber addressLine1 addressLine2 town postcode phone email
    contactPreferences { post sms email organisation { id } }
  }
}`

// contactNode is a patient's contact details as the API answers them.
type contactNode struct {
	ID, UpdatedAt, NhsNumber                                 string
	AddressLine1, AddressLine2, Town, Postcode, Phone, Email *string
	ContactPreferences                                       []struct {
		Post, Sms, Email bool
		Organisation     struct{ ID string }
	}
}

// preference returns the patient's preference for an organisation.
func (c contactNode) preference(org pulid.ID) (post, sms, email, found bool) {
	for _, p := range c.ContactPreferences {
		if p.Organisation.ID == string(org) {
			return p.Post, p.Sms, p.Email, true
		}
	}
	return false, false, false, false
}

// updatedAt reads a record's updatedAt as the patient.
func (w *sharingWorld) updatedAt(token string, id pulid.ID) string {
	w.t.Helper()
	res := w.e.post(token, `query($id: ID!) { patient(id: $id) { updatedAt } }`, map[string]any{"id": id})
	var data struct{ Patient *struct{ UpdatedAt string } }
	res.decode(w.t, &data)
	if data.Patient == nil {
		w.t.Fatalf("patient %s: %s", id, res.raw)
	}
	return data.Patient.UpdatedAt
}

// updateContact sends updateContactDetails for Alice's record with the
// given fields and the expectedUpdatedAt given.
func (w *sharingWorld) updateContact(token, expected string, fields map[string]any) (contactNode, gqlResponse) {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "expectedUpdatedAt": expected}
	for k, v := range fields {
		input[k] = v
	}
	res := w.e.post(token, updateContactMutation, map[string]any{"input": input})
	var data struct{ UpdateContactDetails contactNode }
	if len(res.Errors) == 0 {
		res.decode(w.t, &data)
	}
	return data.UpdateContactDetails, res
}

// alicesRow reads Alice's record and preferences straight from the store.
func (w *sharingWorld) alicesRow() (*ent.Patient, []*ent.ContactPreference) {
	w.t.Helper()
	pt, err := w.db().Patient.Get(w.sys(), w.f.Alice.PatientID)
	w.must(err)
	prefs, err := w.db().ContactPreference.Query().
		Where(contactpreference.PatientID(w.f.Alice.PatientID)).
		Order(ent.Asc(contactpreference.FieldID)).All(w.sys())
	w.must(err)
	return pt, prefs
}

// unchanged fails if Alice's contact details or preferences differ from
// what they were.
func (w *sharingWorld) unchanged(what string, pt *ent.Patient, prefs []*ent.ContactPreference) {
	w.t.Helper()
	now, nowPrefs := w.alicesRow()
	if fmt.Sprint(now) != fmt.Sprint(pt) || fmt.Sprint(nowPrefs) != fmt.Sprint(prefs) {
		w.t.Errorf("%s changed the record:\n%v %v\n%v %v", what, pt, prefs, now, nowPrefs)
	}
}

// fieldPaths lists the paths of the bad fields an error reports.
func fieldPaths(res gqlResponse) []string {
	var paths []string
	for _, e := range res.Errors {
		fields, _ := e.Extensions["fields"].([]any)
		for _, f := range fields {
			m, _ := f.(map[string]any)
			p, _ := m["path"].(string)
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	return paths
}

func TestThePatientUpdatesTheirContactDetails(t *testing.T) {
	w := newSharingWorld(t)
	gp := w.organisation("Y01234", "Riverside Surgery", organisation.KindGP_PRACTICE, false)
	w.link(w.f.Alice.PatientID, gp)
	before := w.updatedAt(w.alice, w.f.Alice.PatientID)

	got, res := w.updateContact(w.alice, before, map[string]any{
		"addressLine1": " 1 New Street ", "addressLine2": "Flat 2", "town": "Leeds",
		"postcode": "sw1a1aa", "phone": "07700 900123", "email": "alice.home@example.org",
		"preferences": []map[string]any{
			{"organisationId": w.f.OrgID, "post": false, "sms": true, "email": true},
			{"organisationId": gp, "post": true, "sms": false, "email": false},
		},
	})
	if len(res.Errors) > 0 {
		t.Fatalf("update: %s", res.raw)
	}
	str := func(s *string) string {
		if s == nil {
			return "<nil>"
		}
		return *s
	}
	if str(got.AddressLine1) != "1 New Street" || str(got.AddressLine2) != "Flat 2" || str(got.Town) != "Leeds" ||
		str(got.Postcode) != "SW1A 1AA" || str(got.Phone) != "+447700900123" || str(got.Email) != "alice.home@example.org" ||
		got.NhsNumber != "9990000018" {
		t.Errorf("stored details: %s", res.raw)
	}
	if got.UpdatedAt == before {
		t.Error("updatedAt did not move")
	}
	if post, sms, email, ok := got.preference(w.f.OrgID); !ok || post || !sms || !email {
		t.Errorf("trust preference: %s", res.raw)
	}
	if post, sms, email, ok := got.preference(gp); !ok || !post || sms || email {
		t.Errorf("GP preference: %s", res.raw)
	}
	if _, prefs := w.alicesRow(); len(prefs) != 2 {
		t.Errorf("the trust's preference was not changed in place: %d rows", len(prefs))
	}
	if n := len(w.audits("PATIENT_UPDATED")); n != 1 {
		t.Errorf("%d PATIENT_UPDATED audit events", n)
	}

	t.Run("a stale expectedUpdatedAt is a conflict and changes nothing", func(t *testing.T) {
		pt, prefs := w.alicesRow()
		_, res := w.updateContact(w.alice, before, map[string]any{"town": "York"})
		wantCode(t, "stale update", res, "CONFLICT")
		w.unchanged("a stale update", pt, prefs)
	})

	t.Run("an empty value clears a field", func(t *testing.T) {
		got2, res := w.updateContact(w.alice, got.UpdatedAt, map[string]any{"addressLine2": "", "phone": ""})
		if len(res.Errors) > 0 || got2.AddressLine2 != nil || got2.Phone != nil || str(got2.Town) != "Leeds" {
			t.Errorf("clearing: %s", res.raw)
		}
	})

	t.Run("an organisation not linked to the record is refused", func(t *testing.T) {
		other := w.organisation("RYY", "Elsewhere NHS Trust", organisation.KindTRUST, false)
		pt, prefs := w.alicesRow()
		_, res := w.updateContact(w.alice, w.updatedAt(w.alice, w.f.Alice.PatientID), map[string]any{
			"preferences": []map[string]any{
				{"organisationId": gp, "post": false, "sms": false, "email": true},
				{"organisationId": other, "post": true, "sms": false, "email": false},
			},
		})
		wantCode(t, "unlinked organisation", res, "BAD_USER_INPUT")
		if p := fieldPaths(res); !slices.Equal(p, []string{"input.preferences[1].organisationId"}) {
			t.Errorf("paths %v", p)
		}
		w.unchanged("an unlinked organisation", pt, prefs)
	})
}

func TestConcurrentContactChangesFromOneVersionKeepOnlyOne(t *testing.T) {
	w := newSharingWorld(t)
	stamp := w.updatedAt(w.alice, w.f.Alice.PatientID)
	const n = 6
	codes := make([][]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, res := w.updateContact(w.alice, stamp, map[string]any{"town": fmt.Sprintf("Town %d", i)})
			codes[i] = res.codes()
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch {
		case len(c) == 0:
			won++
		case !slices.Equal(c, []string{"CONFLICT"}):
			t.Errorf("a concurrent change answered %v", c)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d changes from one version were applied, want 1", won, n)
	}
	if n := len(w.audits("PATIENT_UPDATED")); n != won {
		t.Errorf("%d audit events for %d changes", n, won)
	}
}

func TestContactDetailsAreValidatedAndNormalised(t *testing.T) {
	w := newSharingWorld(t)
	pt, prefs := w.alicesRow()
	stamp := w.updatedAt(w.alice, w.f.Alice.PatientID)
	_, res := w.updateContact(w.alice, stamp, map[string]any{
		"town": "Leeds", "postcode": "SW1A 1A", "phone": "0800 123 4567", "email": "Alice <alice@example.org>",
	})
	wantCode(t, "three bad fields", res, "BAD_USER_INPUT")
	if p := fieldPaths(res); !slices.Equal(p, []string{"input.email", "input.phone", "input.postcode"}) {
		t.Errorf("bad fields reported: %v", p)
	}
	w.unchanged("a rejected update", pt, prefs)

	cases := []struct {
		name, field, value, want string // want "" means refused
	}{
		{"a postcode is upper-cased with one space", "postcode", "sw1a1aa", "SW1A 1AA"},
		{"a postcode's spacing is normalised", "postcode", "  b33   8th ", "B33 8TH"},
		{"GIR 0AA is a postcode", "postcode", "gir0aa", "GIR 0AA"},
		{"an A9 9AA postcode is accepted", "postcode", "M1 1AE", "M1 1AE"},
		{"an AA99 9AA postcode is accepted", "postcode", "DN55 1PT", "DN55 1PT"},
		{"a postcode cannot start with Q", "postcode", "QA1 1AA", ""},
		{"a postcode needs its inward code", "postcode", "SW1A", ""},
		{"a postcode has no hyphen", "postcode", "SW1A-1AA", ""},
		{"a London number becomes E.164", "phone", "020 7946 0000", "+442079460000"},
		{"a ten-digit geographic number is accepted", "phone", "01632 96000", "+44163296000"},
		{"a mobile in +44 form is accepted", "phone", "+44 7700 900123", "+447700900123"},
		{"an 03 number is accepted", "phone", "0306 999 0000", "+443069990000"},
		{"an 0800 number is refused", "phone", "0800 123 4567", ""},
		{"a number without its 0 is refused", "phone", "7700 900123", ""},
		{"a number of twelve digits is refused", "phone", "077009001234", ""},
		{"a foreign number is refused", "phone", "+1 202 555 0100", ""},
		{"an email address is kept", "email", "alice.home@example.org", "alice.home@example.org"},
		{"an email with a display name is refused", "email", "Alice <alice@example.org>", ""},
		{"an email without a domain is refused", "email", "alice@", ""},
		{"an address line over 255 characters is refused", "addressLine1", strings.Repeat("a", 256), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stamp := w.updatedAt(w.alice, w.f.Alice.PatientID)
			got, res := w.updateContact(w.alice, stamp, map[string]any{c.field: c.value})
			if c.want == "" {
				wantCode(t, c.value, res, "BAD_USER_INPUT")
				if p := fieldPaths(res); !slices.Equal(p, []string{"input." + c.field}) {
					t.Errorf("paths %v", p)
				}
				return
			}
			value := map[string]*string{"postcode": got.Postcode, "phone": got.Phone, "email": got.Email}[c.field]
			if len(res.Errors) > 0 || value == nil || *value != c.want {
				t.Errorf("want %q: %s", c.want, res.raw)
			}
		})
	}
}

func TestOnlyThePatientChangesTheirContactDetails(t *testing.T) {
	w := newSharingWorld(t)
	stamp := w.updatedAt(w.alice, w.f.Alice.PatientID)
	pt, prefs := w.alicesRow()
	for _, c := range []struct {
		name, token, code string
	}{
		{"a carer who can read the record may not change it", w.carer, "FORBIDDEN"},
		{"a clinician of the linked trust may not change it", w.clinician, "FORBIDDEN"},
		{"another patient cannot even find it", w.bob, "NOT_FOUND"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, res := w.updateContact(c.token, stamp, map[string]any{"town": "Elsewhere", "postcode": "LS1 4AP"})
			wantCode(t, c.name, res, c.code)
			w.unchanged(c.name, pt, prefs)
		})
	}
	if n := len(w.audits("PATIENT_UPDATED")); n != 0 {
		t.Errorf("%d PATIENT_UPDATED audit events for refused changes", n)
	}

	t.Run("a patient signed in at P5 may change them", func(t *testing.T) {
		token := w.e.signIn(w.f.Alice.Email, fixturePassword)
		w.must(w.db().Session.Update().Where(session.AccountID(w.f.Alice.AccountID)).
			SetIdentityLevel(session.IdentityLevelP5).Exec(w.sys()))
		var v struct {
			Viewer struct{ IdentityLevel string }
		}
		w.e.post(token, `{ viewer { identityLevel } }`, nil).decode(t, &v)
		if v.Viewer.IdentityLevel != "P5" {
			t.Fatalf("identity level %q", v.Viewer.IdentityLevel)
		}
		got, res := w.updateContact(token, stamp, map[string]any{"town": "Harrogate"})
		if len(res.Errors) > 0 || got.Town == nil || *got.Town != "Harrogate" {
			t.Errorf("P5 update: %s", res.raw)
		}
	})
}

const patientsQuery = `query($where: PatientSearchInput, $first: Int, $after: Cursor) {
  patients(where: $where, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id familyName } }
  }
}`

// patientsPage is one page of a patient search.
type patientsPage struct {
	IDs         []string
	Total       int
	HasNextPage bool
	EndCursor   *string
}

// searchPatients searches as token; errors are returned in the response.
func (w *sharingWorld) searchPatients(token string, where map[string]any, first *int, after *string) (patientsPage, gqlResponse) {
	w.t.Helper()
	vars := map[string]any{"where": where}
	if first != nil {
		vars["first"] = *first
	}
	if after != nil {
		vars["after"] = *after
	}
	res := w.e.post(token, patientsQuery, vars)
	var page patientsPage
	if len(res.Errors) > 0 {
		return page, res
	}
	var data struct {
		Patients struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage bool
				EndCursor   *string
			}
			Edges []struct{ Node struct{ ID string } }
		}
	}
	res.decode(w.t, &data)
	page.Total, page.HasNextPage, page.EndCursor = data.Patients.TotalCount, data.Patients.PageInfo.HasNextPage, data.Patients.PageInfo.EndCursor
	for _, e := range data.Patients.Edges {
		page.IDs = append(page.IDs, e.Node.ID)
	}
	sort.Strings(page.IDs)
	return page, res
}

func TestAClinicianFindsOnlyThePatientsTheirOrganisationMaySee(t *testing.T) {
	w := newSharingWorld(t)
	f := w.f
	dob := time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)
	other := w.organisation("RYY", "Elsewhere NHS Trust", organisation.KindTRUST, false)
	newPatient := func(family, nhs string) pulid.ID {
		pt, err := w.db().Patient.Create().SetGivenName("Olive").SetFamilyName(family).
			SetNhsNumber(nhs).SetDateOfBirth(dob).Save(w.sys())
		w.must(err)
		w.must(w.db().PatientOrganisation.Create().SetPatientID(pt.ID).SetOrganisationID(other).
			SetLocalIdentifier("H123456").Exec(w.sys()))
		return pt.ID
	}
	// Patients of another trust, one with the fixture's family name and
	// date of birth and the same hospital number as Alice's.
	twin := newPatient("Example", nhsNumber(100))
	outsider := newPatient("Outsider", nhsNumber(200))
	// A patient of the other trust who shared their record with the
	// clinician's trust.
	sharedIn := newPatient("Sharer", nhsNumber(300))
	w.must(w.db().Share.Create().SetPatientID(sharedIn).SetGranteeOrganisationID(f.OrgID).
		SetRelationship(share.RelationshipORGANISATION).SetAcceptedAt(w.e.clock.Now()).Exec(w.sys()))
	w.must(w.db().PatientOrganisation.Update().
		Where(patientorganisation.PatientID(f.Alice.PatientID), patientorganisation.OrganisationID(f.OrgID)).
		SetLocalIdentifier("H123456").Exec(w.sys()))
	clinician := w.e.signIn(f.Clinician.Email, fixturePassword)
	_, analyst := w.staff("analyst@example.org", "Ann Analyst", f.OrgID, membership.RoleANALYST)

	ids := func(ps ...pulid.ID) []string {
		out := make([]string, 0, len(ps))
		for _, p := range ps {
			out = append(out, string(p))
		}
		sort.Strings(out)
		return out
	}
	found := []struct {
		name  string
		where map[string]any
		want  []string
	}{
		{"Alice by NHS number", map[string]any{"nhsNumber": "9990000018"}, ids(f.Alice.PatientID)},
		{"Alice by NHS number with spaces", map[string]any{"nhsNumber": "999 000 0018"}, ids(f.Alice.PatientID)},
		{"the trust's patients by family name and date of birth, not the other trust's",
			map[string]any{"familyName": "eXAMPLE", "dateOfBirth": "1980-05-17"}, ids(f.Alice.PatientID, f.Bob.PatientID)},
		{"Alice by family name, date of birth and NHS number",
			map[string]any{"familyName": "Example", "dateOfBirth": "1980-05-17", "nhsNumber": "9990000018"}, ids(f.Alice.PatientID)},
		{"Alice by the trust's hospital number, not the other trust's patient with the same",
			map[string]any{"organisationId": f.OrgID, "localIdentifier": "H123456"}, ids(f.Alice.PatientID)},
		{"a patient who shared their record with the trust", map[string]any{"nhsNumber": nhsNumber(300)}, ids(sharedIn)},
		{"not the other trust's patient by NHS number", map[string]any{"nhsNumber": nhsNumber(100)}, ids()},
		{"not the other trust's patient by name and date of birth",
			map[string]any{"familyName": "Outsider", "dateOfBirth": "1980-05-17"}, ids()},
		{"nobody born on another day", map[string]any{"familyName": "Example", "dateOfBirth": "1980-05-18"}, ids()},
	}
	for _, c := range found {
		t.Run("a clinician finds "+c.name, func(t *testing.T) {
			page, res := w.searchPatients(clinician, c.where, nil, nil)
			if len(res.Errors) > 0 {
				t.Fatal(string(res.raw))
			}
			if !slices.Equal(page.IDs, c.want) || page.Total != len(c.want) {
				t.Errorf("want %v, got %v (totalCount %d)", c.want, page.IDs, page.Total)
			}
			for _, hidden := range []pulid.ID{twin, outsider} {
				if slices.Contains(page.IDs, string(hidden)) {
					t.Errorf("found a patient of the other trust")
				}
			}
		})
	}

	t.Run("results are paged", func(t *testing.T) {
		one := 1
		where := map[string]any{"familyName": "Example", "dateOfBirth": "1980-05-17"}
		p1, res := w.searchPatients(clinician, where, &one, nil)
		if len(res.Errors) > 0 || len(p1.IDs) != 1 || p1.Total != 2 || !p1.HasNextPage || p1.EndCursor == nil {
			t.Fatalf("first page: %s", res.raw)
		}
		p2, res := w.searchPatients(clinician, where, &one, p1.EndCursor)
		if len(res.Errors) > 0 || len(p2.IDs) != 1 || p2.IDs[0] == p1.IDs[0] {
			t.Errorf("second page: %s", res.raw)
		}
	})

	refused := []struct {
		name  string
		where map[string]any
		first int
		code  string
		paths []string
	}{
		{"an NHS number failing its check digit", map[string]any{"nhsNumber": "9990000019"}, 20, "BAD_USER_INPUT", []string{"where.nhsNumber"}},
		{"no criterion", map[string]any{}, 20, "BAD_USER_INPUT", []string{"where"}},
		{"a family name without a date of birth", map[string]any{"familyName": "Example"}, 20, "BAD_USER_INPUT", []string{"where.dateOfBirth"}},
		{"a date of birth not in YYYY-MM-DD", map[string]any{"familyName": "Example", "dateOfBirth": "17/05/1980"}, 20, "BAD_USER_INPUT", []string{"where.dateOfBirth"}},
		{"a hospital number without its organisation", map[string]any{"localIdentifier": "H123456"}, 20, "BAD_USER_INPUT", []string{"where.organisationId"}},
		{"another organisation's hospital numbers", map[string]any{"organisationId": other, "localIdentifier": "H123456"}, 20, "FORBIDDEN", nil},
		{"a page over the maximum", map[string]any{"nhsNumber": "9990000018"}, 101, "BAD_USER_INPUT", nil},
	}
	for _, c := range refused {
		t.Run("a clinician's search is refused for "+c.name, func(t *testing.T) {
			_, res := w.searchPatients(clinician, c.where, &c.first, nil)
			wantCode(t, c.name, res, c.code)
			if c.paths != nil && !slices.Equal(fieldPaths(res), c.paths) {
				t.Errorf("paths %v", fieldPaths(res))
			}
		})
	}

	for _, c := range []struct{ name, token string }{
		{"the patient", w.alice}, {"a carer", w.carer}, {"an analyst", analyst},
	} {
		t.Run(c.name+" gets an empty connection", func(t *testing.T) {
			page, res := w.searchPatients(c.token, map[string]any{"nhsNumber": "9990000018"}, nil, nil)
			if len(res.Errors) > 0 || len(page.IDs) != 0 || page.Total != 0 {
				t.Errorf("%s", res.raw)
			}
		})
	}
}

// dashboardWithEncountersQuery is the home page with the latest emergency
// and inpatient visits and the organisations' contact details.
const dashboardWithEncountersQuery = `query Dashboard($patient: ID!, $now: Time!) {
  viewer { account { id email displayName } patients { id givenName familyName } }
  patient(id: $patient) {
    id givenName familyName nhsNumber dateOfBirth addressLine1 postcode phone email
    invitedBy { id name logoURL welcomeMessage phone email website address }
    appointments(first: 20, where: {startsAtGTE: $now}, orderBy: {field: STARTS_AT, direction: ASC}) {
      totalCount edges { node { id title startsAt category clinic site status } }
    }
    allergies(first: 20) { totalCount edges { node { id substance reaction severity category recordedBy } } }
    results(first: 20, orderBy: {field: REPORTED_AT, direction: DESC}) {
      totalCount
      edges { node { id name reportedAt releasedAt category
        components { id name valueNumeric valueText unit referenceLow referenceHigh flag } } }
    }
    letters(first: 20, where: {readAtIsNil: true}, orderBy: {field: SENT_AT, direction: DESC}) {
      totalCount edges { node { id title sentAt category } }
    }
    latestEmergency: encounters(first: 1, where: {kind: EMERGENCY}, orderBy: {field: STARTED_AT, direction: DESC}) {
      totalCount edges { node { id kind status startedAt category } }
    }
    latestInpatient: encounters(first: 1, where: {kind: INPATIENT}, orderBy: {field: STARTED_AT, direction: DESC}) {
      totalCount edges { node { id kind status startedAt category } }
    }
    organisations(first: 100) { totalCount edges { node { id name phone email website address } } }
    contactPreferences { post sms email organisation { id name phone email website address } }
  }
}`

func TestDashboardWithEncountersAndContactsDoesNotGrowWithItems(t *testing.T) {
	counts := map[int]int64{}
	for _, n := range []int{1, 100} {
		e := newEnv(t)
		now := e.clock.Now()
		f := seed(t, e.store.Client, n, now)
		latest := addVisitsAndOrganisations(t, e.store.Client, f, n, now)
		token := e.signIn(f.Alice.Email, fixturePassword)
		vars := map[string]any{"patient": string(f.Alice.PatientID), "now": now.Add(-365 * 24 * time.Hour).Format(time.RFC3339)}
		e.post(token, dashboardWithEncountersQuery, vars) // warm the query cache
		e.counter.Reset()
		res := e.post(token, dashboardWithEncountersQuery, vars)
		counts[n] = e.counter.Count()
		if len(res.Errors) > 0 {
			t.Fatal(string(res.raw))
		}
		type visits struct {
			TotalCount int
			Edges      []struct{ Node struct{ ID, Kind string } }
		}
		var data struct {
			Patient struct {
				InvitedBy                        struct{ Phone, Website *string }
				LatestEmergency, LatestInpatient visits
				Organisations                    struct {
					TotalCount int
					Edges      []struct {
						Node struct{ Phone, Email, Website, Address *string }
					}
				}
				ContactPreferences []struct{ Organisation struct{ Phone *string } }
			}
		}
		res.decode(t, &data)
		p := data.Patient
		for kind, v := range map[encounter.Kind]visits{encounter.KindEMERGENCY: p.LatestEmergency, encounter.KindINPATIENT: p.LatestInpatient} {
			if v.TotalCount != n || len(v.Edges) != 1 || v.Edges[0].Node.ID != string(latest[kind]) {
				t.Errorf("n=%d: latest %s visit: %+v, want %s", n, kind, v, latest[kind])
			}
		}
		if p.Organisations.TotalCount != n || len(p.Organisations.Edges) != n || len(p.ContactPreferences) != n {
			t.Errorf("n=%d: organisations %d (%d edges), preferences %d", n, p.Organisations.TotalCount,
				len(p.Organisations.Edges), len(p.ContactPreferences))
		}
		for _, o := range p.Organisations.Edges {
			if o.Node.Phone == nil || o.Node.Email == nil || o.Node.Website == nil || o.Node.Address == nil {
				t.Errorf("n=%d: organisation without contact details: %s", n, res.Data)
				break
			}
		}
		if p.InvitedBy.Phone == nil || p.InvitedBy.Website == nil {
			t.Errorf("n=%d: branding without contact details", n)
		}
	}
	t.Logf("SQL statements for the dashboard with visits and contacts: %v", counts)
	if counts[1] != counts[100] {
		t.Errorf("statements with 1 item: %d, with 100: %d", counts[1], counts[100])
	}
}

// addVisitsAndOrganisations gives Alice n inpatient stays (the fixture has
// n emergency attendances), contact details for her trust and n-1 more
// linked organisations, and a contact preference for each; it returns her
// latest visit of each kind.
func addVisitsAndOrganisations(t *testing.T, client *ent.Client, f *fixture, n int, now time.Time) map[encounter.Kind]pulid.ID {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	stays, err := client.Encounter.MapCreateBulk(make([]struct{}, n), func(c *ent.EncounterCreate, i int) {
		c.SetPatientID(f.Alice.PatientID).SetSourceOrganisationID(f.OrgID).SetCategory(category.All[i%len(category.All)]).
			SetKind(encounter.KindINPATIENT).SetStatus(encounter.StatusDISCHARGED).
			SetStartedAt(now.Add(-time.Duration(n-i) * 24 * time.Hour))
	}).Save(ctx)
	must(err)
	emergency, err := client.Encounter.Query().
		Where(encounter.PatientID(f.Alice.PatientID), encounter.KindEQ(encounter.KindEMERGENCY)).
		Order(ent.Desc(encounter.FieldStartedAt)).First(ctx)
	must(err)

	must(client.Organisation.UpdateOneID(f.OrgID).SetPhone("0113 496 0000").SetEmail("enquiries@test.example.org").
		SetWebsite("https://test.example.org").SetAddress("1 Infirmary Street, Leeds LS1 3EX").Exec(ctx))
	orgs := []pulid.ID{f.OrgID}
	for i := 1; i < n; i++ {
		o, err := client.Organisation.Create().SetOdsCode(fmt.Sprintf("Y%05d", i)).SetName(fmt.Sprintf("Surgery %d", i)).
			SetKind(organisation.KindGP_PRACTICE).SetPhone("0113 496 0001").SetEmail("surgery@example.org").
			SetWebsite("https://surgery.example.org").SetAddress("2 High Street, Leeds LS2 7AB").Save(ctx)
		must(err)
		must(client.PatientOrganisation.Create().SetPatientID(f.Alice.PatientID).SetOrganisationID(o.ID).Exec(ctx))
		orgs = append(orgs, o.ID)
	}
	// The fixture already holds the trust's preference.
	for _, o := range orgs[1:] {
		must(client.ContactPreference.Create().SetPatientID(f.Alice.PatientID).SetOrganisationID(o).Exec(ctx))
	}
	return map[encounter.Kind]pulid.ID{encounter.KindEMERGENCY: emergency.ID, encounter.KindINPATIENT: stays[n-1].ID}
}
