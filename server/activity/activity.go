// Package activity keeps the rollup that reporting reads for sign-ins and
// notifications: per patient, per organisation the record was linked to
// at the time, and per UK calendar month, quarter and year, how many
// sessions the patient's account started and how many notifications about
// the record were written and emailed (ent PatientActivity).
//
// The writers call it in the transaction of the write it counts (a
// session, a notification, an email), so the rollup is committed with the
// write or not at all. Each call touches only the rows of one patient: no
// row is shared by two patients' transactions, so the rollup is no hot
// spot on SQLite's single writer or on MySQL's row locks. It must never be
// read for anything but aggregates.
package activity

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientactivity"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/calendar"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// Period is one calendar period a moment falls in.
type Period struct {
	Kind patientactivity.Period
	// Start is midnight UK time on the period's first day, in UTC.
	Start time.Time
}

// Periods are the UK month, quarter and year that t falls in.
func Periods(t time.Time) [3]Period {
	month, quarter, year := calendar.Starts(t)
	return [3]Period{
		{patientactivity.PeriodMONTH, month},
		{patientactivity.PeriodQUARTER, quarter},
		{patientactivity.PeriodYEAR, year},
	}
}

// Counts are what one write adds to a patient's rows.
type Counts struct {
	SignIns, InApp, Emailed int
}

// SignedIn counts a session that account started at at, for the record
// the account owns, if any.
func SignedIn(ctx context.Context, tx *ent.Client, account pulid.ID, at time.Time) error {
	ids, err := tx.Patient.Query().Where(patient.AccountID(account)).IDs(access.SystemContext(ctx))
	if err != nil || len(ids) == 0 {
		return err
	}
	return Add(ctx, tx, ids[0], at, Counts{SignIns: 1})
}

// Notified counts n notifications about patientID's record written at at.
func Notified(ctx context.Context, tx *ent.Client, patientID pulid.ID, at time.Time, n int) error {
	return Add(ctx, tx, patientID, at, Counts{InApp: n})
}

// Emailed counts n notifications about patientID's record emailed at at.
func Emailed(ctx context.Context, tx *ent.Client, patientID pulid.ID, at time.Time, n int) error {
	return Add(ctx, tx, patientID, at, Counts{Emailed: n})
}

// Add adds c to the rows of patientID's month, quarter and year of at, for
// each organisation the record was linked to by then, in one statement.
func Add(ctx context.Context, tx *ent.Client, patientID pulid.ID, at time.Time, c Counts) error {
	sys := access.SystemContext(ctx)
	at = at.UTC()
	orgs, err := tx.PatientOrganisation.Query().
		Where(patientorganisation.PatientID(patientID), patientorganisation.LinkedAtLTE(at)).
		Order(ent.Asc(patientorganisation.FieldOrganisationID)).
		Select(patientorganisation.FieldOrganisationID).Strings(sys)
	if err != nil || len(orgs) == 0 {
		return err
	}
	periods := Periods(at)
	builders := make([]*ent.PatientActivityCreate, 0, len(orgs)*len(periods))
	for _, org := range orgs {
		for _, p := range periods {
			builders = append(builders, tx.PatientActivity.Create().
				SetPatientID(patientID).SetOrganisationID(pulid.ID(org)).SetPeriod(p.Kind).SetStartsAt(p.Start).
				SetSignIns(c.SignIns).SetInApp(c.InApp).SetEmailed(c.Emailed))
		}
	}
	return tx.PatientActivity.CreateBulk(builders...).
		OnConflictColumns(patientactivity.FieldPatientID, patientactivity.FieldOrganisationID,
			patientactivity.FieldPeriod, patientactivity.FieldStartsAt).
		Update(func(u *ent.PatientActivityUpsert) {
			u.AddSignIns(c.SignIns).AddInApp(c.InApp).AddEmailed(c.Emailed)
		}).
		Exec(sys)
}
