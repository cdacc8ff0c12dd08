package app_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	portalmail "github.com/patientportal/portal/server/mail"
	"github.com/patientportal/portal/server/mail/mailtest"
	"github.com/patientportal/portal/server/notify"
)

// mailRoom runs the notification mailer and the outbox worker of one test
// world against an in-process SMTP server.
type mailRoom struct {
	w      *sharingWorld
	box    *mailtest.Inbox
	mailer *notify.Mailer
	worker *portalmail.Worker
	seen   int
}

func newMailRoom(w *sharingWorld) *mailRoom {
	w.t.Helper()
	box, port := mailtest.Start(w.t)
	sender, err := portalmail.NewSMTP(portalmail.SMTPConfig{Host: "127.0.0.1", Port: port, Security: portalmail.SecurityNone,
		From: "NHS Patient Portal <no-reply@portal.example.nhs.uk>"})
	w.must(err)
	r := &mailRoom{w: w, box: box,
		mailer: &notify.Mailer{Client: w.db(), Viewers: w.e.app.Sessions, PortalURL: "https://portal.example.nhs.uk", Now: w.e.clock.Now},
		worker: &portalmail.Worker{Client: w.db(), Sender: sender},
	}
	r.deliver() // whatever the fixture left
	return r
}

// deliver runs the mailer and the worker once and returns what arrived.
func (r *mailRoom) deliver() []mailtest.Email {
	r.w.t.Helper()
	ctx := context.Background()
	if _, err := r.mailer.Dispatch(ctx); err != nil {
		r.w.t.Fatalf("dispatch: %v", err)
	}
	if _, err := r.worker.SendDue(ctx); err != nil {
		r.w.t.Fatalf("send: %v", err)
	}
	received := r.box.Received()
	out := received[r.seen:]
	r.seen = len(received)
	return out
}

// to keeps the emails to address.
func to(emails []mailtest.Email, address string) []mailtest.Email {
	var out []mailtest.Email
	for _, e := range emails {
		if e.To == address {
			out = append(out, e)
		}
	}
	return out
}

// emailForbidden are words of the fixture's and the tests' records that an
// email must never carry, whoever it is to.
var emailForbidden = []string{"blood", "Blood", "Lithium", "Haemoglobin", "anaemia", "mental", "Mental", "MENTAL",
	"GENERAL", "Test Hospitals", "Psychiatry", "Clinic 4", "Alice", "Bob", "Carol", "Clinician", "clinic letter", "Follow-up"}

// checkSafe fails the test if an email carries an internal ID, a clinical
// term or a name.
func checkSafe(t *testing.T, emails []mailtest.Email) {
	t.Helper()
	for _, e := range emails {
		text := e.Subject + "\n" + e.Body
		if internalID.MatchString(text) {
			t.Errorf("email to %s holds an internal ID: %q", e.To, text)
		}
		for _, term := range emailForbidden {
			if strings.Contains(text, term) {
				t.Errorf("email to %s says %q: %q", e.To, term, text)
			}
		}
		if !strings.Contains(e.Body, "https://portal.example.nhs.uk/") {
			t.Errorf("email to %s has no link to the portal: %q", e.To, e.Body)
		}
	}
}

func (w *sharingWorld) setNotificationEmail(token, pref string) {
	w.t.Helper()
	res := w.e.post(token, `mutation($p: NotificationEmail!) { setNotificationEmail(preference: $p) { notificationEmail } }`, map[string]any{"p": pref})
	if string(res.Data) != `{"setNotificationEmail":{"notificationEmail":"`+pref+`"}}` {
		w.t.Fatalf("setNotificationEmail(%s): %s", pref, res.raw)
	}
}

// later moves the clock on and signs everyone in again, as sessions idle
// out meanwhile.
func (w *sharingWorld) later(d time.Duration) {
	w.e.clock.Advance(d)
	w.alice = w.e.signIn(w.f.Alice.Email, fixturePassword)
	w.bob = w.e.signIn(w.f.Bob.Email, fixturePassword)
	w.carer = w.e.signIn(w.f.Carer.Email, fixturePassword)
	w.clinician = w.e.signIn(w.f.Clinician.Email, fixturePassword)
}

// release adds a result released at once and returns its ID.
func (w *sharingWorld) release(patient pulid.ID, label, name string) string {
	in := w.fullBloodCount(w.e.clock.Now().Add(-24*time.Hour), 120)
	in["patientId"], in["category"], in["name"], in["releaseNow"] = patient, label, name, true
	return w.addResult(in).ID
}

func TestNotificationEmailsFollowEachPreference(t *testing.T) {
	w := newSharingWorld(t)
	room := newMailRoom(w)
	alice, carer, bob := w.f.Alice.Email, w.f.Carer.Email, w.f.Bob.Email

	// The default is DAILY; each account chooses its own.
	if res := w.e.post(w.alice, `{ viewer { notificationEmail } }`, nil); string(res.Data) != `{"viewer":{"notificationEmail":"DAILY"}}` {
		t.Fatalf("default preference: %s", res.raw)
	}
	w.setNotificationEmail(w.carer, "IMMEDIATE")
	w.setNotificationEmail(w.bob, "OFF")
	if res := w.e.post(w.bob, `mutation { setNotificationEmail(preference: SOMETIMES) { notificationEmail } }`, nil); len(res.Errors) == 0 {
		t.Errorf("an unknown preference was accepted: %s", res.raw)
	}
	if res := w.e.post("", `mutation { setNotificationEmail(preference: OFF) { notificationEmail } }`, nil); !slices.Equal(res.codes(), []string{"UNAUTHENTICATED"}) {
		t.Errorf("signed out: %s", res.raw)
	}

	var all []mailtest.Email
	// A first result: DAILY sends it at once, as no digest went out today.
	w.release(w.f.Alice.PatientID, "GENERAL", "Full blood count")
	got := room.deliver()
	all = append(all, got...)
	if a := to(got, alice); len(a) != 1 || !strings.Contains(a[0].Body, "a new test result") {
		t.Fatalf("Alice's first email: %+v", a)
	}
	if c := to(got, carer); len(c) != 1 || !strings.Contains(c[0].Body, "a new test result") || !strings.Contains(c[0].Body, "someone shares with you") {
		t.Fatalf("the carer's email: %+v", c)
	}

	// Within the day: more results wait for Alice's next digest; the
	// IMMEDIATE carer hears of each GENERAL one, never of mental health.
	w.later(time.Hour)
	w.release(w.f.Alice.PatientID, "GENERAL", "Full blood count")
	w.release(w.f.Alice.PatientID, "MENTAL_HEALTH", "Lithium level")
	got = room.deliver()
	all = append(all, got...)
	if a := to(got, alice); len(a) != 0 {
		t.Errorf("Alice got a second email within the day: %+v", a)
	}
	if c := to(got, carer); len(c) != 1 || !strings.Contains(c[0].Body, "a new test result") {
		t.Errorf("the carer's emails for one GENERAL and one MENTAL_HEALTH result: %+v", c)
	}

	// An appointment does not wait, even for a DAILY account.
	res := w.e.post(w.clinician, `mutation($in: CreateAppointmentInput!) { createAppointment(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "startsAt": rfc(w.e.clock.Now().Add(72 * time.Hour)),
		"title": "Psychiatry review", "durationMinutes": 30, "specialty": "Psychiatry", "clinic": "Clinic 4", "category": "MENTAL_HEALTH",
	}})
	if len(res.Errors) > 0 {
		t.Fatalf("createAppointment: %s", res.raw)
	}
	got = room.deliver()
	all = append(all, got...)
	if a := to(got, alice); len(a) != 1 || !strings.Contains(a[0].Body, "an appointment was booked, changed or cancelled") || strings.Contains(a[0].Body, "test result") {
		t.Errorf("Alice's appointment email: %+v", a)
	}
	if len(to(got, carer)) != 0 {
		t.Errorf("the carer was emailed about a mental health appointment: %+v", got)
	}

	// OFF: Bob hears nothing.
	w.release(w.f.Bob.PatientID, "GENERAL", "Full blood count")
	if b := to(room.deliver(), bob); len(b) != 0 {
		t.Errorf("Bob chose OFF and got %+v", b)
	}

	// The carer loses the share before the mailer runs: no email about
	// what they may no longer see.
	w.release(w.f.Alice.PatientID, "GENERAL", "Full blood count")
	w.must(w.db().Share.Update().Where(share.GranteeAccountID(w.f.Carer.AccountID)).SetRevokedAt(w.e.clock.Now()).Exec(w.sys()))
	got = room.deliver()
	all = append(all, got...)
	if c := to(got, carer); len(c) != 0 {
		t.Errorf("emailed after the share was revoked: %+v", c)
	}

	// A day after the first digest, the next gathers the three held.
	w.later(23*time.Hour - time.Minute)
	if a := to(room.deliver(), alice); len(a) != 0 {
		t.Errorf("a digest before the day was out: %+v", a)
	}
	w.later(time.Minute)
	got = room.deliver()
	all = append(all, got...)
	if a := to(got, alice); len(a) != 1 || !strings.Contains(a[0].Body, "3 new test results") {
		t.Errorf("Alice's digest: %+v", a)
	}
	if again := room.deliver(); len(again) != 0 {
		t.Errorf("sent twice: %+v", again)
	}
	checkSafe(t, all)
}

func TestAnUnreadLetterGetsOneReminderTheNextMorning(t *testing.T) {
	w := newSharingWorld(t)
	room := newMailRoom(w)
	send := func(title string) string {
		res := w.e.post(w.clinician, `mutation($in: SendLetterInput!) { sendLetter(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"patientId": w.f.Alice.PatientID, "organisationId": w.f.OrgID, "title": title,
			"body": "Dear patient, your clinic letter.", "category": "GENERAL",
		}})
		var data struct{ SendLetter struct{ ID string } }
		res.decode(t, &data)
		if data.SendLetter.ID == "" {
			t.Fatalf("sendLetter: %s", res.raw)
		}
		return data.SendLetter.ID
	}
	sentAt := w.e.clock.Now()
	send("Follow-up")
	read := send("Follow-up 2")
	got := room.deliver()
	if a := to(got, w.f.Alice.Email); len(a) != 1 || !strings.Contains(a[0].Body, "2 new letters") {
		t.Fatalf("letters are emailed at once: %+v", got)
	}
	all := got
	// Alice opens one of them; the carer opens neither.
	if res := w.e.post(w.alice, `mutation($id: ID!) { markLetterRead(id: $id) { id } }`, map[string]any{"id": read}); len(res.Errors) > 0 {
		t.Fatalf("markLetterRead: %s", res.raw)
	}

	morning := notify.NextMorning(sentAt)
	london, _ := time.LoadLocation("Europe/London")
	if local := morning.In(london); local.Hour() != 8 || local.YearDay() == sentAt.In(london).YearDay() || morning.Sub(sentAt) > 33*time.Hour {
		t.Fatalf("the next morning after %v is %v", sentAt, local)
	}
	w.later(morning.Sub(sentAt) - time.Minute)
	if got := room.deliver(); len(got) != 0 {
		t.Errorf("reminded before the morning: %+v", got)
	}
	w.later(time.Minute)
	got = room.deliver()
	all = append(all, got...)
	if a := to(got, w.f.Alice.Email); len(a) != 1 || !strings.Contains(a[0].Body, "a letter in the patient portal that you have not opened") {
		t.Errorf("Alice's reminder about her one unread letter: %+v", got)
	}
	if c := to(got, w.f.Carer.Email); len(c) != 1 || !strings.Contains(c[0].Body, "2 letters") {
		t.Errorf("the carer, who opened neither, is reminded of both: %+v", got)
	}
	w.later(24 * time.Hour)
	if again := room.deliver(); len(again) != 0 {
		t.Errorf("a second reminder: %+v", again)
	}
	checkSafe(t, all)
}
