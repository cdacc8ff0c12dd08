// Package reporttest writes datasets for the tests and benchmarks of
// package report: a small known one whose figures are worked out by hand
// (Known, Want), and a large generated one written in bulk (Fill). It is
// for tests only.
package reporttest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/activity"
	notifypkg "github.com/patientportal/portal/server/notify"
)

// February is the month the known dataset is about: February 2026, in UK
// winter time, so UK and UTC days agree.
func February() model.ReportingPeriodInput {
	n := 2
	return model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: &n}
}

// Now is the clock of the known dataset: during March 2026.
var Now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// Want is the overview of February on the known dataset, as Flatten
// writes it: "*" for a suppressed figure.
var Want = map[string]string{
	"period":                  "MONTH 2026-02-01T00:00:00Z 2026-03-01T00:00:00Z",
	"registrations":           "25",
	"activePatients":          "*",
	"invitationsSent":         "10",
	"invitationsAccepted":     "30",
	"sharesByRelationship":    "* | CARER=10 FAMILY=* PROFESSIONAL=* ORGANISATION=0",
	"sharesByCategory":        "* | MENTAL_HEALTH=10 SEXUAL_HEALTH=* SOCIAL_CARE=*",
	"resultsReleased":         "10",
	"releaseDelayMedianHours": "6.5",
	"releaseDelayP90Hours":    "10.9",
	"appointmentsByStatus":    "* | BOOKED=* CANCELLED=* ATTENDED=30 DID_NOT_ATTEND=0",
	"appointmentsBySpecialty": "* | Cardiology=25 Dermatology=15 Rheumatology=* Not recorded=*",
	"lettersDelivered":        "20",
	"lettersReadInPortal":     "10",
	"postageSavedPence":       "850",
	"notificationsByChannel":  "25 | IN_APP=15 EMAIL=10",
}

// Flatten writes an overview figure by figure for comparison with Want.
// A suppressed figure that carries a value is written with "!", so that
// the comparison fails.
func Flatten(o *model.ReportingOverview) map[string]string {
	out := map[string]string{
		"registrations":           figure(o.Registrations),
		"activePatients":          figure(o.ActivePatients),
		"invitationsSent":         figure(o.InvitationsSent),
		"invitationsAccepted":     figure(o.InvitationsAccepted),
		"sharesByRelationship":    breakdown(o.SharesByRelationship),
		"sharesByCategory":        breakdown(o.SharesByCategory),
		"resultsReleased":         figure(o.ResultsReleased),
		"releaseDelayMedianHours": measure(o.ReleaseDelayMedianHours),
		"releaseDelayP90Hours":    measure(o.ReleaseDelayP90Hours),
		"appointmentsByStatus":    breakdown(o.AppointmentsByStatus),
		"appointmentsBySpecialty": breakdown(o.AppointmentsBySpecialty),
		"lettersDelivered":        figure(o.LettersDelivered),
		"lettersReadInPortal":     figure(o.LettersReadInPortal),
		"postageSavedPence":       figure(o.PostageSavedPence),
		"notificationsByChannel":  breakdown(o.NotificationsByChannel),
	}
	if p := o.Period; p != nil {
		out["period"] = fmt.Sprintf("%s %s %s", p.Kind, p.Start.UTC().Format(time.RFC3339), p.End.UTC().Format(time.RFC3339))
	}
	return out
}

// Diff lists the figures of got that differ from want, one a line.
func Diff(got, want map[string]string) string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		if got[k] != want[k] {
			fmt.Fprintf(&b, "%s: got %q, want %q\n", k, got[k], want[k])
		}
	}
	return b.String()
}

func figure(f *model.Figure) string {
	switch {
	case f == nil:
		return "missing"
	case f.Suppressed && f.Value != nil:
		return fmt.Sprintf("*%d!", *f.Value)
	case f.Suppressed:
		return "*"
	case f.Value == nil:
		return "null"
	}
	return fmt.Sprint(*f.Value)
}

func measure(m *model.Measure) string {
	switch {
	case m == nil:
		return "missing"
	case m.Suppressed && m.Value != nil:
		return fmt.Sprintf("*%.1f!", *m.Value)
	case m.Suppressed:
		return "*"
	case m.Value == nil:
		return "null"
	}
	return fmt.Sprintf("%.1f", *m.Value)
}

func breakdown(b *model.Breakdown) string {
	if b == nil {
		return "missing"
	}
	parts := make([]string, len(b.Parts))
	for i, p := range b.Parts {
		parts[i] = p.Key + "=" + figure(p.Figure)
	}
	return figure(b.Total) + " | " + strings.Join(parts, " ")
}

// Dataset is what Known wrote.
type Dataset struct {
	// Organisation is the organisation the figures are about.
	Organisation pulid.ID
	// Other is a second organisation whose rows must never count.
	Other pulid.ID
	// Patients are the organisation's patients, each with an account.
	Patients []Patient
}

// Patient is one patient of the dataset and their account.
type Patient struct {
	ID, AccountID pulid.ID
}

// Known writes the known dataset for org, with rows of a second
// organisation and rows just outside February that must not count. Want
// holds its figures for February; the comments below say how each comes
// about. Each February day is at(day, hour); Jan31 and March1 are the
// instants either side of the month.
func Known(t testing.TB, client *ent.Client, org pulid.ID) *Dataset {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(day, hour int) time.Time { return time.Date(2026, 2, day, hour, 0, 0, 0, time.UTC) }
	jan31 := time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC)
	march1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	jan20 := time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)
	// Every record is linked before anything below happens, so all of it
	// counts for the organisations linked.
	linked := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	seq := 0
	next := func() int { seq++; return seq }

	other, err := client.Organisation.Create().SetOdsCode("RKNOWN2").
		SetName("Other NHS Trust").SetKind(organisation.KindTRUST).Save(ctx)
	must(err)
	d := &Dataset{Organisation: org, Other: other.ID}
	newPatient := func(orgs ...pulid.ID) Patient {
		n := next()
		acc, err := client.Account.Create().SetEmail(fmt.Sprintf("report-known-%03d@example.org", n)).
			SetDisplayName("Known Patient").Save(ctx)
		must(err)
		pt, err := client.Patient.Create().SetAccountID(acc.ID).SetGivenName("Known").
			SetFamilyName(fmt.Sprintf("Patient%03d", n)).
			SetDateOfBirth(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)).Save(ctx)
		must(err)
		for _, o := range orgs {
			must(client.PatientOrganisation.Create().SetPatientID(pt.ID).SetOrganisationID(o).
				SetLinkedAt(linked).Exec(ctx))
		}
		return Patient{ID: pt.ID, AccountID: acc.ID}
	}
	for range 30 {
		d.Patients = append(d.Patients, newPatient(org))
	}
	p := d.Patients
	outsider := newPatient(other.ID)
	carer, err := client.Account.Create().SetEmail(fmt.Sprintf("report-known-carer-%03d@example.org", next())).
		SetDisplayName("Known Carer").Save(ctx)
	must(err)

	// Invitations. Sent in February: 5 second invitations below plus 7 to
	// patients 25 to 29 = 12 -> 10. Accepted in February: 23 + 5 = 28 ->
	// 30, by 23 patients -> registrations 25.
	invite := func(pt Patient, o *pulid.ID, purpose invitation.Purpose, created time.Time, accepted *time.Time) {
		must(client.Invitation.Create().SetPatientID(pt.ID).SetNillableOrganisationID(o).SetPurpose(purpose).
			SetEmail("invited@example.org").SetTokenHash(fmt.Sprintf("known-%d-%s", next(), pt.ID)).
			SetCreatedAt(created).SetLastSentAt(created).SetExpiresAt(created.Add(14 * 24 * time.Hour)).
			SetNillableAcceptedAt(accepted).Exec(ctx))
	}
	for i := range 23 {
		accepted := at(1+i, 10)
		invite(p[i], &org, invitation.PurposeREGISTRATION, jan20, &accepted)
	}
	for i := range 5 {
		accepted := at(3, 10)
		invite(p[i], &org, invitation.PurposeREGISTRATION, at(2, 10), &accepted)
	}
	for i := range 7 {
		invite(p[25+i%5], &org, invitation.PurposeREGISTRATION, at(10, 10), nil)
	}
	invite(p[23], &org, invitation.PurposeREGISTRATION, jan20, &jan31)
	invite(p[24], &org, invitation.PurposeREGISTRATION, jan20, &march1)
	otherAccepted := at(6, 10)
	invite(outsider, &other.ID, invitation.PurposeREGISTRATION, at(5, 10), &otherAccepted)
	shareAccepted := at(8, 10)
	invite(p[0], nil, invitation.PurposeSHARE, at(7, 10), &shareAccepted)

	// Sessions: patients 0 to 5 signed in during February (0 three
	// times) -> 6 -> suppressed. Just outside, another organisation's
	// patient, and an account that owns no record do not count. Each
	// sign-in is counted for reporting as the sign-in code does.
	signIn := func(acc pulid.ID, when time.Time) {
		must(client.Session.Create().SetAccountID(acc).SetTokenHash(fmt.Sprintf("%064d", next())).
			SetCreatedAt(when).SetLastSeenAt(when).SetExpiresAt(when.Add(12 * time.Hour)).Exec(ctx))
		must(activity.SignedIn(ctx, client, acc, when))
	}
	for i := range 6 {
		signIn(p[i].AccountID, at(4+i, 9))
	}
	signIn(p[0].AccountID, at(20, 9))
	signIn(p[0].AccountID, at(21, 9))
	signIn(p[6].AccountID, jan31)
	signIn(p[7].AccountID, march1)
	signIn(outsider.AccountID, at(4, 9))
	signIn(carer.ID, at(4, 9))

	// Shares made in February: CARER 12 (10 granting MENTAL_HEALTH, 4
	// SOCIAL_CARE), FAMILY 3 (2 SEXUAL_HEALTH, 1 SOCIAL_CARE),
	// PROFESSIONAL 9 (3 SOCIAL_CARE): total 24. FAMILY's 3 hides
	// PROFESSIONAL's 9 and the total; SEXUAL_HEALTH's 2 hides
	// SOCIAL_CARE's 8.
	shareOf := func(pt Patient, rel share.Relationship, when time.Time, mh, sh, sc bool) {
		must(client.Share.Create().SetPatientID(pt.ID).SetRelationship(rel).SetMentalHealth(mh).
			SetSexualHealth(sh).SetSocialCare(sc).SetCreatedAt(when).Exec(ctx))
	}
	for i := range 12 {
		shareOf(p[i], share.RelationshipCARER, at(10, 12), i < 10, false, i < 4)
	}
	for i := range 3 {
		shareOf(p[12+i], share.RelationshipFAMILY, at(11, 12), false, i < 2, i == 0)
	}
	for i := range 9 {
		shareOf(p[15+i], share.RelationshipPROFESSIONAL, at(12, 12), false, false, i < 3)
	}
	shareOf(p[0], share.RelationshipCARER, jan31, true, true, true)
	shareOf(p[1], share.RelationshipFAMILY, march1, true, true, true)
	shareOf(outsider, share.RelationshipORGANISATION, at(10, 12), true, true, true)

	// Results released in February: 12 on patients 0 to 8, delays of 1
	// to 12 hours -> 10, median 6.5 h, 90th percentile 10.9 h.
	newResult := func(pt Patient, o pulid.ID, reported time.Time, released *time.Time, releaseAt *time.Time, never bool) {
		must(client.Result.Create().SetPatientID(pt.ID).SetCategory(category.General).SetSourceOrganisationID(o).
			SetName("Full blood count").SetTakenAt(reported.Add(-24 * time.Hour)).SetReportedAt(reported).
			SetNillableReleasedAt(released).SetNillableReleaseAt(releaseAt).SetNeverRelease(never).Exec(ctx))
	}
	for k := range 12 {
		released := at(5+k, 10)
		newResult(p[k%9], org, released.Add(-time.Duration(k+1)*time.Hour), &released, nil, false)
	}
	newResult(p[0], org, at(3, 10), nil, nil, true)
	outsideReleased := at(5, 10)
	newResult(outsider, other.ID, at(4, 10), &outsideReleased, nil, false)
	march5 := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	newResult(p[1], org, at(27, 10), nil, &march5, false)
	// January: 10 results of 7 patients (10 to 16), the last at the
	// month's last second -> 10, measures suppressed.
	for k := range 10 {
		released := time.Date(2026, 1, 10+k, 10, 0, 0, 0, time.UTC)
		if k == 9 {
			released = jan31
		}
		newResult(p[10+k%7], org, released.Add(-time.Duration(k+1)*time.Hour), &released, nil, false)
	}
	// March, under way at Now: 7 more visible before Now (8 with the one
	// above) -> 10; 5 held until after Now do not count yet.
	for k := range 7 {
		released := time.Date(2026, 3, 2+k, 9, 0, 0, 0, time.UTC)
		newResult(p[20+k], org, released.Add(-2*time.Hour), &released, nil, false)
	}
	for k := range 5 {
		releaseAt := time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
		newResult(p[k], org, time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC), nil, &releaseAt, false)
	}

	// Appointments starting in February: Cardiology BOOKED 10 and ATTENDED
	// 15, Dermatology ATTENDED 10 and CANCELLED 4, no specialty BOOKED 5
	// and ATTENDED 5, Rheumatology BOOKED 3. By status BOOKED 18,
	// CANCELLED 4, ATTENDED 30: CANCELLED hides BOOKED. By specialty
	// Rheumatology's 3 hides Not recorded's 10. Total 52.
	n := 0
	book := func(o pulid.ID, specialty string, status appointment.Status, count int, when func(int) time.Time) {
		for range count {
			c := client.Appointment.Create().SetPatientID(p[n%len(p)].ID).SetCategory(category.General).
				SetSourceOrganisationID(o).SetTitle("Outpatient appointment").SetStartsAt(when(n)).SetStatus(status)
			if specialty != "" {
				c.SetSpecialty(specialty)
			}
			must(c.Exec(ctx))
			n++
		}
	}
	inFebruary := func(i int) time.Time { return at(1+i%28, 9+i%8) }
	book(org, "Cardiology", appointment.StatusBOOKED, 10, inFebruary)
	book(org, "Cardiology", appointment.StatusATTENDED, 15, inFebruary)
	book(org, "Dermatology", appointment.StatusATTENDED, 10, inFebruary)
	book(org, "Dermatology", appointment.StatusCANCELLED, 4, inFebruary)
	book(org, "", appointment.StatusBOOKED, 5, inFebruary)
	book(org, "", appointment.StatusATTENDED, 5, inFebruary)
	book(org, "Rheumatology", appointment.StatusBOOKED, 3, inFebruary)
	book(other.ID, "Cardiology", appointment.StatusBOOKED, 1, inFebruary)
	book(org, "Cardiology", appointment.StatusBOOKED, 1, func(int) time.Time { return march1 })
	book(org, "Cardiology", appointment.StatusATTENDED, 1, func(int) time.Time { return jan31 })

	// Letters sent in February: 20 -> 20. Read in the portal by their
	// patient, as clinical.MarkLetterRead records it (the letter's read
	// time and a read by the patient's account): 11 -> 10, saving 10 x
	// 85p. Two more read by a carer alone do not count.
	newLetter := func(pt Patient, o pulid.ID, sent time.Time, readAt *time.Time) pulid.ID {
		l, err := client.Letter.Create().SetPatientID(pt.ID).SetCategory(category.General).
			SetSourceOrganisationID(o).SetTitle("Clinic letter").SetSentAt(sent).
			SetNillableReadAt(readAt).Save(ctx)
		must(err)
		return l.ID
	}
	readBy := func(letter pulid.ID, pt Patient, acc pulid.ID) {
		must(client.LetterRead.Create().SetLetterID(letter).SetPatientID(pt.ID).SetAccountID(acc).
			SetReadAt(at(26, 10)).Exec(ctx))
	}
	for i := range 20 {
		var readAt *time.Time
		if i < 11 {
			r := at(26, 10)
			readAt = &r
		}
		id := newLetter(p[i], org, at(1+i, 11), readAt)
		switch {
		case i < 11:
			readBy(id, p[i], p[i].AccountID)
		case i < 13:
			readBy(id, p[i], carer.ID)
		}
	}
	readAt := at(3, 10)
	newLetter(outsider, other.ID, at(2, 11), &readAt)
	newLetter(p[0], org, jan31, &readAt)

	// Notifications about the organisation's patients: 17 written in
	// February (IN_APP -> 15), 8 of them emailed in February and one
	// written in January emailed in February (EMAIL 9 -> 10); one
	// written in February was emailed on 1 March. Total 26 -> 25. Each
	// is counted for reporting as notify.To counts it, and emailed through
	// the mailer's notify.MarkEmailed.
	notify := func(pt Patient, recipient pulid.ID, created time.Time, emailed *time.Time) {
		n, err := client.Notification.Create().SetRecipientAccountID(recipient).SetPatientID(pt.ID).
			SetKind(notification.KindLETTER_RECEIVED).SetCreatedAt(created).Save(ctx)
		must(err)
		must(activity.Notified(ctx, client, pt.ID, created, 1))
		if emailed != nil {
			must(notifypkg.MarkEmailed(ctx, client, *emailed, n.ID))
		}
	}
	for i := range 17 {
		var emailed *time.Time
		switch {
		case i < 8:
			e := at(2+i, 18)
			emailed = &e
		case i == 16:
			emailed = &march1
		}
		recipient := p[i].AccountID
		if i == 15 {
			recipient = carer.ID // a carer's notification about the record counts too
		}
		notify(p[i], recipient, at(2+i, 8), emailed)
	}
	emailedFeb1 := at(1, 8)
	notify(p[0], p[0].AccountID, jan31, &emailedFeb1)
	notify(outsider, outsider.AccountID, at(3, 8), &emailedFeb1)
	return d
}

// WantJanuary and WantMarch are the results released in January (7
// patients: measures suppressed) and in March up to Now.
var (
	WantJanuary = map[string]string{
		"resultsReleased": "10", "releaseDelayMedianHours": "*", "releaseDelayP90Hours": "*",
	}
	WantMarch = map[string]string{"resultsReleased": "10"}
)
