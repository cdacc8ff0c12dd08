// Package notify decides who is told about a change, and how. Record and
// To write notification rows with the client of the change's transaction,
// so a notification is committed with its change or not at all (an
// outbox); the broker then wakes live subscribers after the commit.
// A Mailer later turns those rows into emails, per each recipient's
// preference and only while the recipient may still see what they are
// about; it also announces results held until a release time.
package notify

import (
	"context"
	"slices"
	"time"
	_ "time/tzdata" // Europe/London on machines without a zoneinfo database

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/server/activity"
)

// Note is one kind of news about a patient's record.
type Note struct {
	Kind     notification.Kind
	Patient  pulid.ID
	Category category.Category
	// Subject is the record it is about, if any.
	Subject *pulid.ID
}

// Record tells the record's owner and every person whose live share of the
// record covers n's category at this moment. A share that does not cover it
// is not told: a carer without MENTAL_HEALTH never hears of a mental health
// appointment.
func Record(ctx context.Context, tx *ent.Client, n Note, now time.Time) error {
	recipients, err := readers(ctx, tx, n.Patient, n.Category, now)
	if err != nil {
		return err
	}
	return To(ctx, tx, n, now, recipients...)
}

// To tells exactly the given accounts, each once.
func To(ctx context.Context, tx *ent.Client, n Note, now time.Time, recipients ...pulid.ID) error {
	var builders []*ent.NotificationCreate
	seen := map[pulid.ID]bool{}
	for _, r := range recipients {
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		c := tx.Notification.Create().
			SetRecipientAccountID(r).
			SetPatientID(n.Patient).
			SetKind(n.Kind).
			SetCategory(n.Category).
			SetNillableSubjectID(n.Subject).
			SetCreatedAt(now).
			SetEmailDueAt(now)
		if n.Kind == notification.KindLETTER_RECEIVED {
			c.SetReminderDueAt(NextMorning(now))
		}
		builders = append(builders, c)
	}
	if len(builders) == 0 {
		return nil
	}
	if err := tx.Notification.CreateBulk(builders...).Exec(access.SystemContext(ctx)); err != nil {
		return err
	}
	return activity.Notified(ctx, tx, n.Patient, now, len(builders))
}

// MarkEmailed records that an email told of the notifications ids at now,
// and counts them for reporting by channel.
func MarkEmailed(ctx context.Context, tx *ent.Client, now time.Time, ids ...pulid.ID) error {
	sys := access.SystemContext(ctx)
	if err := tx.Notification.Update().Where(notification.IDIn(ids...)).SetEmailedAt(now).Exec(sys); err != nil {
		return err
	}
	var perPatient []struct {
		PatientID pulid.ID `json:"patient_id"`
		Count     int      `json:"count"`
	}
	if err := tx.Notification.Query().Where(notification.IDIn(ids...)).
		GroupBy(notification.FieldPatientID).Aggregate(ent.Count()).Scan(sys, &perPatient); err != nil {
		return err
	}
	for _, p := range perPatient {
		if err := activity.Emailed(ctx, tx, p.PatientID, now, p.Count); err != nil {
			return err
		}
	}
	return nil
}

// readers are the accounts that may see an item of category c on the
// record now: its owner and the people its live shares name.
func readers(ctx context.Context, tx *ent.Client, patientID pulid.ID, c category.Category, now time.Time) ([]pulid.ID, error) {
	sys := access.SystemContext(ctx)
	p, err := tx.Patient.Query().Where(patient.ID(patientID)).Only(sys)
	if err != nil {
		return nil, err
	}
	var ids []pulid.ID
	if p.AccountID != nil {
		ids = append(ids, *p.AccountID)
	}
	if p.SharingDisabledAt != nil {
		return ids, nil
	}
	shares, err := tx.Share.Query().
		Where(
			share.PatientID(patientID),
			share.GranteeAccountIDNotNil(),
			share.AcceptedAtNotNil(),
			share.RevokedAtIsNil(),
			share.Or(share.ExpiresAtIsNil(), share.ExpiresAtGT(now)),
		).
		Order(ent.Asc(share.FieldCreatedAt)).
		All(sys)
	if err != nil {
		return nil, err
	}
	for _, sh := range shares {
		g := access.ShareGrant(sh.PatientID, sh.ID, sh.MentalHealth, sh.SexualHealth, sh.SocialCare)
		if slices.Contains(g.Covers(), c) {
			ids = append(ids, *sh.GranteeAccountID)
		}
	}
	return ids, nil
}

// reminderHour is when, UK time, the morning reminders go out.
const reminderHour = 8

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// NextMorning is 08:00 UK time on the day after t.
func NextMorning(t time.Time) time.Time {
	local := t.In(london)
	y, m, d := local.Date()
	return time.Date(y, m, d+1, reminderHour, 0, 0, 0, london).UTC()
}

// LinkOrganisation records that an organisation holds data on a patient's
// record, the first time it does, and tells the patient.
func LinkOrganisation(ctx context.Context, tx *ent.Client, patientID, org pulid.ID, now time.Time) error {
	exists, err := tx.PatientOrganisation.Query().
		Where(patientorganisation.PatientID(patientID), patientorganisation.OrganisationID(org)).Exist(ctx)
	if err != nil || exists {
		return err
	}
	// Linked at now, the clock the record's activity is counted by
	// (package activity): from now on it counts for org too.
	if err := tx.PatientOrganisation.Create().SetPatientID(patientID).SetOrganisationID(org).
		SetLinkedAt(now).Exec(ctx); err != nil {
		return err
	}
	owner, err := tx.Patient.Query().Where(patient.ID(patientID)).Only(access.SystemContext(ctx))
	if err != nil || owner.AccountID == nil {
		return err
	}
	n := Note{Kind: notification.KindORGANISATION_LINKED, Patient: patientID, Category: category.General, Subject: &org}
	return To(ctx, tx, n, now, *owner.AccountID)
}
