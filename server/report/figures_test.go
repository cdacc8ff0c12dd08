package report

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/activity"
	"github.com/patientportal/portal/server/notify"
	"github.com/patientportal/portal/server/report/reporttest"
	"github.com/patientportal/portal/server/store/storetest"
)

// TestFiguresMatchACountOfTheRows checks every aggregate query against the
// same figure counted in Go over all the rows, on a generated dataset, for
// a month, a quarter, a year and a period under way.
func TestFiguresMatchACountOfTheRows(t *testing.T) {
	st := storetest.Open(t)
	ctx := access.SystemContext(context.Background())
	org, err := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Test Hospitals NHS Trust").
		SetKind(organisation.KindTRUST).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.Client.Organisation.Create().SetOdsCode("RYY").SetName("Other NHS Trust").
		SetKind(organisation.KindTRUST).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reporttest.Fill(ctx, st.DB, org.ID, 300, 2025, reporttest.DefaultVolume, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := reporttest.Fill(ctx, st.DB, other.ID, 75, 2025, reporttest.DefaultVolume, 8); err != nil {
		t.Fatal(err)
	}
	throughTheWriters(t, ctx, st.Client, org.ID, other.ID)
	rows := loadAll(t, ctx, st.Client)
	svc := New(st.Client, Config{})
	number := func(n int) *int { return &n }
	for _, tc := range []struct {
		name string
		in   model.ReportingPeriodInput
		now  time.Time
	}{
		{"a month in summer time", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2025, Number: number(6)}, utc(2026, 1, 1)},
		{"a month in winter time", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2025, Number: number(11)}, utc(2026, 1, 1)},
		{"a quarter in summer time", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2025, Number: number(2)}, utc(2026, 1, 1)},
		{"a year", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2025}, utc(2026, 1, 1)},
		{"a year under way", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2025}, utc(2025, 8, 15)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := periodOf(tc.in, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			tc := struct {
				p   period
				now time.Time
			}{p, tc.now}
			got, err := svc.measure(ctx, org.ID, tc.p, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			want := rows.figures(org.ID, tc.p, tc.now)
			if g, w := got.summary(), want.summary(); g != w {
				t.Errorf("SQL:\n%s\nGo:\n%s", g, w)
			}
			for _, m := range []struct {
				name      string
				got, want float64
			}{{"median", got.releaseMedian, want.releaseMedian}, {"p90", got.releaseP90, want.releaseP90}} {
				if math.Abs(m.got-m.want) > 1e-3 {
					t.Errorf("%s: SQL %.6f, Go %.6f", m.name, m.got, m.want)
				}
			}
			if want.registrations < threshold || want.activePatients < threshold || want.resultsReleased < threshold {
				t.Errorf("the dataset is too small to test with: %s", want.summary())
			}
		})
	}
}

func utc(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// throughTheWriters adds to the bulk dataset notifications, emails and
// sign-ins written by the code that writes them in the service, which
// keeps the reporting rollup: about org's patients, and about patients
// of other that org links to in the middle of the year (only what
// happens from then on counts for org).
func throughTheWriters(t *testing.T, ctx context.Context, c *ent.Client, org, other pulid.ID) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	rnd := rand.New(rand.NewPCG(9, 9))
	at := func() time.Time {
		return utc(2025, 1, 1).Add(time.Duration(rnd.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
	}
	write := func(pt *ent.Patient, when time.Time) {
		must(notify.To(ctx, c, notify.Note{Kind: notification.KindRESULT_RELEASED, Patient: pt.ID,
			Category: category.General}, when, *pt.AccountID))
		if rnd.IntN(2) == 0 {
			n, err := c.Notification.Query().Where(notification.PatientID(pt.ID), notification.CreatedAt(when)).
				Only(ctx)
			must(err)
			must(notify.MarkEmailed(ctx, c, when.Add(time.Duration(rnd.IntN(48))*time.Hour), n.ID))
		}
		signedIn := when.Add(time.Duration(rnd.IntN(48)) * time.Hour)
		must(c.Session.Create().SetAccountID(*pt.AccountID).SetTokenHash(fmt.Sprintf("%016x%048d", rnd.Uint64(), 0)).
			SetCreatedAt(signedIn).SetLastSeenAt(signedIn).SetExpiresAt(signedIn.Add(time.Hour)).Exec(ctx))
		must(activity.SignedIn(ctx, c, *pt.AccountID, signedIn))
	}
	mine, err := c.Patient.Query().Where(patient.HasOrganisationsWith(organisation.ID(org))).
		Order(ent.Asc(patient.FieldID)).Limit(40).All(ctx)
	must(err)
	for _, pt := range mine {
		for range 3 {
			write(pt, at())
		}
		// Results through Ent's hook, which keeps their release delay and
		// periods: released, held until a release time, never released.
		reported := at()
		released := reported.Add(time.Duration(rnd.IntN(96*3600)) * time.Second)
		r := c.Result.Create().SetPatientID(pt.ID).SetCategory(category.General).SetSourceOrganisationID(org).
			SetName("Full blood count").SetTakenAt(reported.Add(-time.Hour)).SetReportedAt(reported)
		switch rnd.IntN(3) {
		case 0:
			r.SetReleasedAt(released)
		case 1:
			r.SetReleaseAt(released)
		default:
			r.SetNeverRelease(true)
		}
		must(r.Exec(ctx))
	}
	// Patients of other only, until org links to them on 15 June: what
	// happened to them before counts for other alone. Every write comes
	// after what it records, as in the service.
	linkedOn := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	for i := range 20 {
		acc, err := c.Account.Create().SetEmail(fmt.Sprintf("writers-%02d@example.org", i)).
			SetDisplayName("Writer Patient").Save(ctx)
		must(err)
		pt, err := c.Patient.Create().SetAccountID(acc.ID).SetGivenName("Writer").SetFamilyName("Patient").
			SetDateOfBirth(utc(1970, 1, 1)).Save(ctx)
		must(err)
		must(c.PatientOrganisation.Create().SetPatientID(pt.ID).SetOrganisationID(other).
			SetLinkedAt(utc(2024, 12, 1)).Exec(ctx))
		for range 3 {
			// Emailed and signed in up to 48 hours later: still before.
			before := linkedOn.Add(-48 * time.Hour).Sub(utc(2025, 1, 1))
			write(pt, utc(2025, 1, 1).Add(time.Duration(rnd.Int64N(int64(before)))).Truncate(time.Second))
		}
		must(notify.LinkOrganisation(ctx, c, pt.ID, org, linkedOn))
		for range 6 {
			write(pt, linkedOn.Add(time.Duration(rnd.Int64N(int64(utc(2026, 1, 1).Sub(linkedOn))))).Truncate(time.Second))
		}
	}
}

// summary writes the counts of f, groups sorted, for comparison.
func (f *figures) summary() string {
	shares := slices.Clone(f.shares)
	slices.SortFunc(shares, func(a, b shareGroup) int { return strings.Compare(a.Relationship, b.Relationship) })
	appointments := map[string]int{}
	for _, a := range f.appointments {
		key := a.Status + "/"
		if a.Specialty != nil {
			key += *a.Specialty
		}
		appointments[key] += a.Count
	}
	return fmt.Sprintf("invitations sent %d accepted %d registrations %d active %d\nshares %+v\n"+
		"results %d patients (up to 8) %d\nappointments %v\nletters %d read %d\nnotifications %d emailed %d",
		f.invitationsSent, f.invitationsAccepted, f.registrations, f.activePatients, shares,
		f.resultsReleased, min(f.releasePatients, threshold), appointments, f.lettersDelivered, f.lettersRead,
		f.inApp, f.emailed)
}

// everything is every row the figures are made of, loaded for the test.
type everything struct {
	links         []*ent.PatientOrganisation
	patients      []*ent.Patient
	invitations   []*ent.Invitation
	sessions      []*ent.Session
	shares        []*ent.Share
	results       []*ent.Result
	appointments  []*ent.Appointment
	letters       []*ent.Letter
	notifications []*ent.Notification
}

func loadAll(t *testing.T, ctx context.Context, c *ent.Client) *everything {
	t.Helper()
	var e everything
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.links, err = c.PatientOrganisation.Query().All(ctx)
	must(err)
	e.patients, err = c.Patient.Query().All(ctx)
	must(err)
	e.invitations, err = c.Invitation.Query().All(ctx)
	must(err)
	e.sessions, err = c.Session.Query().All(ctx)
	must(err)
	e.shares, err = c.Share.Query().All(ctx)
	must(err)
	e.results, err = c.Result.Query().All(ctx)
	must(err)
	e.appointments, err = c.Appointment.Query().All(ctx)
	must(err)
	e.letters, err = c.Letter.Query().All(ctx)
	must(err)
	e.notifications, err = c.Notification.Query().All(ctx)
	must(err)
	return &e
}

// figures counts in Go what measure counts in SQL.
func (e *everything) figures(org pulid.ID, p period, now time.Time) *figures {
	in := func(t time.Time) bool { return !t.Before(p.start) && t.Before(p.end) }
	inPtr := func(t *time.Time) bool { return t != nil && in(*t) }
	linked := map[pulid.ID]bool{}
	linkedAt := map[pulid.ID]time.Time{}
	for _, l := range e.links {
		if l.OrganisationID == org {
			linked[l.PatientID] = true
			linkedAt[l.PatientID] = l.LinkedAt
		}
	}
	// Sign-ins and notifications count for org from the record's link on.
	linkedBy := func(pt pulid.ID, t time.Time) bool { return linked[pt] && !t.Before(linkedAt[pt]) }
	f := &figures{}
	registered := map[pulid.ID]bool{}
	for _, iv := range e.invitations {
		if iv.OrganisationID == nil || *iv.OrganisationID != org || iv.Purpose != invitation.PurposeREGISTRATION {
			continue
		}
		if in(iv.CreatedAt) {
			f.invitationsSent++
		}
		if inPtr(iv.AcceptedAt) {
			f.invitationsAccepted++
			registered[iv.PatientID] = true
		}
	}
	f.registrations = len(registered)
	owner := map[pulid.ID]pulid.ID{}
	for _, pt := range e.patients {
		if pt.AccountID != nil {
			owner[*pt.AccountID] = pt.ID
		}
	}
	active := map[pulid.ID]bool{}
	for _, s := range e.sessions {
		if pt, ok := owner[s.AccountID]; ok && in(s.CreatedAt) && linkedBy(pt, s.CreatedAt) {
			active[pt] = true
		}
	}
	f.activePatients = len(active)
	groups := map[string]*shareGroup{}
	for _, sh := range e.shares {
		if !linked[sh.PatientID] || !in(sh.CreatedAt) {
			continue
		}
		g := groups[string(sh.Relationship)]
		if g == nil {
			g = &shareGroup{Relationship: string(sh.Relationship)}
			groups[g.Relationship] = g
		}
		g.Count++
		for _, flag := range []struct {
			set bool
			n   *int
		}{{sh.MentalHealth, &g.MentalHealth}, {sh.SexualHealth, &g.SexualHealth}, {sh.SocialCare, &g.SocialCare}} {
			if flag.set {
				*flag.n++
			}
		}
	}
	for _, g := range groups {
		f.shares = append(f.shares, *g)
	}
	releasedBy := p.end
	if now.Before(releasedBy) {
		releasedBy = now
	}
	var delays []float64
	patients := map[pulid.ID]bool{}
	for _, r := range e.results {
		if r.SourceOrganisationID == nil || *r.SourceOrganisationID != org || r.VisibleFrom == nil ||
			r.VisibleFrom.Before(p.start) || !r.VisibleFrom.Before(releasedBy) {
			continue
		}
		f.resultsReleased++
		patients[r.PatientID] = true
		delays = append(delays, r.VisibleFrom.Sub(r.ReportedAt).Hours())
	}
	f.releasePatients = len(patients)
	if f.releasePatients >= threshold {
		slices.Sort(delays)
		at := func(q float64) float64 {
			h := float64(len(delays)-1) * q
			lo := int(math.Floor(h))
			v := delays[lo]
			if lo+1 < len(delays) {
				v += (h - float64(lo)) * (delays[lo+1] - v)
			}
			return v
		}
		f.releaseMedian, f.releaseP90 = at(0.5), at(0.9)
	}
	appointments := map[string]*appointmentGroup{}
	for _, a := range e.appointments {
		if a.SourceOrganisationID == nil || *a.SourceOrganisationID != org || !in(a.StartsAt) {
			continue
		}
		key := string(a.Status) + "/"
		if a.Specialty != nil {
			key += *a.Specialty
		}
		g := appointments[key]
		if g == nil {
			g = &appointmentGroup{Status: string(a.Status), Specialty: a.Specialty}
			appointments[key] = g
		}
		g.Count++
	}
	for _, g := range appointments {
		f.appointments = append(f.appointments, *g)
	}
	for _, l := range e.letters {
		if l.SourceOrganisationID == nil || *l.SourceOrganisationID != org || !in(l.SentAt) {
			continue
		}
		f.lettersDelivered++
		if l.ReadAt != nil {
			f.lettersRead++
		}
	}
	for _, n := range e.notifications {
		if in(n.CreatedAt) && linkedBy(n.PatientID, n.CreatedAt) {
			f.inApp++
		}
		if inPtr(n.EmailedAt) && linkedBy(n.PatientID, *n.EmailedAt) {
			f.emailed++
		}
	}
	return f
}
