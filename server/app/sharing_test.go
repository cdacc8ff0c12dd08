package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/breakglass"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
)

// sharingWorld is the fixture signed in, with what the sharing tests add
// to it through the service's own client.
type sharingWorld struct {
	t *testing.T
	e *testEnv
	f *fixture
	// Tokens of the fixture's people.
	alice, bob, carer, clinician string
}

func newSharingWorld(t *testing.T) *sharingWorld {
	t.Helper()
	e := newEnv(t)
	f := seed(t, e.store.Client, 6, e.clock.Now())
	return &sharingWorld{
		t: t, e: e, f: f,
		alice:     e.signIn(f.Alice.Email, fixturePassword),
		bob:       e.signIn(f.Bob.Email, fixturePassword),
		carer:     e.signIn(f.Carer.Email, fixturePassword),
		clinician: e.signIn(f.Clinician.Email, fixturePassword),
	}
}

// sys is a context in which the test reads and writes the store directly.
func (w *sharingWorld) sys() context.Context {
	return access.SystemContext(context.Background())
}

func (w *sharingWorld) db() *ent.Client { return w.e.store.Client }

func (w *sharingWorld) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// organisation adds an organisation.
func (w *sharingWorld) organisation(ods, name string, kind organisation.Kind, emergencyCare bool) pulid.ID {
	w.t.Helper()
	o, err := w.db().Organisation.Create().SetOdsCode(ods).SetName(name).SetKind(kind).
		SetEmergencyCare(emergencyCare).Save(w.sys())
	w.must(err)
	return o.ID
}

// staff adds an account with a role at an organisation and signs it in.
func (w *sharingWorld) staff(email, name string, org pulid.ID, role membership.Role) (pulid.ID, string) {
	w.t.Helper()
	acc, err := w.db().Account.Create().SetEmail(email).SetDisplayName(name).
		SetPasswordHash(fixtureHash(w.t)).Save(w.sys())
	w.must(err)
	w.role(acc.ID, org, role)
	return acc.ID, w.e.signIn(email, fixturePassword)
}

// role gives an existing account a role at an organisation.
func (w *sharingWorld) role(acc, org pulid.ID, role membership.Role) {
	w.t.Helper()
	w.must(w.db().Membership.Create().SetAccountID(acc).SetOrganisationID(org).SetRole(role).Exec(w.sys()))
}

// link links a patient's record to an organisation.
func (w *sharingWorld) link(patient, org pulid.ID) {
	w.t.Helper()
	w.must(w.db().PatientOrganisation.Create().SetPatientID(patient).SetOrganisationID(org).Exec(w.sys()))
}

// patientIDs lists the records a token's viewer may open.
func (w *sharingWorld) patientIDs(token string) []string {
	w.t.Helper()
	res := w.e.post(token, `{ viewer { patients { id } } }`, nil)
	if len(res.Errors) > 0 {
		w.t.Fatalf("viewer.patients: %s", res.raw)
	}
	var v struct {
		Viewer struct{ Patients []struct{ ID string } }
	}
	res.decode(w.t, &v)
	var ids []string
	for _, p := range v.Viewer.Patients {
		ids = append(ids, p.ID)
	}
	return ids
}

// notes returns the notifications of a kind written to an account.
func (w *sharingWorld) notes(to pulid.ID, kind notification.Kind) []*ent.Notification {
	w.t.Helper()
	ns, err := w.db().Notification.Query().
		Where(notification.RecipientAccountID(to), notification.KindEQ(kind)).All(w.sys())
	w.must(err)
	return ns
}

// audits returns the audit events of an action.
func (w *sharingWorld) audits(action string) []*ent.AuditEvent {
	w.t.Helper()
	es, err := w.db().AuditEvent.Query().Where(auditevent.Action(action)).All(w.sys())
	w.must(err)
	return es
}

// shareAudits returns the audit events of an action about a share.
func (w *sharingWorld) shareAudits(action string) []*ent.AuditEvent {
	w.t.Helper()
	es, err := w.db().AuditEvent.Query().Where(auditevent.Action(action), auditevent.ShareIDNotNil()).All(w.sys())
	w.must(err)
	return es
}

// mailCount is how many emails are queued in all.
func (w *sharingWorld) mailCount() int {
	w.t.Helper()
	n, err := w.db().MailMessage.Query().Count(w.sys())
	w.must(err)
	return n
}

// wantCode fails unless res is exactly one error with code.
func wantCode(t *testing.T, what string, res gqlResponse, code string) {
	t.Helper()
	if !slices.Equal(res.codes(), []string{code}) {
		t.Errorf("%s: want %s, got %s", what, code, res.raw)
	}
}

// sameAnswer fails unless two responses are byte for byte the same.
func sameAnswer(t *testing.T, what string, a, b gqlResponse) {
	t.Helper()
	if string(a.raw) != string(b.raw) {
		t.Errorf("%s answer differently:\n%s\n%s", what, a.raw, b.raw)
	}
}

// closeTo reports whether a GraphQL time is within a millisecond of want
// (MySQL keeps microseconds).
func closeTo(got string, want time.Time) bool {
	t, err := time.Parse(time.RFC3339Nano, got)
	return err == nil && t.Sub(want).Abs() < time.Millisecond
}

const (
	shareRecordMutation = `mutation($input: ShareRecordInput!) {
  shareRecord(input: $input) {
    id relationship status acceptedAt expiresAt revokedAt categories explanation
    grantee { displayName email organisation { name logoURL welcomeMessage } }
  }
}`
	updateShareMutation = `mutation($id: ID!, $input: UpdateShareInput!) {
  updateShare(id: $id, input: $input) { id status categories expiresAt explanation }
}`
	revokeShareMutation = `mutation($id: ID!) { revokeShare(id: $id) { id status revokedAt explanation } }`
	sharesQuery         = `query($id: ID!) { patient(id: $id) { shares(first: 50) { totalCount edges { node {
    id relationship status categories explanation grantee { displayName email organisation { name } } } } } } }`
	acceptShareMutation = `mutation($token: String!, $password: String!) {
  acceptInvitation(input: {token: $token, password: $password}) { token account { email } }
}`
	breakGlassMutation = `mutation($input: BreakGlassInput!) { breakGlass(input: $input) { expiresAt patient { id } } }`
	specialtyMutation  = `mutation($input: SpecialtyRuleInput!) { setSpecialtyRule(input: $input) { recomputed } }`
	relabelMutation    = `mutation($id: ID!, $c: Category!) { relabelRecord(id: $id, category: $c) {
    id ... on Symptom { category } ... on Allergy { category } ... on Appointment { category } } }`
	releaseMutation = `mutation($id: ID!) { releaseResult(id: $id) { id releasedAt } }`
	sharingSwitch   = `mutation($p: ID!, $o: ID!, $on: Boolean!) { setPatientSharing(patientId: $p, organisationId: $o, enabled: $on) }`
)

// shareNode is a share as the API answers it.
type shareNode struct {
	ID           string
	Relationship string
	Status       string
	AcceptedAt   *string
	ExpiresAt    *string
	RevokedAt    *string
	Categories   []string
	Explanation  string
	Grantee      struct {
		DisplayName  *string
		Email        *string
		Organisation *struct{ Name string }
	}
}

// shareRecord shares as token and returns the share; it fails on errors.
func (w *sharingWorld) shareRecord(token string, input map[string]any) shareNode {
	w.t.Helper()
	res := w.e.post(token, shareRecordMutation, map[string]any{"input": input})
	if len(res.Errors) > 0 {
		w.t.Fatalf("shareRecord %v: %s", input, res.raw)
	}
	var data struct{ ShareRecord shareNode }
	res.decode(w.t, &data)
	return data.ShareRecord
}

// shares lists a record's shares as token sees them.
func (w *sharingWorld) shares(token string, patient pulid.ID) map[string]shareNode {
	w.t.Helper()
	res := w.e.post(token, sharesQuery, map[string]any{"id": patient})
	if len(res.Errors) > 0 {
		w.t.Fatalf("shares: %s", res.raw)
	}
	var data struct {
		Patient *struct {
			Shares struct{ Edges []struct{ Node shareNode } }
		}
	}
	res.decode(w.t, &data)
	out := map[string]shareNode{}
	if data.Patient != nil {
		for _, e := range data.Patient.Shares.Edges {
			out[e.Node.ID] = e.Node
		}
	}
	return out
}

// internalIDPattern is the shape of any internal ID.
var internalIDPattern = regexp.MustCompile(`[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}`)

// clinicalTerms must never appear in an email, nor the fixture's names.
var clinicalTerms = []string{"mental", "sexual", "social care", "result", "appointment", "allerg", "headache",
	"clinic", "diagnos", "Alice", "Example", "Test Hospitals", "Trust", "carer", "family"}

func TestSharingWithAPersonAnswersAlikeWhetherOrNotTheEmailHasAnAccount(t *testing.T) {
	w := newSharingWorld(t)
	input := func(email string) map[string]any {
		return map[string]any{"patientId": w.f.Alice.PatientID, "email": email, "relationship": "CARER",
			"categories": []string{"MENTAL_HEALTH"}}
	}
	unknown := w.e.post(w.alice, shareRecordMutation, map[string]any{"input": input("New.Person@Example.org")})
	known := w.e.post(w.alice, shareRecordMutation, map[string]any{"input": input(w.f.Bob.Email)})
	if len(unknown.Errors) > 0 || len(known.Errors) > 0 {
		t.Fatalf("shareRecord: %s\n%s", unknown.raw, known.raw)
	}
	// Apart from its ID and the address, the answer is the same.
	mask := func(r gqlResponse, email string) string {
		var data struct{ ShareRecord map[string]any }
		r.decode(t, &data)
		delete(data.ShareRecord, "id")
		b, _ := json.Marshal(data.ShareRecord)
		return strings.ReplaceAll(string(b), email, "<email>")
	}
	if a, b := mask(unknown, "new.person@example.org"), mask(known, w.f.Bob.Email); a != b {
		t.Errorf("answers differ:\n%s\n%s", a, b)
	}
	var got struct{ ShareRecord shareNode }
	unknown.decode(t, &got)
	sh := got.ShareRecord
	if sh.Status != "PENDING" || sh.AcceptedAt != nil || sh.Grantee.Email == nil || *sh.Grantee.Email != "new.person@example.org" ||
		sh.Grantee.DisplayName != nil || !slices.Equal(sh.Categories, []string{"GENERAL", "MENTAL_HEALTH"}) ||
		!strings.HasPrefix(sh.Explanation, "Invitation sent ") {
		t.Errorf("pending share: %+v", sh)
	}

	for _, to := range []string{"new.person@example.org", w.f.Bob.Email} {
		mails := outbox(t, w.e, to)
		if len(mails) != 1 {
			t.Fatalf("%d emails to %s", len(mails), to)
		}
		m := mails[0]
		if m.Kind != "INVITATION_SHARE" || !strings.Contains(m.TextBody, "/invitation?token=") {
			t.Errorf("email to %s: %s %q", to, m.Kind, m.TextBody)
		}
		for _, text := range []string{m.Subject, m.TextBody} {
			if id := internalIDPattern.FindString(text); id != "" {
				t.Errorf("email to %s carries the internal ID %s", to, id)
			}
			for _, term := range clinicalTerms {
				if strings.Contains(strings.ToLower(text), strings.ToLower(term)) {
					t.Errorf("email to %s mentions %q: %q", to, term, text)
				}
			}
		}
		token := tokenIn(t, w.e, to)
		sum := sha256.Sum256([]byte(token))
		inv, err := w.db().Invitation.Query().Where(invitation.TokenHash(hex.EncodeToString(sum[:]))).Only(w.sys())
		if err != nil {
			t.Fatalf("no invitation stored by the token's hash: %v", err)
		}
		if inv.Purpose != invitation.PurposeSHARE || inv.Email != to || inv.PatientID != w.f.Alice.PatientID ||
			inv.OrganisationID != nil || inv.ExpiresAt.Sub(w.e.clock.Now().Add(14*24*time.Hour)).Abs() > time.Millisecond {
			t.Errorf("invitation: %+v", inv)
		}
		s, err := w.db().Share.Query().Where(share.InvitationID(inv.ID)).Only(w.sys())
		if err != nil {
			t.Fatal(err)
		}
		if s.AcceptedAt != nil || s.GranteeAccountID != nil || !s.MentalHealth || s.SexualHealth || s.SocialCare ||
			s.Relationship != share.RelationshipCARER {
			t.Errorf("share row: %+v", s)
		}
	}
	if n := len(w.notes(w.f.Alice.AccountID, notification.KindSHARE_OFFERED)); n != 2 {
		t.Errorf("%d SHARE_OFFERED notifications to the patient", n)
	}
	if n := len(w.shareAudits("SHARE_CREATED")); n != 2 {
		t.Errorf("%d SHARE_CREATED audit events", n)
	}
}

func TestAnAcceptedShareInvitationBecomesAnActiveShare(t *testing.T) {
	w := newSharingWorld(t)
	created := w.shareRecord(w.alice, map[string]any{"patientId": w.f.Alice.PatientID, "email": "dora@example.org",
		"relationship": "FAMILY", "categories": []string{"SOCIAL_CARE"}})
	byBob := w.shareRecord(w.alice, map[string]any{"patientId": w.f.Alice.PatientID, "email": w.f.Bob.Email,
		"relationship": "CARER"})

	// A new person registers with the link; an existing account gives its own password.
	res := w.e.post("", acceptShareMutation, map[string]any{"token": tokenIn(t, w.e, "dora@example.org"), "password": "a sound passphrase 42"})
	if len(res.Errors) > 0 {
		t.Fatalf("acceptInvitation (new account): %s", res.raw)
	}
	var accepted struct{ AcceptInvitation struct{ Token string } }
	res.decode(t, &accepted)
	dora := accepted.AcceptInvitation.Token
	res = w.e.post("", acceptShareMutation, map[string]any{"token": tokenIn(t, w.e, w.f.Bob.Email), "password": fixturePassword})
	if len(res.Errors) > 0 {
		t.Fatalf("acceptInvitation (existing account): %s", res.raw)
	}

	today := w.e.clock.Now().In(mustLondon(t)).Format(time.DateOnly)
	shares := w.shares(w.alice, w.f.Alice.PatientID)
	if got := shares[created.ID]; got.Status != "ACTIVE" || got.Explanation != "Family share since "+today+", covering GENERAL and SOCIAL_CARE" ||
		got.Grantee.Email == nil || *got.Grantee.Email != "dora@example.org" ||
		!slices.Equal(got.Categories, []string{"GENERAL", "SOCIAL_CARE"}) {
		t.Errorf("Dora's share as Alice sees it: %+v", got)
	}
	if got := shares[byBob.ID]; got.Status != "ACTIVE" || got.Grantee.DisplayName == nil || *got.Grantee.DisplayName != "Bob Example" ||
		got.Explanation != "Carer share since "+today+", covering GENERAL" {
		t.Errorf("Bob's share as Alice sees it: %+v", got)
	}
	if ids := w.patientIDs(dora); !slices.Contains(ids, string(w.f.Alice.PatientID)) {
		t.Errorf("Dora's viewer.patients after accepting: %v", ids)
	}
	if ids := w.patientIDs(w.bob); !slices.Equal(ids, []string{string(w.f.Bob.PatientID), string(w.f.Alice.PatientID)}) {
		t.Errorf("Bob's viewer.patients after accepting: %v (own record first, then Alice's)", ids)
	}
}

func TestOnlyTheOwnerChangesOrRevokesAShare(t *testing.T) {
	w := newSharingWorld(t)
	carerShare := w.f.AliceNodes["Share"][0]
	missing := pulid.New("sh")
	wider := map[string]any{"categories": []string{"MENTAL_HEALTH", "SEXUAL_HEALTH", "SOCIAL_CARE"}}

	// Another patient and a clinician cannot reach the share at all; the
	// grantee can read it but not change it.
	for _, tc := range []struct {
		name, token, code string
	}{
		{"another patient", w.bob, "NOT_FOUND"},
		{"a clinician", w.clinician, "NOT_FOUND"},
		{"the grantee", w.carer, "FORBIDDEN"},
	} {
		wantCode(t, tc.name+" updating", w.e.post(tc.token, updateShareMutation, map[string]any{"id": carerShare, "input": wider}), tc.code)
		wantCode(t, tc.name+" revoking", w.e.post(tc.token, revokeShareMutation, map[string]any{"id": carerShare}), tc.code)
	}
	sameAnswer(t, "another patient's share and a missing one",
		w.e.post(w.bob, revokeShareMutation, map[string]any{"id": carerShare}),
		w.e.post(w.bob, revokeShareMutation, map[string]any{"id": missing}))
	sh, err := w.db().Share.Get(w.sys(), carerShare)
	w.must(err)
	if sh.MentalHealth || sh.SexualHealth || sh.SocialCare || sh.RevokedAt != nil || sh.ExpiresAt != nil {
		t.Fatalf("a refused change changed the share: %+v", sh)
	}

	// The owner widens it and sets an expiry; the grantee is told.
	until := w.e.clock.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	res := w.e.post(w.alice, updateShareMutation, map[string]any{"id": carerShare,
		"input": map[string]any{"categories": []string{"MENTAL_HEALTH", "SEXUAL_HEALTH"}, "expiresAt": until.Format(time.RFC3339)}})
	var updated struct {
		UpdateShare struct {
			Status     string
			Categories []string
			ExpiresAt  *string
		}
	}
	res.decode(t, &updated)
	if len(res.Errors) > 0 || updated.UpdateShare.Status != "ACTIVE" || updated.UpdateShare.ExpiresAt == nil ||
		!closeTo(*updated.UpdateShare.ExpiresAt, until) ||
		!slices.Equal(updated.UpdateShare.Categories, []string{"GENERAL", "MENTAL_HEALTH", "SEXUAL_HEALTH"}) {
		t.Errorf("updateShare: %s", res.raw)
	}
	if n := len(w.notes(w.f.Carer.AccountID, notification.KindSHARE_CHANGED)); n != 1 {
		t.Errorf("%d SHARE_CHANGED notifications to the grantee", n)
	}
	wantCode(t, "expiry and clearExpiry together", w.e.post(w.alice, updateShareMutation, map[string]any{"id": carerShare,
		"input": map[string]any{"expiresAt": until.Format(time.RFC3339), "clearExpiry": true}}), "BAD_USER_INPUT")
	wantCode(t, "PRIVATE granted by an update", w.e.post(w.alice, updateShareMutation, map[string]any{"id": carerShare,
		"input": map[string]any{"categories": []string{"PRIVATE"}}}), "BAD_USER_INPUT")
	res = w.e.post(w.alice, updateShareMutation, map[string]any{"id": carerShare, "input": map[string]any{"clearExpiry": true}})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"expiresAt":null`) {
		t.Errorf("clearExpiry: %s", res.raw)
	}

	// The carer holds the record until the owner revokes the share; the
	// change applies from the carer's next request.
	if ids := w.patientIDs(w.carer); !slices.Contains(ids, string(w.f.Alice.PatientID)) {
		t.Errorf("the carer's viewer.patients before revoking: %v", ids)
	}
	res = w.e.post(w.alice, revokeShareMutation, map[string]any{"id": carerShare})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"status":"REVOKED"`) ||
		!strings.Contains(string(res.Data), "Carer share revoked on ") {
		t.Errorf("revokeShare: %s", res.raw)
	}
	if ids := w.patientIDs(w.carer); slices.Contains(ids, string(w.f.Alice.PatientID)) {
		t.Errorf("the carer still lists Alice after the revocation: %v", ids)
	}
	if again := w.e.post(w.alice, revokeShareMutation, map[string]any{"id": carerShare}); len(again.Errors) > 0 {
		t.Errorf("revoking twice: %s", again.raw)
	}
	if n := len(w.notes(w.f.Carer.AccountID, notification.KindSHARE_REVOKED)); n != 1 {
		t.Errorf("%d SHARE_REVOKED notifications to the grantee", n)
	}
	if n := len(w.audits("SHARE_REVOKED")); n != 1 {
		t.Errorf("%d SHARE_REVOKED audit events", n)
	}
	wantCode(t, "updating a revoked share", w.e.post(w.alice, updateShareMutation, map[string]any{"id": carerShare, "input": wider}), "BAD_USER_INPUT")
}

func TestRevokingAPendingShareRevokesItsInvitation(t *testing.T) {
	w := newSharingWorld(t)
	sh := w.shareRecord(w.alice, map[string]any{"patientId": w.f.Alice.PatientID, "email": "erin@example.org", "relationship": "FAMILY"})
	token := tokenIn(t, w.e, "erin@example.org")
	if res := w.e.post(w.alice, revokeShareMutation, map[string]any{"id": sh.ID}); len(res.Errors) > 0 {
		t.Fatalf("revokeShare: %s", res.raw)
	}
	wantCode(t, "accepting a revoked share's invitation",
		w.e.post("", acceptShareMutation, map[string]any{"token": token, "password": "a sound passphrase 42"}), "NOT_FOUND")
	inv, err := w.db().Invitation.Query().Where(invitation.Email("erin@example.org")).Only(w.sys())
	w.must(err)
	if inv.RevokedAt == nil || inv.AcceptedAt != nil {
		t.Errorf("invitation after revoking its share: %+v", inv)
	}
}

func TestShareInputIsValidatedAndChangesNothing(t *testing.T) {
	w := newSharingWorld(t)
	alice := w.f.Alice.PatientID
	org := string(w.f.OrgID)
	past := w.e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	for _, tc := range []struct {
		name  string
		token string
		input map[string]any
		code  string
	}{
		{"PRIVATE is never granted", w.alice, map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER", "categories": []string{"MENTAL_HEALTH", "PRIVATE"}}, "BAD_USER_INPUT"},
		{"RESTRICTED is not granted on its own", w.alice, map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER", "categories": []string{"RESTRICTED"}}, "BAD_USER_INPUT"},
		{"an email and an organisation together", w.alice, map[string]any{"patientId": alice, "email": "x@example.org", "organisationId": org, "relationship": "ORGANISATION"}, "BAD_USER_INPUT"},
		{"neither an email nor an organisation", w.alice, map[string]any{"patientId": alice, "relationship": "CARER"}, "BAD_USER_INPUT"},
		{"a person as ORGANISATION", w.alice, map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "ORGANISATION"}, "BAD_USER_INPUT"},
		{"an organisation as CARER", w.alice, map[string]any{"patientId": alice, "organisationId": org, "relationship": "CARER"}, "BAD_USER_INPUT"},
		{"not an email address", w.alice, map[string]any{"patientId": alice, "email": "not an address", "relationship": "CARER"}, "BAD_USER_INPUT"},
		{"an expiry in the past", w.alice, map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER", "expiresAt": past}, "BAD_USER_INPUT"},
		{"an unknown organisation", w.alice, map[string]any{"patientId": alice, "organisationId": pulid.New("og"), "relationship": "ORGANISATION"}, "BAD_USER_INPUT"},
		{"sharing with oneself", w.alice, map[string]any{"patientId": alice, "email": "ALICE@example.org", "relationship": "FAMILY"}, "BAD_USER_INPUT"},
		{"another patient's record", w.bob, map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER"}, "NOT_FOUND"},
		{"a grantee passing the record on", w.carer, map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER"}, "NOT_FOUND"},
		{"signed out", "", map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER"}, "UNAUTHENTICATED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.name, w.e.post(tc.token, shareRecordMutation, map[string]any{"input": tc.input}), tc.code)
		})
	}
	sameAnswer(t, "another patient's record and a missing one",
		w.e.post(w.bob, shareRecordMutation, map[string]any{"input": map[string]any{"patientId": alice, "email": "x@example.org", "relationship": "CARER"}}),
		w.e.post(w.bob, shareRecordMutation, map[string]any{"input": map[string]any{"patientId": pulid.New("pt"), "email": "x@example.org", "relationship": "CARER"}}))
	if n, err := w.db().Share.Query().Count(w.sys()); err != nil || n != 1 {
		t.Errorf("%d shares after refusals (want the fixture's one): %v", n, err)
	}
	if n := w.mailCount(); n != 0 {
		t.Errorf("%d emails after refusals", n)
	}
}

func TestAnOrganisationShareIsActiveAtOnce(t *testing.T) {
	w := newSharingWorld(t)
	gp := w.organisation("G00001", "Hillside Surgery", organisation.KindGP_PRACTICE, false)
	_, gpDoctor := w.staff("gp@example.org", "Dr Hill", gp, membership.RoleCLINICIAN)
	if res := w.e.post(gpDoctor, `query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": w.f.Alice.PatientID}); !strings.Contains(string(res.Data), `"patient":null`) {
		t.Fatalf("the GP sees Alice before any share: %s", res.raw)
	}
	sh := w.shareRecord(w.alice, map[string]any{"patientId": w.f.Alice.PatientID, "organisationId": gp,
		"relationship": "ORGANISATION", "categories": []string{"MENTAL_HEALTH"}})
	today := w.e.clock.Now().In(mustLondon(t)).Format(time.DateOnly)
	if sh.Status != "ACTIVE" || sh.AcceptedAt == nil || !closeTo(*sh.AcceptedAt, w.e.clock.Now()) ||
		sh.Grantee.Organisation == nil || sh.Grantee.Organisation.Name != "Hillside Surgery" || sh.Grantee.Email != nil ||
		sh.Explanation != "Organisation share since "+today+", covering GENERAL and MENTAL_HEALTH" {
		t.Errorf("organisation share: %+v", sh)
	}
	if n := w.mailCount(); n != 0 {
		t.Errorf("%d emails for an organisation share", n)
	}
	wantCode(t, "a second live share with the same organisation", w.e.post(w.alice, shareRecordMutation, map[string]any{"input": map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": gp, "relationship": "ORGANISATION"}}), "BAD_USER_INPUT")
	// From the next request the organisation's clinicians open the record.
	if res := w.e.post(gpDoctor, `query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": w.f.Alice.PatientID}); !strings.Contains(string(res.Data), string(w.f.Alice.PatientID)) {
		t.Errorf("the GP's clinician after the share: %s", res.raw)
	}
}

func TestAClinicianOfALinkedOrganisationMayAddOnlyACarerOrFamily(t *testing.T) {
	w := newSharingWorld(t)
	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	_, stranger := w.staff("other@example.org", "Dr Other", other, membership.RoleCLINICIAN)
	person := func(rel string) map[string]any {
		return map[string]any{"input": map[string]any{"patientId": w.f.Alice.PatientID, "email": "fred@example.org", "relationship": rel}}
	}
	sh := w.shareRecord(w.clinician, person("CARER")["input"].(map[string]any))
	if sh.Status != "PENDING" || sh.Relationship != "CARER" {
		t.Errorf("a clinician's carer share: %+v", sh)
	}
	if len(outbox(t, w.e, "fred@example.org")) != 1 {
		t.Errorf("no invitation to the carer")
	}
	wantCode(t, "a clinician adding a professional", w.e.post(w.clinician, shareRecordMutation, person("PROFESSIONAL")), "FORBIDDEN")
	wantCode(t, "a clinician adding an organisation", w.e.post(w.clinician, shareRecordMutation, map[string]any{"input": map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": other, "relationship": "ORGANISATION"}}), "FORBIDDEN")
	wantCode(t, "a clinician of an organisation not linked to the record", w.e.post(stranger, shareRecordMutation, person("CARER")), "NOT_FOUND")

	created := w.shareAudits("SHARE_CREATED")
	if len(created) != 1 || created[0].ActorOrganisationID == nil || *created[0].ActorOrganisationID != w.f.OrgID ||
		*created[0].ActorAccountID != w.f.Clinician.AccountID {
		t.Errorf("audit of a clinician's share: %+v", created)
	}
	if n := len(w.notes(w.f.Alice.AccountID, notification.KindSHARE_OFFERED)); n != 1 {
		t.Errorf("the patient got %d SHARE_OFFERED notifications", n)
	}
}

func TestAPrivacyOfficerOfALinkedOrganisationSwitchesSharing(t *testing.T) {
	w := newSharingWorld(t)
	alice := w.f.Alice.PatientID
	_, po := w.staff("po@example.org", "Pat Officer", w.f.OrgID, membership.RolePRIVACY_OFFICER)
	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	_, otherPO := w.staff("po2@example.org", "Other Officer", other, membership.RolePRIVACY_OFFICER)
	vars := func(org pulid.ID, on bool) map[string]any { return map[string]any{"p": alice, "o": org, "on": on} }

	wantCode(t, "a clinician", w.e.post(w.clinician, sharingSwitch, vars(w.f.OrgID, false)), "FORBIDDEN")
	wantCode(t, "the patient", w.e.post(w.alice, sharingSwitch, vars(w.f.OrgID, false)), "FORBIDDEN")
	wantCode(t, "a privacy officer of another organisation", w.e.post(otherPO, sharingSwitch, vars(w.f.OrgID, false)), "FORBIDDEN")
	wantCode(t, "a privacy officer of an organisation not linked to the record", w.e.post(otherPO, sharingSwitch, vars(other, false)), "NOT_FOUND")
	pt, err := w.db().Patient.Get(w.sys(), alice)
	w.must(err)
	if pt.SharingDisabledAt != nil {
		t.Fatalf("a refused switch turned sharing off")
	}

	if res := w.e.post(po, sharingSwitch, vars(w.f.OrgID, false)); len(res.Errors) > 0 || !strings.Contains(string(res.Data), "true") {
		t.Fatalf("turning sharing off: %s", res.raw)
	}
	pt, err = w.db().Patient.Get(w.sys(), alice)
	w.must(err)
	if pt.SharingDisabledAt == nil || pt.SharingDisabledByOrganisationID == nil || *pt.SharingDisabledByOrganisationID != w.f.OrgID {
		t.Errorf("after turning sharing off: %+v", pt)
	}
	wantCode(t, "the patient sharing while sharing is off", w.e.post(w.alice, shareRecordMutation, map[string]any{"input": map[string]any{
		"patientId": alice, "email": "x@example.org", "relationship": "CARER"}}), "FORBIDDEN")
	if ids := w.patientIDs(w.carer); slices.Contains(ids, string(alice)) {
		t.Errorf("the carer still opens the record with sharing off: %v", ids)
	}

	// Another linked organisation cannot undo the decision.
	w.link(alice, other)
	wantCode(t, "another linked organisation turning sharing on", w.e.post(otherPO, sharingSwitch, vars(other, true)), "FORBIDDEN")
	if res := w.e.post(po, sharingSwitch, vars(w.f.OrgID, true)); len(res.Errors) > 0 {
		t.Fatalf("turning sharing on: %s", res.raw)
	}
	pt, err = w.db().Patient.Get(w.sys(), alice)
	w.must(err)
	if pt.SharingDisabledAt != nil || pt.SharingDisabledByOrganisationID != nil {
		t.Errorf("after turning sharing on: %+v", pt)
	}
	if ids := w.patientIDs(w.carer); !slices.Contains(ids, string(alice)) {
		t.Errorf("the carer does not open the record again: %v", ids)
	}
	if off, on := len(w.audits("SHARING_DISABLED")), len(w.audits("SHARING_ENABLED")); off != 1 || on != 1 {
		t.Errorf("%d SHARING_DISABLED and %d SHARING_ENABLED audit events", off, on)
	}
}

func TestBreakingTheGlass(t *testing.T) {
	w := newSharingWorld(t)
	ed := w.organisation("RED", "Riverside Emergency Department", organisation.KindTRUST, true)
	edDoctorID, edDoctor := w.staff("ed@example.org", "Dr Emergency", ed, membership.RoleCLINICIAN)
	_, edAdmin := w.staff("edadmin@example.org", "Ed Admin", ed, membership.RoleADMIN)
	// Bob's record has sharing turned off.
	w.must(w.db().Patient.UpdateOneID(w.f.Bob.PatientID).SetSharingDisabledAt(w.e.clock.Now()).
		SetSharingDisabledByOrganisationID(w.f.OrgID).Exec(w.sys()))
	in := func(patient, org pulid.ID, reason string) map[string]any {
		return map[string]any{"input": map[string]any{"patientId": patient, "organisationId": org, "reason": reason}}
	}
	const reason = "Unconscious on arrival, no history available"

	for _, tc := range []struct {
		name, token string
		vars        map[string]any
		code        string
	}{
		{"a clinician of an organisation without emergency care", w.clinician, in(w.f.Alice.PatientID, w.f.OrgID, reason), "FORBIDDEN"},
		{"a professional who is not a clinician there", edAdmin, in(w.f.Alice.PatientID, ed, reason), "FORBIDDEN"},
		{"a clinician acting for another organisation", w.clinician, in(w.f.Alice.PatientID, ed, reason), "FORBIDDEN"},
		{"a patient", w.alice, in(w.f.Bob.PatientID, ed, reason), "FORBIDDEN"},
		{"no reason", edDoctor, in(w.f.Alice.PatientID, ed, "   "), "BAD_USER_INPUT"},
		{"a reason too long", edDoctor, in(w.f.Alice.PatientID, ed, strings.Repeat("x", 1001)), "BAD_USER_INPUT"},
		{"a patient whose sharing is off", edDoctor, in(w.f.Bob.PatientID, ed, reason), "FORBIDDEN"},
		{"a missing patient", edDoctor, in(pulid.New("pt"), ed, reason), "FORBIDDEN"},
		{"signed out", "", in(w.f.Alice.PatientID, ed, reason), "UNAUTHENTICATED"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, breakGlassMutation, tc.vars), tc.code)
	}
	sameAnswer(t, "a patient whose sharing is off and a missing patient",
		w.e.post(edDoctor, breakGlassMutation, in(w.f.Bob.PatientID, ed, reason)),
		w.e.post(edDoctor, breakGlassMutation, in(pulid.New("pt"), ed, reason)))
	if n, _ := w.db().BreakGlass.Query().Count(w.sys()); n != 0 {
		t.Fatalf("%d break-glass windows after refusals", n)
	}

	res := w.e.post(edDoctor, breakGlassMutation, in(w.f.Alice.PatientID, ed, "  "+reason+"  "))
	if len(res.Errors) > 0 {
		t.Fatalf("breakGlass: %s", res.raw)
	}
	var payload struct{ BreakGlass struct{ ExpiresAt string } }
	res.decode(t, &payload)
	now := w.e.clock.Now()
	if !closeTo(payload.BreakGlass.ExpiresAt, now.Add(30*time.Minute)) {
		t.Errorf("expiresAt %s, want 30 minutes from now", payload.BreakGlass.ExpiresAt)
	}
	bg, err := w.db().BreakGlass.Query().Where(breakglass.PatientID(w.f.Alice.PatientID)).Only(w.sys())
	w.must(err)
	if bg.AccountID != edDoctorID || bg.OrganisationID != ed || bg.Reason != reason ||
		bg.StartedAt.Sub(now).Abs() > time.Millisecond || bg.ExpiresAt.Sub(now.Add(30*time.Minute)).Abs() > time.Millisecond {
		t.Errorf("break-glass row: %+v", bg)
	}
	events := w.audits("BREAK_GLASS")
	if len(events) != 1 || !events[0].BreakGlass || events[0].Reason == nil || *events[0].Reason != reason ||
		*events[0].ActorAccountID != edDoctorID || *events[0].ActorOrganisationID != ed || *events[0].PatientID != w.f.Alice.PatientID {
		t.Errorf("audit events: %+v", events)
	}
	// The patient and the carer are told; nothing says which service.
	all, err := w.db().Notification.Query().Where(notification.KindEQ(notification.KindGLASS_BROKEN)).All(w.sys())
	w.must(err)
	var to []pulid.ID
	for _, n := range all {
		to = append(to, n.RecipientAccountID)
		if n.PatientID != w.f.Alice.PatientID || n.Category != category.General || n.SubjectID != nil {
			t.Errorf("GLASS_BROKEN notification: %+v", n)
		}
	}
	slices.Sort(to)
	want := []pulid.ID{w.f.Alice.AccountID, w.f.Carer.AccountID}
	slices.Sort(want)
	if !slices.Equal(to, want) {
		t.Errorf("GLASS_BROKEN sent to %v, want the patient and the carer %v", to, want)
	}
	if n := w.mailCount(); n != 0 {
		t.Errorf("%d emails", n)
	}

	// The patient sees who broke the glass, and why, in the access log.
	log := w.e.post(w.alice, `query($id: ID!) { patient(id: $id) { accessLog(first: 50) { edges { node {
	  action breakGlass reason actorName organisation { name } } } } } }`, map[string]any{"id": w.f.Alice.PatientID})
	if !strings.Contains(string(log.Data), `{"action":"BREAK_GLASS","breakGlass":true,"reason":"`+reason+`","actorName":"Dr Emergency","organisation":{"name":"Riverside Emergency Department"}}`) {
		t.Errorf("access log: %s", log.raw)
	}
	// From the next request the window opens the record.
	if res := w.e.post(edDoctor, `query($id: ID!) { patient(id: $id) { id } }`, map[string]any{"id": w.f.Alice.PatientID}); !strings.Contains(string(res.Data), string(w.f.Alice.PatientID)) {
		t.Errorf("the ED clinician inside the window: %s", res.raw)
	}
}

func TestASpecialtyRuleRelabelsTheRecordsItCovers(t *testing.T) {
	w := newSharingWorld(t)
	ctx := w.sys()
	trust := w.f.OrgID
	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	_, po := w.staff("po@example.org", "Pat Officer", trust, membership.RolePRIVACY_OFFICER)
	_, admin := w.staff("admin@example.org", "Ada Admin", trust, membership.RoleADMIN)
	at := w.e.clock.Now().Add(48 * time.Hour)
	// Records the source gave no label of their own, so that rules decide.
	appt := func(patient pulid.ID, org pulid.ID, specialty, clinic *string, assigned *category.Category) pulid.ID {
		a, err := w.db().Appointment.Create().SetPatientID(patient).SetSourceOrganisationID(org).SetTitle("Clinic visit").
			SetStartsAt(at).SetNillableSpecialty(specialty).SetNillableClinicCode(clinic).
			SetNillableAssignedCategory(assigned).Save(ctx)
		w.must(err)
		return a.ID
	}
	enc := func(kind encounter.Kind, status encounter.Status, specialty, clinic *string) pulid.ID {
		e, err := w.db().Encounter.Create().SetPatientID(w.f.Alice.PatientID).SetSourceOrganisationID(trust).
			SetKind(kind).SetStatus(status).SetStartedAt(at).SetNillableSpecialty(specialty).SetNillableClinicCode(clinic).
			Save(ctx)
		w.must(err)
		return e.ID
	}
	s := func(v string) *string { return &v }
	mh := category.MentalHealth
	gum := appt(w.f.Alice.PatientID, trust, nil, s("GUM"), nil)
	bobGum := appt(w.f.Bob.PatientID, trust, nil, s("GUM"), nil)
	assigned := appt(w.f.Alice.PatientID, trust, nil, s("GUM"), &mh)
	elsewhere := appt(w.f.Alice.PatientID, other, nil, s("GUM"), nil)
	psychGum := appt(w.f.Alice.PatientID, trust, s("Psychiatry"), s("GUM"), nil)
	otherCase := appt(w.f.Alice.PatientID, trust, nil, s("gum"), nil)
	waiting := enc(encounter.KindEMERGENCY, encounter.StatusARRIVED, nil, s("GUM"))
	seen := enc(encounter.KindEMERGENCY, encounter.StatusSEEN, nil, s("GUM"))
	ward := enc(encounter.KindINPATIENT, encounter.StatusADMITTED, s("Psychiatry"), nil)
	booked, err := w.db().Notification.Create().SetRecipientAccountID(w.f.Carer.AccountID).SetPatientID(w.f.Alice.PatientID).
		SetKind(notification.KindAPPOINTMENT_BOOKED).SetSubjectID(gum).SetCategory(category.General).Save(ctx)
	w.must(err)

	categories := func() map[pulid.ID]category.Category {
		got := map[pulid.ID]category.Category{}
		aps, err := w.db().Appointment.Query().Where(appointment.IDIn(gum, bobGum, assigned, elsewhere, psychGum, otherCase)).All(ctx)
		w.must(err)
		for _, a := range aps {
			got[a.ID] = a.Category
		}
		ens, err := w.db().Encounter.Query().Where(encounter.IDIn(waiting, seen, ward)).All(ctx)
		w.must(err)
		for _, e := range ens {
			got[e.ID] = e.Category
		}
		return got
	}
	set := func(token string, rule map[string]any) int {
		t.Helper()
		res := w.e.post(token, specialtyMutation, map[string]any{"input": rule})
		if len(res.Errors) > 0 {
			t.Fatalf("setSpecialtyRule %v: %s", rule, res.raw)
		}
		var data struct{ SetSpecialtyRule struct{ Recomputed int } }
		res.decode(t, &data)
		return data.SetSpecialtyRule.Recomputed
	}
	check := func(step string, want map[pulid.ID]category.Category) {
		t.Helper()
		got := categories()
		for id, c := range want {
			if got[id] != c {
				t.Errorf("%s: %s is %s, want %s", step, id, got[id], c)
			}
		}
	}

	for _, tc := range []struct {
		name, token string
		rule        map[string]any
		code        string
	}{
		{"a clinician", w.clinician, map[string]any{"organisationId": trust, "clinicCode": "GUM", "category": "SEXUAL_HEALTH"}, "FORBIDDEN"},
		{"a patient", w.alice, map[string]any{"organisationId": trust, "clinicCode": "GUM", "category": "SEXUAL_HEALTH"}, "FORBIDDEN"},
		{"the privacy officer of another organisation", po, map[string]any{"organisationId": other, "clinicCode": "GUM", "category": "SEXUAL_HEALTH"}, "FORBIDDEN"},
		{"both a specialty and a clinic", po, map[string]any{"organisationId": trust, "specialty": "Psychiatry", "clinicCode": "GUM", "category": "SEXUAL_HEALTH"}, "BAD_USER_INPUT"},
		{"neither a specialty nor a clinic", po, map[string]any{"organisationId": trust, "category": "SEXUAL_HEALTH"}, "BAD_USER_INPUT"},
		{"a PRIVATE rule", po, map[string]any{"organisationId": trust, "clinicCode": "GUM", "category": "PRIVATE"}, "BAD_USER_INPUT"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, specialtyMutation, map[string]any{"input": tc.rule}), tc.code)
	}
	check("before any rule", map[pulid.ID]category.Category{
		gum: category.General, bobGum: category.General, assigned: category.MentalHealth, elsewhere: category.General,
		psychGum: category.General, otherCase: category.General, waiting: category.General, seen: category.General, ward: category.General,
	})

	// GUM is a sexual health clinic: the trust's GUM appointments and seen
	// attendances follow, an assigned label and an unseen ED attendance
	// do not, nor another organisation's records. Codes match exactly, as
	// when a record is stored.
	if n := set(po, map[string]any{"organisationId": trust, "clinicCode": "GUM", "category": "SEXUAL_HEALTH"}); n != 4 {
		t.Errorf("GUM rule recomputed %d records, want 4", n)
	}
	check("GUM rule", map[pulid.ID]category.Category{
		gum: category.SexualHealth, bobGum: category.SexualHealth, psychGum: category.SexualHealth, seen: category.SexualHealth,
		assigned: category.MentalHealth, elsewhere: category.General, waiting: category.General, ward: category.General,
		otherCase: category.General,
	})
	n, err := w.db().Notification.Get(ctx, booked.ID)
	w.must(err)
	if n.Category != category.SexualHealth {
		t.Errorf("the notification about a relabelled appointment stays %s", n.Category)
	}
	res := w.e.post(w.alice, `query($id: ID!) { node(id: $id) { ... on Appointment { category } } }`, map[string]any{"id": gum})
	if !strings.Contains(string(res.Data), `"category":"SEXUAL_HEALTH"`) {
		t.Errorf("the appointment as its patient sees it: %s", res.raw)
	}

	// A specialty rule yields to a clinic rule on the same record.
	if n := set(admin, map[string]any{"organisationId": trust, "specialty": "Psychiatry", "category": "MENTAL_HEALTH"}); n != 1 {
		t.Errorf("Psychiatry rule recomputed %d records, want 1", n)
	}
	check("Psychiatry rule", map[pulid.ID]category.Category{ward: category.MentalHealth, psychGum: category.SexualHealth})

	// Setting the rule again with the same label changes nothing; changing
	// it back recomputes again.
	if n := set(po, map[string]any{"organisationId": trust, "clinicCode": " GUM ", "category": "SEXUAL_HEALTH"}); n != 0 {
		t.Errorf("the same rule again recomputed %d records", n)
	}
	if n := set(po, map[string]any{"organisationId": trust, "clinicCode": "GUM", "category": "GENERAL"}); n != 4 {
		t.Errorf("GUM back to GENERAL recomputed %d records, want 4", n)
	}
	check("GUM back to GENERAL", map[pulid.ID]category.Category{
		gum: category.General, bobGum: category.General, psychGum: category.General, seen: category.General,
		assigned: category.MentalHealth, ward: category.MentalHealth,
	})
	if rules, err := w.db().SpecialtyRule.Query().Count(ctx); err != nil || rules != 2 {
		t.Errorf("%d rules, want 2 (GUM and Psychiatry): %v", rules, err)
	}
	if n, err := w.db().Notification.Get(ctx, booked.ID); err != nil || n.Category != category.General {
		t.Errorf("the notification did not follow back: %+v %v", n, err)
	}
	if n := len(w.audits("SPECIALTY_RULE_SET")); n != 4 {
		t.Errorf("%d SPECIALTY_RULE_SET audit events, want 4", n)
	}
}

func TestThePatientRelabelsOnlyTheirOwnEntries(t *testing.T) {
	w := newSharingWorld(t)
	ctx := w.sys()
	// Item 0 of each list is GENERAL, so the carer sees it.
	symptom := w.f.AliceNodes["Symptom"][0]
	own, err := w.db().Allergy.Create().SetPatientID(w.f.Alice.PatientID).SetSubstance("Peanuts").
		SetRecordedBy(allergy.RecordedByPATIENT).SetRecordedAt(w.e.clock.Now()).SetCategory(category.General).Save(ctx)
	w.must(err)
	nodeQuery := `query($id: ID!) { node(id: $id) { id } }`
	if res := w.e.post(w.carer, nodeQuery, map[string]any{"id": symptom}); !strings.Contains(string(res.Data), string(symptom)) {
		t.Errorf("the carer does not see the GENERAL symptom before it is relabelled: %s", res.raw)
	}

	for _, tc := range []struct {
		name, token string
		id          pulid.ID
		code        string
	}{
		{"a trust appointment", w.alice, w.f.AliceNodes["Appointment"][0], "FORBIDDEN"},
		{"a trust allergy", w.alice, w.f.AliceNodes["Allergy"][0], "FORBIDDEN"},
		{"a letter", w.alice, w.f.AliceNodes["Letter"][0], "FORBIDDEN"},
		{"another patient's symptom", w.alice, w.f.BobNodes["Symptom"][0], "NOT_FOUND"},
		{"a missing symptom", w.alice, pulid.New("sy"), "NOT_FOUND"},
		{"the carer relabelling what they see", w.carer, symptom, "FORBIDDEN"},
		{"a malformed ID", w.alice, "sy123", "BAD_USER_INPUT"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, relabelMutation, map[string]any{"id": tc.id, "c": "PRIVATE"}), tc.code)
	}
	sameAnswer(t, "another patient's symptom and a missing one",
		w.e.post(w.alice, relabelMutation, map[string]any{"id": w.f.BobNodes["Symptom"][0], "c": "PRIVATE"}),
		w.e.post(w.alice, relabelMutation, map[string]any{"id": pulid.New("sy"), "c": "PRIVATE"}))
	if ap, err := w.db().Appointment.Get(ctx, w.f.AliceNodes["Appointment"][0]); err != nil || ap.Category != category.General ||
		ap.AssignedCategory == nil || *ap.AssignedCategory != category.General {
		t.Errorf("a refused relabel changed the appointment: %+v %v", ap, err)
	}

	res := w.e.post(w.alice, relabelMutation, map[string]any{"id": symptom, "c": "PRIVATE"})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"category":"PRIVATE"`) {
		t.Fatalf("relabelling a symptom PRIVATE: %s", res.raw)
	}
	sy, err := w.db().Symptom.Get(ctx, symptom)
	w.must(err)
	if sy.AssignedCategory == nil || *sy.AssignedCategory != category.Private || sy.Category != category.Private {
		t.Errorf("symptom after relabel: %+v", sy)
	}
	if res := w.e.post(w.carer, nodeQuery, map[string]any{"id": symptom}); !strings.Contains(string(res.Data), `"node":null`) {
		t.Errorf("the carer still sees a PRIVATE symptom: %s", res.raw)
	}
	res = w.e.post(w.alice, relabelMutation, map[string]any{"id": own.ID, "c": "SOCIAL_CARE"})
	if len(res.Errors) > 0 || !strings.Contains(string(res.Data), `"category":"SOCIAL_CARE"`) {
		t.Errorf("relabelling a self-reported allergy: %s", res.raw)
	}
}

func TestAResultIsReleasedOnlyByTheRequestingOrganisation(t *testing.T) {
	w := newSharingWorld(t)
	ctx := w.sys()
	now := w.e.clock.Now()
	later := now.Add(7 * 24 * time.Hour)
	held, err := w.db().Result.Create().SetPatientID(w.f.Alice.PatientID).SetSourceOrganisationID(w.f.OrgID).
		SetCategory(category.MentalHealth).SetName("Lithium level").SetTakenAt(now).SetReportedAt(now).
		SetReleaseAt(later).SetVisibleFrom(later).Save(ctx)
	w.must(err)
	never, err := w.db().Result.Create().SetPatientID(w.f.Alice.PatientID).SetSourceOrganisationID(w.f.OrgID).
		SetCategory(category.General).SetName("Screening").SetTakenAt(now).SetReportedAt(now).SetNeverRelease(true).Save(ctx)
	w.must(err)
	other := w.organisation("RYY", "Other Trust", organisation.KindTRUST, false)
	w.link(w.f.Alice.PatientID, other)
	_, otherDoctor := w.staff("other@example.org", "Dr Other", other, membership.RoleCLINICIAN)

	for _, tc := range []struct {
		name, token string
		id          pulid.ID
		code        string
	}{
		{"a clinician of another organisation", otherDoctor, held.ID, "NOT_FOUND"},
		{"the patient", w.alice, held.ID, "NOT_FOUND"},
		{"a missing result", w.clinician, pulid.New("rs"), "NOT_FOUND"},
		{"a result never released", w.clinician, never.ID, "FORBIDDEN"},
	} {
		wantCode(t, tc.name, w.e.post(tc.token, releaseMutation, map[string]any{"id": tc.id}), tc.code)
	}
	sameAnswer(t, "another organisation's result and a missing one",
		w.e.post(otherDoctor, releaseMutation, map[string]any{"id": held.ID}),
		w.e.post(otherDoctor, releaseMutation, map[string]any{"id": pulid.New("rs")}))
	if r, _ := w.db().Result.Get(ctx, held.ID); r.ReleasedAt != nil {
		t.Fatalf("a refused release released the result")
	}

	w.e.clock.Advance(time.Minute)
	res := w.e.post(w.clinician, releaseMutation, map[string]any{"id": held.ID})
	if len(res.Errors) > 0 {
		t.Fatalf("releaseResult: %s", res.raw)
	}
	released := w.e.clock.Now()
	r, err := w.db().Result.Get(ctx, held.ID)
	w.must(err)
	if r.ReleasedAt == nil || r.ReleasedAt.Sub(released).Abs() > time.Millisecond || r.VisibleFrom == nil || !r.VisibleFrom.Equal(*r.ReleasedAt) {
		t.Errorf("result after release: releasedAt %v visibleFrom %v", r.ReleasedAt, r.VisibleFrom)
	}
	var data struct {
		ReleaseResult *struct {
			ID         string
			ReleasedAt *string
		}
	}
	res.decode(t, &data)
	if data.ReleaseResult == nil || data.ReleaseResult.ReleasedAt == nil || !closeTo(*data.ReleaseResult.ReleasedAt, released) {
		t.Errorf("releaseResult as the requesting clinician reads it: %s", res.raw)
	}
	notes := w.notes(w.f.Alice.AccountID, notification.KindRESULT_RELEASED)
	if len(notes) != 1 || notes[0].Category != category.MentalHealth || notes[0].SubjectID == nil || *notes[0].SubjectID != held.ID {
		t.Errorf("RESULT_RELEASED notifications: %+v", notes)
	}
	if res := w.e.post(w.clinician, releaseMutation, map[string]any{"id": held.ID}); len(res.Errors) > 0 {
		t.Errorf("releasing again: %s", res.raw)
	}
	if n := len(w.notes(w.f.Alice.AccountID, notification.KindRESULT_RELEASED)); n != 1 {
		t.Errorf("releasing again notified again: %d", n)
	}
	if n := w.mailCount(); n != 0 {
		t.Errorf("%d emails", n)
	}
}

func TestThePatientResendsAndCancelsAPendingShareInvitation(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	alice := e.signIn(f.Alice.Email, fixturePassword)
	res := e.post(alice, `mutation($p: ID!) { shareRecord(input: {patientId: $p, email: "friend@example.org", relationship: FAMILY}) {
	  id status invitation { id email sendCount } } }`, map[string]any{"p": string(f.Alice.PatientID)})
	var data struct {
		ShareRecord struct {
			ID, Status string
			Invitation struct {
				ID, Email string
				SendCount int
			}
		}
	}
	res.decode(t, &data)
	sh := data.ShareRecord
	if sh.Status != "PENDING" || sh.Invitation.Email != "friend@example.org" || sh.Invitation.SendCount != 1 {
		t.Fatalf("share: %s", res.raw)
	}
	first := tokenIn(t, e, "friend@example.org")
	if got := e.post(alice, `mutation($id: ID!) { resendInvitation(id: $id) { sendCount } }`, map[string]any{"id": sh.Invitation.ID}); !strings.Contains(string(got.Data), `"sendCount":2`) {
		t.Fatalf("resend: %s", got.raw)
	}
	second := tokenIn(t, e, "friend@example.org")
	if first == second || !strings.Contains(outbox(t, e, "friend@example.org")[1].TextBody, "part of a health record") {
		t.Error("the resent email is not a new share invitation")
	}
	// Bob cannot touch Alice's invitation.
	bob := e.signIn(f.Bob.Email, fixturePassword)
	if got := e.post(bob, `mutation($id: ID!) { revokeInvitation(id: $id) { id } }`, map[string]any{"id": sh.Invitation.ID}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("Bob cancelled Alice's invitation: %s", got.raw)
	}
	if got := e.post(alice, `mutation($id: ID!) { revokeInvitation(id: $id) { revokedAt } }`, map[string]any{"id": sh.Invitation.ID}); len(got.Errors) > 0 {
		t.Fatalf("cancel: %s", got.raw)
	}
	got := e.post(alice, `query($id: ID!) { node(id: $id) { ... on Share { status } } }`, map[string]any{"id": sh.ID})
	if string(got.Data) != `{"node":{"status":"REVOKED"}}` {
		t.Errorf("share after cancelling its invitation: %s", got.raw)
	}
	if got := e.post("", acceptMutation, map[string]any{"token": second, "password": "a sound passphrase 42"}); !slices.Equal(got.codes(), []string{"NOT_FOUND"}) {
		t.Errorf("accepting a cancelled invitation: %s", got.raw)
	}
}
