package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/appointmentchangerequest"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
)

// person is a fixture account, and the record it owns if any.
type person struct {
	Email     string
	AccountID pulid.ID
	PatientID pulid.ID
}

// fixture is a small world: one trust, two patients with records of every
// kind, a carer and a clinician.
type fixture struct {
	OrgID     pulid.ID
	Alice     person
	Bob       person
	Carer     person
	Clinician person
	// IDs of Alice's nodes by GraphQL type name.
	AliceNodes map[string][]pulid.ID
	// IDs of Bob's nodes by GraphQL type name.
	BobNodes map[string][]pulid.ID
}

// seed writes the fixture with perList items in each of a patient's lists;
// item i has category All[i%6], so every label is present from six up.
func seed(t testing.TB, client *ent.Client, perList int, now time.Time) *fixture {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	org, err := client.Organisation.Create().SetOdsCode("RXX").SetName("Test Hospitals NHS Trust").
		SetKind(organisation.KindTRUST).SetLogoURL("https://example.nhs.uk/logo.png").
		SetWelcomeMessage("Welcome").Save(ctx)
	must(err)
	f := &fixture{OrgID: org.ID, AliceNodes: map[string][]pulid.ID{}, BobNodes: map[string][]pulid.ID{}}
	f.AliceNodes["Organisation"] = []pulid.ID{org.ID}

	newAccount := func(email, name string) person {
		acc, err := client.Account.Create().SetEmail(email).SetDisplayName(name).
			SetPasswordHash(fixtureHash(t)).Save(ctx)
		must(err)
		return person{Email: email, AccountID: acc.ID}
	}
	newPatient := func(p *person, given, nhs string) {
		// Registered through an invitation's date-of-birth check: P9.
		must(client.Account.UpdateOneID(p.AccountID).SetIdentityLevel(account.IdentityLevelP9).Exec(ctx))
		pt, err := client.Patient.Create().SetAccountID(p.AccountID).SetGivenName(given).
			SetFamilyName("Example").SetNhsNumber(nhs).
			SetDateOfBirth(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)).
			SetInvitedByID(org.ID).Save(ctx)
		must(err)
		// Linked on the test's clock, which reporting counts sign-ins by.
		must(client.PatientOrganisation.Create().SetPatientID(pt.ID).SetOrganisationID(org.ID).
			SetLinkedAt(now).Exec(ctx))
		p.PatientID = pt.ID
	}
	f.Alice = newAccount("alice@example.org", "Alice Example")
	newPatient(&f.Alice, "Alice", "9990000018")
	f.Bob = newAccount("bob@example.org", "Bob Example")
	newPatient(&f.Bob, "Bob", "9990000026")
	f.Carer = newAccount("carer@example.org", "Carol Carer")
	f.Clinician = newAccount("clinician@example.org", "Dr Clinician")
	mb, err := client.Membership.Create().SetAccountID(f.Clinician.AccountID).SetOrganisationID(org.ID).
		SetRole(membership.RoleCLINICIAN).Save(ctx)
	must(err)
	_ = mb

	f.AliceNodes["Patient"] = []pulid.ID{f.Alice.PatientID}
	f.AliceNodes["Account"] = []pulid.ID{f.Alice.AccountID}
	addRecords(t, ctx, client, f.Alice.PatientID, org.ID, perList, now, f.AliceNodes)
	addRecords(t, ctx, client, f.Bob.PatientID, org.ID, perList, now, f.BobNodes)
	f.BobNodes["Patient"] = []pulid.ID{f.Bob.PatientID}
	f.BobNodes["Account"] = []pulid.ID{f.Bob.AccountID}

	sh, err := client.Share.Create().SetPatientID(f.Alice.PatientID).SetGranteeAccountID(f.Carer.AccountID).
		SetRelationship(share.RelationshipCARER).SetAcceptedAt(now).Save(ctx)
	must(err)
	f.AliceNodes["Share"] = []pulid.ID{sh.ID}
	n, err := client.Notification.Create().SetRecipientAccountID(f.Alice.AccountID).
		SetPatientID(f.Alice.PatientID).SetKind(notification.KindLETTER_RECEIVED).Save(ctx)
	must(err)
	f.AliceNodes["Notification"] = []pulid.ID{n.ID}
	ae, err := client.AuditEvent.Create().SetPatientID(f.Alice.PatientID).
		SetActorAccountID(f.Carer.AccountID).SetAction("SHARE_CREATED").Save(ctx)
	must(err)
	f.AliceNodes["AuditEvent"] = []pulid.ID{ae.ID}
	ar, err := client.AppointmentChangeRequest.Create().SetPatientID(f.Alice.PatientID).SetCategory(category.General).
		SetSourceOrganisationID(org.ID).SetAppointmentID(f.AliceNodes["Appointment"][0]).
		SetKind(appointmentchangerequest.KindCANCEL).Save(ctx)
	must(err)
	f.AliceNodes["AppointmentChangeRequest"] = []pulid.ID{ar.ID}
	cp, err := client.ContactPreference.Create().SetPatientID(f.Alice.PatientID).SetOrganisationID(org.ID).Save(ctx)
	must(err)
	f.AliceNodes["ContactPreference"] = []pulid.ID{cp.ID}
	iv, err := client.Invitation.Create().SetPatientID(f.Alice.PatientID).SetOrganisationID(org.ID).
		SetPurpose(invitation.PurposeREGISTRATION).SetEmail(f.Alice.Email).SetTokenHash("used-" + string(f.Alice.PatientID)).
		SetAcceptedAt(now).SetExpiresAt(now).Save(ctx)
	must(err)
	f.AliceNodes["Invitation"] = []pulid.ID{iv.ID}
	study, err := client.ResearchStudy.Create().SetOrganisationID(org.ID).SetTitle("Diabetes study").
		SetPseudonymKey(make([]byte, 32)).Save(ctx)
	must(err)
	f.AliceNodes["ResearchStudy"] = []pulid.ID{study.ID}
	// Alice may read her own membership-free account; the clinician's
	// membership is the Membership node, read as the clinician.
	return f
}

// addRecords writes n items of every kind for one patient and records
// their IDs by GraphQL type.
func addRecords(t testing.TB, ctx context.Context, client *ent.Client, patientID, orgID pulid.ID, n int, now time.Time, ids map[string][]pulid.ID) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	cat := func(i int) category.Category { return category.All[i%len(category.All)] }
	for i := range n {
		c := cat(i)
		at := now.Add(time.Duration(i-n/2) * 24 * time.Hour)
		ap, err := client.Appointment.Create().SetPatientID(patientID).SetSourceOrganisationID(orgID).
			SetCategory(c).SetTitle(fmt.Sprintf("Clinic %d", i)).SetStartsAt(at).Save(ctx)
		must(err)
		ids["Appointment"] = append(ids["Appointment"], ap.ID)
		al, err := client.Allergy.Create().SetPatientID(patientID).SetCategory(c).
			SetSubstance(fmt.Sprintf("Substance %d", i)).SetRecordedBy(allergy.RecordedByTRUST).
			SetRecordedAt(at).Save(ctx)
		must(err)
		ids["Allergy"] = append(ids["Allergy"], al.ID)
		rs, err := client.Result.Create().SetPatientID(patientID).SetSourceOrganisationID(orgID).
			SetCategory(c).SetName(fmt.Sprintf("Test %d", i)).SetTakenAt(at).SetReportedAt(at).
			SetReleasedAt(now.Add(-time.Hour)).Save(ctx)
		must(err)
		ids["Result"] = append(ids["Result"], rs.ID)
		for j := range 2 {
			co, err := client.ResultComponent.Create().SetPatientID(patientID).SetResultID(rs.ID).
				SetCategory(c).SetName(fmt.Sprintf("Component %d", j)).SetValueNumeric(float64(j) + 1.5).
				SetUnit("g/L").Save(ctx)
			must(err)
			ids["ResultComponent"] = append(ids["ResultComponent"], co.ID)
		}
		en, err := client.Encounter.Create().SetPatientID(patientID).SetCategory(c).
			SetKind(encounter.KindEMERGENCY).SetStatus(encounter.StatusDISCHARGED).SetStartedAt(at).Save(ctx)
		must(err)
		ids["Encounter"] = append(ids["Encounter"], en.ID)
		lc := client.Letter.Create().SetPatientID(patientID).SetCategory(c).
			SetTitle(fmt.Sprintf("Letter %d", i)).SetSentAt(at)
		if i%2 == 0 {
			lc.SetReadAt(at)
		}
		lt, err := lc.Save(ctx)
		must(err)
		ids["Letter"] = append(ids["Letter"], lt.ID)
		me, err := client.Measurement.Create().SetPatientID(patientID).SetCategory(c).
			SetType(measurement.TypeGLUCOSE).SetMeasuredAt(at).SetValue(5.5).SetUnit("mmol/L").Save(ctx)
		must(err)
		ids["Measurement"] = append(ids["Measurement"], me.ID)
		sy, err := client.Symptom.Create().SetPatientID(patientID).SetCategory(c).
			SetName("Headache").SetSeverity(i % 11).SetOccurredAt(at).Save(ctx)
		must(err)
		ids["Symptom"] = append(ids["Symptom"], sy.ID)
		jo, err := client.JournalEntry.Create().SetPatientID(patientID).SetCategory(c).
			SetTitle("Day").SetBody("Felt fine").SetWrittenAt(at).Save(ctx)
		must(err)
		ids["JournalEntry"] = append(ids["JournalEntry"], jo.ID)
		cr, err := client.CareResource.Create().SetPatientID(patientID).SetCategory(c).
			SetTitle("Leaflet").SetAssignedAt(at).Save(ctx)
		must(err)
		ids["CareResource"] = append(ids["CareResource"], cr.ID)
	}
}
