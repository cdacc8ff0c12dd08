package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/mailmessage"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// newcomer adds a patient of the fixture's trust who has no account yet.
func newcomer(t *testing.T, e *testEnv, f *fixture, nhs string, dob time.Time) pulid.ID {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	pt, err := e.store.Client.Patient.Create().SetGivenName("Nina").SetFamilyName("Newcomer").
		SetNhsNumber(nhs).SetDateOfBirth(dob).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Client.PatientOrganisation.Create().SetPatientID(pt.ID).SetOrganisationID(f.OrgID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return pt.ID
}

// admin makes the fixture's clinician an ADMIN of the trust too and signs in.
func admin(t *testing.T, e *testEnv, f *fixture) string {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	if err := e.store.Client.Membership.Create().SetAccountID(f.Clinician.AccountID).
		SetOrganisationID(f.OrgID).SetRole(membership.RoleADMIN).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	return e.signIn(f.Clinician.Email, fixturePassword)
}

// outbox returns the queued emails to an address, oldest first.
func outbox(t *testing.T, e *testEnv, to string) []*ent.MailMessage {
	t.Helper()
	ms, err := e.store.Client.MailMessage.Query().Where(mailmessage.Recipient(to)).
		Order(ent.Asc(mailmessage.FieldCreatedAt), ent.Asc(mailmessage.FieldID)).All(access.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})`)

// tokenIn returns the token of the link in the last email to an address.
func tokenIn(t *testing.T, e *testEnv, to string) string {
	t.Helper()
	ms := outbox(t, e, to)
	if len(ms) == 0 {
		t.Fatalf("no email to %s", to)
	}
	m := linkToken.FindStringSubmatch(ms[len(ms)-1].TextBody)
	if m == nil {
		t.Fatalf("no link in %q", ms[len(ms)-1].TextBody)
	}
	return m[1]
}

const (
	inviteMutation = `mutation($org: ID!, $nhs: String!, $dob: String!, $email: String!) {
  invitePatient(input: {organisationId: $org, nhsNumber: $nhs, dateOfBirth: $dob, email: $email}) { id email expiresAt sendCount acceptedAt revokedAt }
}`
	acceptMutation = `mutation($token: String!, $dob: String, $password: String!) {
  acceptInvitation(input: {token: $token, dateOfBirth: $dob, password: $password}) { token account { email } }
}`
)

var adultDOB = time.Date(1990, 3, 4, 0, 0, 0, 0, time.UTC)

func TestInvitationToRegistrationToDashboard(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 2, e.clock.Now())
	adminToken := admin(t, e, f)
	nina := newcomer(t, e, f, "9990000034", adultDOB)

	res := e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "999 000 0034", "dob": "1990-03-04", "email": "Nina@Example.org"})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"email":"nina@example.org"`) {
		t.Fatalf("invitePatient: %s", res.raw)
	}
	mails := outbox(t, e, "nina@example.org")
	if len(mails) != 1 {
		t.Fatalf("%d invitation emails", len(mails))
	}
	token := tokenIn(t, e, "nina@example.org")

	// The acceptance page shows who invited, signed out.
	preview := e.post("", `query($t: String!) { invitation(token: $t) { purpose needsDateOfBirth organisation { name logoURL welcomeMessage } } }`, map[string]any{"t": token})
	if !strings.Contains(string(preview.Data), `"purpose":"REGISTRATION","needsDateOfBirth":true,"organisation":{"name":"Test Hospitals NHS Trust"`) {
		t.Errorf("preview: %s", preview.raw)
	}
	for name, tc := range map[string]struct {
		dob, password, code string
	}{
		"wrong date of birth": {"1990-03-05", "a sound passphrase 42", "BAD_USER_INPUT"},
		"short password":      {"1990-03-04", "short", "BAD_USER_INPUT"},
		"common password":     {"1990-03-04", "password123", "BAD_USER_INPUT"},
		"malformed date":      {"04/03/1990", "a sound passphrase 42", "BAD_USER_INPUT"},
	} {
		got := e.post("", acceptMutation, map[string]any{"token": token, "dob": tc.dob, "password": tc.password})
		if !slices.Equal(got.codes(), []string{tc.code}) {
			t.Errorf("%s: %s", name, got.raw)
		}
	}
	got := e.post("", acceptMutation, map[string]any{"token": token, "dob": "1990-03-04", "password": "a sound passphrase 42"})
	if len(got.Errors) > 0 {
		t.Fatalf("accept: %s", got.raw)
	}
	// The invitation is single-use.
	if again := e.post("", acceptMutation, map[string]any{"token": token, "dob": "1990-03-04", "password": "a sound passphrase 42"}); !slices.Equal(again.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("second acceptance: %s", again.raw)
	}
	// She signs in with her new password and opens her record.
	session := e.signIn("nina@example.org", "a sound passphrase 42")
	dash := e.post(session, dashboardQuery, map[string]any{"patient": string(nina), "now": e.clock.Now().Format(time.RFC3339)})
	if len(dash.Errors) > 0 || !strings.Contains(string(dash.Data), `"givenName":"Nina"`) ||
		!strings.Contains(string(dash.Data), `"invitedBy":null`) && !strings.Contains(string(dash.Data), `"appointments":{"totalCount":0`) {
		t.Errorf("dashboard: %s", dash.raw)
	}
	var v struct {
		Viewer struct {
			IdentityLevel string
			Patients      []struct{ ID string }
		}
	}
	e.post(session, `{ viewer { identityLevel patients { id } } }`, nil).decode(t, &v)
	if v.Viewer.IdentityLevel != "P9" || len(v.Viewer.Patients) != 1 || v.Viewer.Patients[0].ID != string(nina) {
		t.Errorf("viewer after registration: %+v", v)
	}
}

func TestInvitationsAreAdminsOnly(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	newcomer(t, e, f, "9990000034", adultDOB)
	alice := e.signIn(f.Alice.Email, fixturePassword)
	clinician := e.signIn(f.Clinician.Email, fixturePassword) // a clinician, not an admin
	vars := map[string]any{"org": f.OrgID, "nhs": "9990000034", "dob": "1990-03-04", "email": "nina@example.org"}
	for name, token := range map[string]string{"patient": alice, "clinician": clinician} {
		if got := e.post(token, inviteMutation, vars); !slices.Equal(got.codes(), []string{"FORBIDDEN"}) {
			t.Errorf("%s: %s", name, got.raw)
		}
	}
	if got := e.post("", inviteMutation, vars); !slices.Equal(got.codes(), []string{"UNAUTHENTICATED"}) {
		t.Errorf("signed out: %s", got.raw)
	}
	if n := len(outbox(t, e, "nina@example.org")); n != 0 {
		t.Errorf("%d emails sent", n)
	}
}

func TestBulkInvitationReportsEachRow(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	newcomer(t, e, f, "9990000034", adultDOB)
	newcomer(t, e, f, "9990000042", adultDOB)
	young := e.clock.Now().AddDate(-15, 0, 0).UTC().Truncate(24 * time.Hour)
	newcomer(t, e, f, "9990000050", young)
	csv := "nhs_number,date_of_birth,email\n" +
		"9990000034,1990-03-04,one@example.org\n" +
		"9990000035,1990-03-04,two@example.org\n" + // bad check digit
		"9990000042,1990-03-04,not-an-email\n" +
		"9990000042,1991-01-01,three@example.org\n" + // no such patient
		"9990000050," + young.Format("2006-01-02") + ",young@example.org\n" +
		"9990000042,1990-03-04,four@example.org\n"
	res := e.post(adminToken, `mutation($org: ID!, $csv: String!) { invitePatients(input: {organisationId: $org, csv: $csv}) {
	  invited refused rows { line status reason } } }`, map[string]any{"org": f.OrgID, "csv": csv})
	var r struct {
		InvitePatients struct {
			Invited, Refused int
			Rows             []struct {
				Line   int
				Status string
				Reason *string
			}
		}
	}
	res.decode(t, &r)
	want := []string{"INVITED", "REFUSED", "REFUSED", "REFUSED", "REFUSED", "INVITED"}
	if r.InvitePatients.Invited != 2 || r.InvitePatients.Refused != 4 || len(r.InvitePatients.Rows) != len(want) {
		t.Fatalf("report: %s", res.raw)
	}
	for i, row := range r.InvitePatients.Rows {
		if row.Line != i+2 || row.Status != want[i] || (row.Status == "REFUSED") != (row.Reason != nil) {
			t.Errorf("row %d: %+v", i, row)
		}
	}
	if len(outbox(t, e, "one@example.org")) != 1 || len(outbox(t, e, "four@example.org")) != 1 || len(outbox(t, e, "young@example.org")) != 0 {
		t.Error("emails do not match the report")
	}
	bad := e.post(adminToken, `mutation($org: ID!) { invitePatients(input: {organisationId: $org, csv: "a,b\n1,2"}) { invited } }`, map[string]any{"org": f.OrgID})
	if !slices.Equal(bad.codes(), []string{"BAD_USER_INPUT"}) {
		t.Errorf("bad header: %s", bad.raw)
	}
}

func TestUnder16CannotRegister(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	// Sixteen tomorrow, UK time.
	dob := e.clock.Now().In(mustLondon(t)).AddDate(-16, 0, 1)
	dob = time.Date(dob.Year(), dob.Month(), dob.Day(), 0, 0, 0, 0, time.UTC)
	newcomer(t, e, f, "9990000050", dob)
	got := e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000050", "dob": dob.Format("2006-01-02"), "email": "teen@example.org"})
	if !slices.Equal(got.codes(), []string{"AGE_RESTRICTED"}) {
		t.Errorf("invite: %s", got.raw)
	}
	if len(outbox(t, e, "teen@example.org")) != 0 {
		t.Error("an invitation was sent")
	}
	// An invitation sent on the birthday cannot be accepted the day before
	// (a clock moved back stands in for an invitation sent early).
	ctx := access.SystemContext(context.Background())
	e.clock.Advance(24 * time.Hour)
	adminToken = e.signIn(f.Clinician.Email, fixturePassword)
	got = e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000050", "dob": dob.Format("2006-01-02"), "email": "teen@example.org"})
	if len(got.Errors) > 0 {
		t.Fatalf("invite on the sixteenth birthday: %s", got.raw)
	}
	token := tokenIn(t, e, "teen@example.org")
	e.clock.Advance(-24 * time.Hour) // accepting a day before the birthday
	before, _ := e.store.Client.Account.Query().Count(ctx)
	got = e.post("", acceptMutation, map[string]any{"token": token, "dob": dob.Format("2006-01-02"), "password": "a sound passphrase 42"})
	after, _ := e.store.Client.Account.Query().Count(ctx)
	if !slices.Equal(got.codes(), []string{"AGE_RESTRICTED"}) || after != before {
		t.Errorf("accept under 16: %s (accounts %d -> %d)", got.raw, before, after)
	}
}

func mustLondon(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestEmailClashIsToldOnlyToTheInvitee(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	nina := newcomer(t, e, f, "9990000034", adultDOB)
	newcomer(t, e, f, "9990000042", adultDOB)
	// Bob's email already owns Bob's record: inviting Nina to it answers
	// exactly like inviting her to an unused address.
	clash := e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000034", "dob": "1990-03-04", "email": f.Bob.Email})
	fresh := e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000042", "dob": "1990-03-04", "email": "fresh@example.org"})
	shape := regexp.MustCompile(`"(id|email|expiresAt)":"[^"]*"`)
	if len(clash.Errors) > 0 || shape.ReplaceAllString(string(clash.raw), "") != shape.ReplaceAllString(string(fresh.raw), "") {
		t.Errorf("inviter can tell: %s vs %s", clash.raw, fresh.raw)
	}
	token := tokenIn(t, e, f.Bob.Email)
	got := e.post("", acceptMutation, map[string]any{"token": token, "dob": "1990-03-04", "password": fixturePassword})
	if !slices.Equal(got.codes(), []string{"EMAIL_IN_USE"}) {
		t.Errorf("accept: %s", got.raw)
	}
	p, err := e.store.Client.Patient.Get(access.SystemContext(context.Background()), nina)
	if err != nil || p.AccountID != nil {
		t.Errorf("record was linked: %+v %v", p, err)
	}
}

// fromAddress returns an HTTP client whose requests come from ip.
func (e *testEnv) fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func (e *testEnv) signInFrom(client *http.Client, email, password string) gqlResponse {
	e.t.Helper()
	req := e.request(signInMutation, map[string]any{"email": email, "password": password})
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	var out gqlResponse
	if err := json.Unmarshal(body, &out); err != nil {
		e.t.Fatalf("%s: %v", body, err)
	}
	out.raw = body
	return out
}

func TestLockoutAfterTenFailuresFromOneAddress(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	first, second := e.fromAddress("127.0.0.1"), e.fromAddress("127.0.0.2")
	wrong := e.signInFrom(first, f.Alice.Email, "not my password")
	for range 9 {
		e.signInFrom(first, f.Alice.Email, "not my password")
	}
	locked := e.signInFrom(first, f.Alice.Email, fixturePassword)
	if string(locked.raw) != string(wrong.raw) {
		t.Errorf("locked out answer %s differs from a wrong password's %s", locked.raw, wrong.raw)
	}
	if got := e.signInFrom(second, f.Alice.Email, fixturePassword); len(got.Errors) > 0 {
		t.Errorf("another address is locked out too: %s", got.raw)
	}
	e.clock.Advance(16 * time.Minute)
	if got := e.signInFrom(first, f.Alice.Email, fixturePassword); len(got.Errors) > 0 {
		t.Errorf("still locked after 15 minutes: %s", got.raw)
	}
	failures, _ := e.store.Client.AuditEvent.Query().Where(auditevent.Action("SIGN_IN_FAILED")).Count(access.SystemContext(context.Background()))
	if failures != 11 {
		t.Errorf("%d failed sign-ins audited, want 11", failures)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	here := e.signIn(f.Alice.Email, fixturePassword)
	elsewhere := e.signIn(f.Alice.Email, fixturePassword)
	change := `mutation($c: String!, $n: String!) { changePassword(input: {currentPassword: $c, newPassword: $n}) }`
	if got := e.post(here, change, map[string]any{"c": "wrong one!!", "n": "a brand new passphrase"}); !slices.Equal(got.codes(), []string{"UNAUTHENTICATED"}) {
		t.Errorf("wrong current password: %s", got.raw)
	}
	if got := e.post(here, change, map[string]any{"c": fixturePassword, "n": "qwertyuiop"}); !slices.Equal(got.codes(), []string{"BAD_USER_INPUT"}) {
		t.Errorf("common new password: %s", got.raw)
	}
	if got := e.post(here, change, map[string]any{"c": fixturePassword, "n": "a brand new passphrase"}); string(got.Data) != `{"changePassword":true}` {
		t.Fatalf("change: %s", got.raw)
	}
	if got := e.post(elsewhere, `{ viewer { account { id } } }`, nil); string(got.Data) != `{"viewer":null}` {
		t.Errorf("other session survived: %s", got.raw)
	}
	if got := e.post(here, `{ viewer { account { id } } }`, nil); string(got.Data) == `{"viewer":null}` {
		t.Errorf("this session ended: %s", got.raw)
	}
	if got := e.post("", signInMutation, map[string]any{"email": f.Alice.Email, "password": fixturePassword}); len(got.Errors) == 0 {
		t.Error("old password still works")
	}
	e.signIn(f.Alice.Email, "a brand new passphrase")
}

func TestViewerListsAndEndsSessions(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	a := e.signIn(f.Alice.Email, fixturePassword)
	b := e.signIn(f.Alice.Email, fixturePassword)
	bob := e.signIn(f.Bob.Email, fixturePassword)
	var s struct {
		Viewer struct {
			Sessions []struct {
				ID      string
				Current bool
				Method  string
			}
		}
	}
	e.post(a, `{ viewer { sessions { id current method } } }`, nil).decode(t, &s)
	if len(s.Viewer.Sessions) != 2 {
		t.Fatalf("sessions: %+v", s)
	}
	var other string
	for _, x := range s.Viewer.Sessions {
		if !x.Current {
			other = x.ID
		}
	}
	end := `mutation($id: ID!) { endSession(id: $id) }`
	if got := e.post(bob, end, map[string]any{"id": other}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("Bob ended Alice's session: %s", got.raw)
	}
	if got := e.post(a, end, map[string]any{"id": other}); string(got.Data) != `{"endSession":true}` {
		t.Fatalf("endSession: %s", got.raw)
	}
	if got := e.post(b, `{ viewer { account { id } } }`, nil); string(got.Data) != `{"viewer":null}` {
		t.Errorf("ended session still works: %s", got.raw)
	}
}

func TestEmailChangeTakesEffectOnlyWhenConfirmed(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	alice := e.signIn(f.Alice.Email, fixturePassword)
	req := `mutation($e: String!, $p: String!) { requestEmailChange(input: {newEmail: $e, password: $p}) }`
	if got := e.post(alice, req, map[string]any{"e": "alice.new@example.org", "p": fixturePassword}); string(got.Data) != `{"requestEmailChange":true}` {
		t.Fatalf("request: %s", got.raw)
	}
	// Until confirmed, the old address still signs in.
	e.signIn(f.Alice.Email, fixturePassword)
	token := tokenIn(t, e, "alice.new@example.org")
	if got := e.post("", `mutation($t: String!) { confirmEmailChange(token: $t) }`, map[string]any{"t": token}); string(got.Data) != `{"confirmEmailChange":true}` {
		t.Fatalf("confirm: %s", got.raw)
	}
	e.signIn("alice.new@example.org", fixturePassword)
	if got := e.post("", signInMutation, map[string]any{"email": f.Alice.Email, "password": fixturePassword}); len(got.Errors) == 0 {
		t.Error("old address still signs in")
	}
	// Asking for an address in use answers the same, and tells its owner.
	if got := e.post(alice, req, map[string]any{"e": f.Bob.Email, "p": fixturePassword}); string(got.Data) != `{"requestEmailChange":true}` {
		t.Errorf("request for a used address: %s", got.raw)
	}
	if ms := outbox(t, e, f.Bob.Email); len(ms) != 1 || linkToken.MatchString(ms[0].TextBody) {
		t.Errorf("owner of the used address: %d emails", len(ms))
	}
}

var internalID = regexp.MustCompile(`\b[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}\b`)

func TestEmailsCarryNoClinicalContentNorInternalIDs(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	newcomer(t, e, f, "9990000034", adultDOB)
	e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000034", "dob": "1990-03-04", "email": "nina@example.org"})
	alice := e.signIn(f.Alice.Email, fixturePassword)
	e.post(alice, `mutation { requestEmailChange(input: {newEmail: "a2@example.org", password: "correct horse battery staple"}) }`, nil)
	all, err := e.store.Client.MailMessage.Query().All(access.SystemContext(context.Background()))
	if err != nil || len(all) < 2 {
		t.Fatalf("%d emails, %v", len(all), err)
	}
	forbidden := []string{"9990000034", "1990", "Nina", "Newcomer", "Test Hospitals", "Clinic", "Test 0", "Substance", "g/L"}
	for _, m := range all {
		text := m.Subject + "\n" + m.TextBody
		if internalID.MatchString(text) {
			t.Errorf("email %q contains an internal ID", m.Subject)
		}
		for _, w := range forbidden {
			if strings.Contains(text, w) {
				t.Errorf("email %q contains %q", m.Subject, w)
			}
		}
	}
}

func TestInvitationsCanBeResentAndRevoked(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	newcomer(t, e, f, "9990000034", adultDOB)
	var inv struct{ InvitePatient struct{ ID string } }
	e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000034", "dob": "1990-03-04", "email": "nina@example.org"}).decode(t, &inv)
	first := tokenIn(t, e, "nina@example.org")

	e.clock.Advance(13 * 24 * time.Hour)
	adminToken = e.signIn(f.Clinician.Email, fixturePassword)
	res := e.post(adminToken, `mutation($id: ID!) { resendInvitation(id: $id) { sendCount expiresAt } }`, map[string]any{"id": inv.InvitePatient.ID})
	if !strings.Contains(string(res.Data), `"sendCount":2`) {
		t.Fatalf("resend: %s", res.raw)
	}
	second := tokenIn(t, e, "nina@example.org")
	preview := `query($t: String!) { invitation(token: $t) { purpose } }`
	if got := e.post("", preview, map[string]any{"t": first}); string(got.Data) != `{"invitation":null}` {
		t.Errorf("the first link still works: %s", got.raw)
	}
	// Resending gave 14 more days: the second link outlives the first's expiry.
	e.clock.Advance(2 * 24 * time.Hour)
	if got := e.post("", preview, map[string]any{"t": second}); string(got.Data) != `{"invitation":{"purpose":"REGISTRATION"}}` {
		t.Errorf("the second link: %s", got.raw)
	}
	// A patient of the trust cannot manage the trust's invitations.
	alice := e.signIn(f.Alice.Email, fixturePassword)
	if got := e.post(alice, `mutation($id: ID!) { revokeInvitation(id: $id) { revokedAt } }`, map[string]any{"id": inv.InvitePatient.ID}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("patient revoked: %s", got.raw)
	}
	adminToken = e.signIn(f.Clinician.Email, fixturePassword)
	if got := e.post(adminToken, `mutation($id: ID!) { revokeInvitation(id: $id) { revokedAt } }`, map[string]any{"id": inv.InvitePatient.ID}); len(got.Errors) > 0 {
		t.Fatalf("revoke: %s", got.raw)
	}
	if got := e.post("", acceptMutation, map[string]any{"token": second, "dob": "1990-03-04", "password": "a sound passphrase 42"}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("accepting a revoked invitation: %s", got.raw)
	}
	// After 14 days unresent, an invitation expires.
	newcomer(t, e, f, "9990000042", adultDOB)
	e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000042", "dob": "1990-03-04", "email": "late@example.org"})
	late := tokenIn(t, e, "late@example.org")
	e.clock.Advance(14*24*time.Hour + time.Minute)
	if got := e.post("", acceptMutation, map[string]any{"token": late, "dob": "1990-03-04", "password": "a sound passphrase 42"}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("accepting an expired invitation: %s", got.raw)
	}
}

func TestFiveWrongDatesOfBirthLockTheInvitation(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	adminToken := admin(t, e, f)
	newcomer(t, e, f, "9990000034", adultDOB)
	e.post(adminToken, inviteMutation, map[string]any{"org": f.OrgID, "nhs": "9990000034", "dob": "1990-03-04", "email": "nina@example.org"})
	token := tokenIn(t, e, "nina@example.org")
	for i := range 5 {
		got := e.post("", acceptMutation, map[string]any{"token": token, "dob": "1990-03-1" + string(rune('0'+i)), "password": "a sound passphrase 42"})
		if !slices.Equal(got.codes(), []string{"BAD_USER_INPUT"}) {
			t.Fatalf("try %d: %s", i, got.raw)
		}
	}
	if got := e.post("", acceptMutation, map[string]any{"token": token, "dob": "1990-03-04", "password": "a sound passphrase 42"}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("right date after five wrong ones: %s", got.raw)
	}
}

func TestPasswordSprayingFromOneAddressIsSlowed(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	sprayer, other := e.fromAddress("127.0.0.1"), e.fromAddress("127.0.0.3")
	// Successful sign-ins never use up an address's budget.
	for range 40 {
		if got := e.signInFrom(sprayer, f.Bob.Email, fixturePassword); len(got.Errors) > 0 {
			t.Fatalf("good sign-ins were limited: %s", got.raw)
		}
	}
	for i := range 30 {
		e.signInFrom(sprayer, fmt.Sprintf("user%d@example.org", i), "Summer2026!")
	}
	wrong := e.signInFrom(sprayer, "user99@example.org", "Summer2026!")
	if got := e.signInFrom(sprayer, f.Alice.Email, fixturePassword); string(got.raw) != string(wrong.raw) {
		t.Errorf("the sprayer's address still signs in: %s", got.raw)
	}
	if got := e.signInFrom(other, f.Alice.Email, fixturePassword); len(got.Errors) > 0 {
		t.Errorf("another address is slowed too: %s", got.raw)
	}
	e.clock.Advance(time.Minute)
	if got := e.signInFrom(sprayer, f.Alice.Email, fixturePassword); len(got.Errors) > 0 {
		t.Errorf("still refused a minute later: %s", got.raw)
	}
}
