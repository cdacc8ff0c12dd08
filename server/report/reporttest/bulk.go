package reporttest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/patientportal/portal/ent/schema/calendar"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/activity"
)

// Volume is how much one generated patient does in the year, on average.
// The defaults are a busy trust's: most patients registered, a few signing
// in each month, results and letters every other month.
type Volume struct {
	Sessions, Results, Appointments, Letters, Notifications float64
	// Shares is the chance a patient shares their record with someone.
	Shares float64
}

// DefaultVolume is what Fill writes unless told otherwise.
var DefaultVolume = Volume{Sessions: 6, Results: 6, Appointments: 4, Letters: 3, Notifications: 10, Shares: 0.2}

// Specialties are the appointment specialties Fill uses; one
// appointment in ten has none.
var Specialties = []string{"Cardiology", "Dermatology", "Diabetes", "ENT", "Gastroenterology",
	"General Surgery", "Neurology", "Ophthalmology", "Orthopaedics", "Respiratory", "Rheumatology", "Urology"}

// Fill writes n patients of org, each with an account, a registration
// invitation and a year of activity spread over year (UTC), in bulk:
// multi-row INSERTs of up to 500 rows in one transaction per table. Rows
// bypass Ent's hooks, policies and the writers, so Fill writes the derived
// columns (category, visible_from, the release's delay and periods) itself, and the
// reporting rollup of sign-ins and notifications as the writers keep it
// (activity.Add: each event counted in its UK month, quarter and year for
// the organisation once the record is linked to it). Most records are
// linked before the year, a quarter of them when their patient joins. It
// returns the rows written.
func Fill(ctx context.Context, db *sql.DB, org pulid.ID, n int, year int, v Volume, seed uint64) (int, error) {
	g := &generator{db: db, rnd: rand.New(rand.NewPCG(seed, uint64(n))), org: org, year: year, v: v,
		from: time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)}
	g.span = g.from.AddDate(1, 0, 0).Sub(g.from)
	return g.fill(ctx, n)
}

type generator struct {
	db   *sql.DB
	rnd  *rand.Rand
	org  pulid.ID
	year int
	v    Volume
	from time.Time
	span time.Duration
	rows int
}

// table is the rows of one table waiting to be written.
type table struct {
	name    string
	columns []string
	rows    [][]any
}

func (t *table) add(values ...any) {
	if len(values) != len(t.columns) {
		panic(fmt.Sprintf("reporttest: %s: %d values for %d columns", t.name, len(values), len(t.columns)))
	}
	t.rows = append(t.rows, values)
}

// batch is how many rows one INSERT carries: 500 rows of at most 20
// columns stay well under SQLite's 32,766 and MySQL's 65,535 bound
// variables.
const batch = 500

// flush writes t's rows in one transaction.
func (g *generator) flush(ctx context.Context, t *table) error {
	if len(t.rows) == 0 {
		return nil
	}
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.columns)), ", ") + ")"
	head := "INSERT INTO `" + t.name + "` (`" + strings.Join(t.columns, "`, `") + "`) VALUES "
	var stmt *sql.Stmt
	for start := 0; start < len(t.rows); start += batch {
		chunk := t.rows[start:min(start+batch, len(t.rows))]
		args := make([]any, 0, len(chunk)*len(t.columns))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if len(chunk) == batch && stmt == nil {
			if stmt, err = tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+", ", batch), ", ")); err != nil {
				return err
			}
			defer stmt.Close()
		}
		if len(chunk) == batch {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", "), args...)
		}
		if err != nil {
			return fmt.Errorf("reporttest: inserting into %s: %w", t.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	g.rows += len(t.rows)
	t.rows = t.rows[:0]
	return nil
}

// at is a random instant of the year.
func (g *generator) at() time.Time {
	return g.from.Add(time.Duration(g.rnd.Int64N(int64(g.span)))).Truncate(time.Second)
}

// times is a random number of events averaging mean: 0 to 2×mean.
func (g *generator) times(mean float64) int {
	return int(g.rnd.Float64()*2*mean + 0.5)
}

// chunk is how many patients are held in memory before their rows are
// written.
const chunk = 5000

func (g *generator) fill(ctx context.Context, n int) (int, error) {
	cols := func(name string, columns ...string) *table { return &table{name: name, columns: columns} }
	accounts := cols("accounts", "id", "created_at", "updated_at", "email", "display_name", "identity_level", "notification_email")
	patients := cols("patients", "id", "created_at", "updated_at", "given_name", "family_name", "date_of_birth", "account_id")
	links := cols("patient_organisations", "patient_id", "organisation_id", "linked_at")
	invitations := cols("invitations", "id", "created_at", "updated_at", "patient_id", "organisation_id", "purpose",
		"email", "token_hash", "send_count", "last_sent_at", "failed_checks", "expires_at", "accepted_at")
	sessions := cols("sessions", "id", "account_id", "token_hash", "created_at", "last_seen_at", "expires_at",
		"identity_level", "method")
	shares := cols("shares", "id", "created_at", "updated_at", "patient_id", "relationship", "mental_health",
		"sexual_health", "social_care", "accepted_at")
	results := cols("results", "id", "created_at", "updated_at", "patient_id", "category", "source_organisation_id",
		"name", "status", "taken_at", "reported_at", "released_at", "never_release", "visible_from", "release_delay",
		"release_month", "release_quarter", "release_year")
	appointments := cols("appointments", "id", "created_at", "updated_at", "patient_id", "category",
		"source_organisation_id", "starts_at", "duration_minutes", "status", "title", "specialty")
	letters := cols("letters", "id", "created_at", "updated_at", "patient_id", "category", "source_organisation_id",
		"title", "sent_at", "body_format", "read_at")
	reads := cols("letter_reads", "id", "patient_id", "letter_id", "account_id", "read_at")
	notifications := cols("notifications", "id", "recipient_account_id", "patient_id", "kind", "category",
		"created_at", "emailed_at")
	activities := cols("patient_activities", "id", "patient_id", "organisation_id", "period", "starts_at",
		"sign_ins", "in_app", "emailed")
	// Parents before children, for the foreign keys.
	order := []*table{accounts, patients, links, invitations, sessions, shares, results, appointments, letters,
		reads, notifications, activities}

	relationships := []string{"CARER", "FAMILY", "PROFESSIONAL", "ORGANISATION"}
	statuses := []string{"BOOKED", "CANCELLED", "ATTENDED", "DID_NOT_ATTEND"}
	tokens := 0
	token := func() string { tokens++; return fmt.Sprintf("%016x%048d", g.rnd.Uint64(), tokens) }
	for i := range n {
		acc, pt := pulid.New("ac"), pulid.New("pt")
		joined := g.at()
		accounts.add(acc, joined, joined, fmt.Sprintf("bulk-%s-%07d@example.org", strings.ToLower(string(g.org[len(g.org)-6:])), i),
			"Bulk Patient", "P9", "DAILY")
		patients.add(pt, joined, joined, "Bulk", fmt.Sprintf("Patient%07d", i),
			time.Date(1940+g.rnd.IntN(66), time.Month(1+g.rnd.IntN(12)), 1+g.rnd.IntN(28), 0, 0, 0, 0, time.UTC), acc)
		linked := g.from.AddDate(0, 0, -30)
		if g.rnd.IntN(4) == 0 {
			linked = joined
		}
		links.add(pt, g.org, linked)
		tally := map[activity.Period]*activity.Counts{}
		count := func(at time.Time, add func(*activity.Counts)) {
			if at.Before(linked) {
				return
			}
			for _, p := range activity.Periods(at) {
				if tally[p] == nil {
					tally[p] = &activity.Counts{}
				}
				add(tally[p])
			}
		}
		var accepted *time.Time
		if g.rnd.Float64() < 0.8 {
			a := joined.Add(time.Duration(g.rnd.IntN(72*3600)) * time.Second)
			accepted = &a
		}
		invitations.add(pulid.New("iv"), joined, joined, pt, g.org, "REGISTRATION", "bulk@example.org", token(),
			1, joined, 0, joined.Add(14*24*time.Hour), accepted)
		for range g.times(g.v.Sessions) {
			at := g.at()
			sessions.add(pulid.New("ss"), acc, token(), at, at, at.Add(12*time.Hour), "P9", "PASSWORD")
			count(at, func(c *activity.Counts) { c.SignIns++ })
		}
		if g.rnd.Float64() < g.v.Shares {
			at := g.at()
			shares.add(pulid.New("sh"), at, at, pt, relationships[g.rnd.IntN(len(relationships))],
				g.rnd.IntN(4) == 0, g.rnd.IntN(10) == 0, g.rnd.IntN(5) == 0, at)
		}
		for range g.times(g.v.Results) {
			reported := g.at()
			var released, month, quarter, year *time.Time
			var delay *int
			never := g.rnd.IntN(20) == 0
			if !never {
				// Mostly within a day or two, with a long tail.
				r := reported.Add(time.Duration(g.rnd.ExpFloat64()*30*3600) * time.Second)
				released = &r
				d := int(r.Sub(reported) / time.Second)
				delay = &d
				m, q, y := calendar.Starts(r)
				month, quarter, year = &m, &q, &y
			}
			results.add(pulid.New("rs"), reported, reported, pt, "GENERAL", g.org, "Full blood count", "FINAL",
				reported.Add(-24*time.Hour), reported, released, never, released, delay,
				month, quarter, year)
		}
		for range g.times(g.v.Appointments) {
			at := g.at()
			var specialty *string
			if g.rnd.IntN(10) > 0 {
				specialty = &Specialties[g.rnd.IntN(len(Specialties))]
			}
			appointments.add(pulid.New("ap"), at, at, pt, "GENERAL", g.org, at, 15,
				statuses[g.rnd.IntN(len(statuses))], "Outpatient appointment", specialty)
		}
		for range g.times(g.v.Letters) {
			sent := g.at()
			id := pulid.New("lt")
			var read *time.Time
			if g.rnd.IntN(10) < 6 {
				r := sent.Add(time.Duration(g.rnd.IntN(7*24*3600)) * time.Second)
				read = &r
				reads.add(pulid.New("lr"), pt, id, acc, r)
			}
			letters.add(id, sent, sent, pt, "GENERAL", g.org, "Clinic letter", sent, "TEXT", read)
		}
		for range g.times(g.v.Notifications) {
			at := g.at()
			var emailed *time.Time
			if g.rnd.IntN(10) < 4 {
				e := at.Add(time.Hour)
				emailed = &e
			}
			notifications.add(pulid.New("no"), acc, pt, "RESULT_RELEASED", "GENERAL", at, emailed)
			count(at, func(c *activity.Counts) { c.InApp++ })
			if emailed != nil {
				count(*emailed, func(c *activity.Counts) { c.Emailed++ })
			}
		}
		for p, c := range tally {
			activities.add(pulid.New("pa"), pt, g.org, string(p.Kind), p.Start, c.SignIns, c.InApp, c.Emailed)
		}
		if (i+1)%chunk == 0 || i == n-1 {
			for _, t := range order {
				if err := g.flush(ctx, t); err != nil {
					return g.rows, err
				}
			}
		}
	}
	return g.rows, nil
}
