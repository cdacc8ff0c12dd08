package report

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/patientactivity"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/graph/model"
)

// Keys of the parts of breakdowns that are not enum values of a table.
const (
	// NotRecorded is the specialty key of appointments without one.
	NotRecorded = "Not recorded"
	// ChannelInApp and ChannelEmail are the notification channels.
	ChannelInApp = "IN_APP"
	ChannelEmail = "EMAIL"
)

// The parts of breakdowns over enum values, in the order shown.
var (
	// shareLabels are the labels a share may grant beyond GENERAL.
	shareLabels   = []string{"MENTAL_HEALTH", "SEXUAL_HEALTH", "SOCIAL_CARE"}
	relationships = []share.Relationship{share.RelationshipCARER, share.RelationshipFAMILY,
		share.RelationshipPROFESSIONAL, share.RelationshipORGANISATION}
	statuses = []appointment.Status{appointment.StatusBOOKED, appointment.StatusCANCELLED,
		appointment.StatusATTENDED, appointment.StatusDID_NOT_ATTEND}
)

// figures are the raw counts of one organisation and period, before
// disclosure control. They never leave the package as they are.
type figures struct {
	invitationsSent     int
	invitationsAccepted int
	registrations       int
	activePatients      int

	shares []shareGroup

	resultsReleased int
	// releasePatients counts the patients of those results up to
	// threshold: enough to tell whether the measures may be shown.
	releasePatients  int
	releaseMedian    float64
	releaseP90       float64
	appointments     []appointmentGroup
	lettersDelivered int
	lettersRead      int
	inApp, emailed   int
}

// shareGroup is the shares of one relationship and how many grant each
// label.
type shareGroup struct {
	Relationship string `json:"relationship"`
	Count        int    `json:"count"`
	MentalHealth int    `json:"mental_health"`
	SexualHealth int    `json:"sexual_health"`
	SocialCare   int    `json:"social_care"`
}

// appointmentGroup is the appointments of one status and specialty.
type appointmentGroup struct {
	Status    string  `json:"status"`
	Specialty *string `json:"specialty"`
	Count     int     `json:"count"`
}

// measure runs the aggregates of org and p, each its own query, a few at
// a time (Config.Parallel), the costliest first. Results count as released
// once they are visible, so a period under way counts them only up to now.
func (s *Service) measure(ctx context.Context, org pulid.ID, p period, now time.Time) (*figures, error) {
	f := &figures{}
	released := p
	if now.Before(released.end) {
		released.end = now
	}
	q := newQueue()
	// Costliest first, as measured at 100,000 patients over a year on
	// SQLite (BenchmarkOverview), so that the workers finish together.
	// The release percentiles need the count first; they are queued
	// ahead of the rest once it is known.
	q.push(
		func() error { return s.releases(ctx, org, released, f, q) },
		func() (err error) {
			f.invitationsAccepted, f.registrations, err = s.invitationsAccepted(ctx, org, p)
			return
		},
		func() (err error) { f.shares, err = s.shares(ctx, org, p); return },
		func() (err error) { f.appointments, err = s.appointments(ctx, org, p); return },
		func() (err error) { f.lettersDelivered, f.lettersRead, err = s.letters(ctx, org, p); return },
		func() (err error) { f.activePatients, f.inApp, f.emailed, err = s.activity(ctx, org, p); return },
		func() (err error) { f.invitationsSent, err = s.invitationsSent(ctx, org, p); return },
	)
	if err := q.run(s.cfg.Parallel); err != nil {
		return nil, err
	}
	return f, nil
}

// queue is the statements of one overview, run by a few workers; a
// running statement may queue more ahead of those waiting.
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	tasks   []func() error
	running int
	errs    []error
}

// newQueue is an empty queue.
func newQueue() *queue {
	q := &queue{}
	q.cond.L = &q.mu
	return q
}

// push queues tasks ahead of those waiting, in the order given.
func (q *queue) push(tasks ...func() error) {
	q.mu.Lock()
	q.tasks = append(slices.Clone(tasks), q.tasks...)
	q.mu.Unlock()
	q.cond.Broadcast()
}

// run runs the queue with workers at a time until it is empty and none
// is running, or one fails.
func (q *queue) run(workers int) error {
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Go(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			for {
				for len(q.tasks) == 0 && q.running > 0 && len(q.errs) == 0 {
					q.cond.Wait()
				}
				if len(q.tasks) == 0 || len(q.errs) > 0 {
					q.cond.Broadcast()
					return
				}
				task := q.tasks[0]
				q.tasks = q.tasks[1:]
				q.running++
				q.mu.Unlock()
				err := task()
				q.mu.Lock()
				q.running--
				if err != nil {
					q.errs = append(q.errs, err)
				}
				q.cond.Broadcast()
			}
		})
	}
	wg.Wait()
	return errors.Join(q.errs...)
}

// linkedEach keeps the rows whose patient, in column, is linked to org, as
// a correlated EXISTS: the engine walks the rows of the period and looks
// each patient's link up by its key. For tables with few rows per period
// (shares).
func linkedEach(org pulid.ID, column string) func(*sql.Selector) {
	return func(s *sql.Selector) {
		t := sql.Table(patientorganisation.Table)
		s.Where(sql.Exists(sql.Select(t.C(patientorganisation.FieldPatientID)).From(t).
			Where(sql.And(
				sql.ColumnsEQ(t.C(patientorganisation.FieldPatientID), s.C(column)),
				sql.EQ(t.C(patientorganisation.FieldOrganisationID), org),
			))))
	}
}

// invitationsSent counts the registration invitations org created in p
// (resending one does not count again).
func (s *Service) invitationsSent(ctx context.Context, org pulid.ID, p period) (int, error) {
	return s.client.Invitation.Query().
		Where(invitation.OrganisationID(org), invitation.PurposeEQ(invitation.PurposeREGISTRATION),
			invitation.CreatedAtGTE(p.start), invitation.CreatedAtLT(p.end)).
		Aggregate(ent.Count()).Int(ctx)
}

// invitationsAccepted counts the registration invitations of org accepted
// in p, and the patients who registered by accepting them. A month's
// invitations are few, and MySQL counts distinct through its index well
// (BenchmarkOverview doubled on MariaDB with the grouping below), so
// they are counted distinct over the index range of their acceptance; on
// SQLite a quarter's or a year's are many, and a distinct
// count would fill a temporary table with their patients, so instead
// they are grouped by patient in the order of the index on
// (organisation, purpose, patient, accepted_at), reading the
// organisation's invitations of any time once, without a sort. Both are
// one statement.
func (s *Service) invitationsAccepted(ctx context.Context, org pulid.ID, p period) (accepted, patients int, err error) {
	if p.kind == model.ReportingPeriodKindMonth || s.dialect(ctx) != dialect.SQLite {
		var rows []struct {
			Count    int `json:"count"`
			Patients int `json:"patients"`
		}
		err = s.client.Invitation.Query().
			Where(invitation.OrganisationID(org), invitation.PurposeEQ(invitation.PurposeREGISTRATION),
				invitation.AcceptedAtGTE(p.start), invitation.AcceptedAtLT(p.end)).
			Aggregate(ent.Count(), distinct(invitation.FieldPatientID, "patients")).Scan(ctx, &rows)
		if err != nil || len(rows) == 0 {
			return 0, 0, err
		}
		return rows[0].Count, rows[0].Patients, nil
	}
	// Built for the engine here and run as the service: the caller has
	// checked the viewer.
	b := sql.Dialect(s.dialect(ctx))
	t := b.Table(invitation.Table)
	byPatient := b.Select(t.C(invitation.FieldPatientID), sql.As(sql.Count("*"), "n")).From(t).
		Where(sql.And(
			sql.EQ(t.C(invitation.FieldOrganisationID), org),
			sql.EQ(t.C(invitation.FieldPurpose), invitation.PurposeREGISTRATION),
			sql.GTE(t.C(invitation.FieldAcceptedAt), p.start),
			sql.LT(t.C(invitation.FieldAcceptedAt), p.end),
		)).
		GroupBy(t.C(invitation.FieldPatientID)).As("by_patient")
	query, args := b.Select("COALESCE(SUM(`n`), 0)", "COUNT(*)").From(byPatient).Query()
	rows, err := s.client.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, 0, errors.Join(rows.Err(), errNoRow)
	}
	if err := rows.Scan(&accepted, &patients); err != nil {
		return 0, 0, err
	}
	return accepted, patients, rows.Err()
}

// activity counts the patients linked to org who signed in during p,
// and the notifications about its patients' records written (each is
// shown in the portal when written) and emailed in p, from the rollup the
// writers keep (package activity): one covering index range, a row per
// patient active in p. Sign-ins and notifications count for the
// organisations the record was linked to when they happened.
func (s *Service) activity(ctx context.Context, org pulid.ID, p period) (active, inApp, emailed int, err error) {
	var rows []struct {
		Active  int `json:"active"`
		InApp   int `json:"in_app"`
		Emailed int `json:"emailed"`
	}
	sum := func(column string) ent.AggregateFunc {
		return func(s *sql.Selector) string { return sql.As("COALESCE(SUM("+s.C(column)+"), 0)", column) }
	}
	err = s.client.PatientActivity.Query().
		Where(patientactivity.OrganisationID(org), patientactivity.PeriodEQ(periodKinds[p.kind]),
			patientactivity.StartsAt(p.start)).
		Aggregate(
			func(s *sql.Selector) string {
				return sql.As("COALESCE(SUM(CASE WHEN "+s.C(patientactivity.FieldSignIns)+" > 0 THEN 1 ELSE 0 END), 0)", "active")
			},
			sum(patientactivity.FieldInApp), sum(patientactivity.FieldEmailed)).
		Scan(ctx, &rows)
	if err != nil || len(rows) == 0 {
		return 0, 0, 0, err
	}
	return rows[0].Active, rows[0].InApp, rows[0].Emailed, nil
}

// periodKinds are the rollup's names of the kinds of period.
var periodKinds = map[model.ReportingPeriodKind]patientactivity.Period{
	model.ReportingPeriodKindMonth:   patientactivity.PeriodMONTH,
	model.ReportingPeriodKindQuarter: patientactivity.PeriodQUARTER,
	model.ReportingPeriodKindYear:    patientactivity.PeriodYEAR,
}

// shares counts the shares of org's patients' records created in p, by
// relationship, with how many of each grant each label.
func (s *Service) shares(ctx context.Context, org pulid.ID, p period) ([]shareGroup, error) {
	var rows []shareGroup
	err := s.client.Share.Query().
		Where(share.CreatedAtGTE(p.start), share.CreatedAtLT(p.end), linkedEach(org, share.FieldPatientID)).
		GroupBy(share.FieldRelationship).
		Aggregate(ent.Count(), flagged(share.FieldMentalHealth), flagged(share.FieldSexualHealth),
			flagged(share.FieldSocialCare)).
		Scan(ctx, &rows)
	return rows, err
}

// releases counts the results of org that became visible to patients in p
// and, when they are of at least threshold patients, queues on q the
// median and 90th percentile of the hours from report to release, each
// its own statement, so that the two run side by side.
func (s *Service) releases(ctx context.Context, org pulid.ID, p period, f *figures, q *queue) error {
	var dia string
	released := func() *ent.ResultQuery {
		return s.client.Result.Query().Where(result.SourceOrganisationID(org),
			result.VisibleFromGTE(p.start), result.VisibleFromLT(p.end),
			func(s *sql.Selector) { dia = s.Dialect() })
	}
	n, err := released().Aggregate(ent.Count()).Int(ctx)
	if err != nil {
		return err
	}
	f.resultsReleased = n
	if n < threshold {
		return nil
	}
	// Whether there are threshold patients, not how many: the database
	// stops at the threshold-th.
	if f.releasePatients, err = s.releasePatients(ctx, dia, org, p); err != nil || f.releasePatients < threshold {
		return err
	}
	q.push(
		func() (err error) { f.releaseMedian, err = s.delayQuantile(ctx, dia, org, p, n, 0.5); return },
		func() (err error) { f.releaseP90, err = s.delayQuantile(ctx, dia, org, p, n, 0.9); return },
	)
	return nil
}

// releaseWhere keeps the results of org, in table t, visible from a time
// in p.
func releaseWhere(t *sql.SelectTable, org pulid.ID, p period) *sql.Predicate {
	return sql.And(
		sql.EQ(t.C(result.FieldSourceOrganisationID), org),
		sql.GTE(t.C(result.FieldVisibleFrom), p.start),
		sql.LT(t.C(result.FieldVisibleFrom), p.end),
	)
}

// releasePeriods are the result columns that hold the start of the
// calendar period of each kind that the result's release falls in.
var releasePeriods = map[model.ReportingPeriodKind]string{
	model.ReportingPeriodKindMonth:   result.FieldReleaseMonth,
	model.ReportingPeriodKindQuarter: result.FieldReleaseQuarter,
	model.ReportingPeriodKindYear:    result.FieldReleaseYear,
}

// releasePatients counts the distinct patients of the results of org
// visible from a time in p, up to threshold.
func (s *Service) releasePatients(ctx context.Context, dia string, org pulid.ID, p period) (int, error) {
	b := sql.Dialect(dia)
	t := b.Table(result.Table)
	some := b.Select(t.C(result.FieldPatientID)).Distinct().From(t).Where(releaseWhere(t, org, p)).
		Limit(threshold).As("p")
	query, args := b.Select().Count().From(some).Query()
	rows, err := s.client.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

// delayQuantile returns quantile q of the release delay over the n
// results of org visible in p, interpolated between the two closest ranks
// (as a spreadsheet's PERCENTILE.INC). The writers keep the delay in
// seconds and the calendar periods of the release on the result
// (ent/schema/hooks.go), indexed by organisation, period and delay, so
// the two rows at a rank are read by stepping through one index range in
// order from whichever end is nearer (LIMIT 2 OFFSET k), without a sort;
// p ends at the end of the period or now, whichever is sooner. The
// statement is built here for the engine dia and run as the service: the
// caller has checked the viewer.
func (s *Service) delayQuantile(ctx context.Context, dia string, org pulid.ID, p period, n int, q float64) (float64, error) {
	h := float64(n-1) * q
	lo := int(math.Floor(h)) // counted from 0
	b := sql.Dialect(dia)
	t := b.Table(result.Table)
	delay := t.C(result.FieldReleaseDelay)
	sel := b.Select(delay).From(t).Where(sql.And(
		sql.EQ(t.C(result.FieldSourceOrganisationID), org),
		sql.EQ(t.C(releasePeriods[p.kind]), p.start),
		sql.LT(t.C(result.FieldVisibleFrom), p.end),
	)).Limit(2)
	fromTop := n-1-(lo+1) < lo
	if fromTop {
		sel.OrderBy(sql.Desc(delay)).Offset(max(n-1-(lo+1), 0))
	} else {
		sel.OrderBy(delay).Offset(lo)
	}
	query, args := sel.Query()
	rows, err := s.client.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var seconds []float64
	for rows.Next() {
		var v float64
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
		seconds = append(seconds, v)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(seconds) == 0 {
		return 0, errNoRow
	}
	if fromTop {
		slices.Reverse(seconds)
		if lo+1 > n-1 { // the last rank has no next
			seconds = seconds[len(seconds)-1:]
		}
	}
	v := seconds[0]
	if len(seconds) > 1 {
		v += (h - float64(lo)) * (seconds[1] - v)
	}
	return v / 3600, nil
}

// appointments counts the appointments of org starting in p by status and
// specialty. A GROUP BY would sort every appointment of the period; the
// groups are few, so instead the index on (organisation, status,
// specialty, start) is read as a loose scan: the organisation's groups
// (appointmentGroups), then one count per group of its range of starts in
// p, all in one statement. The cost follows the period's appointments and
// the number of groups, never a sort.
func (s *Service) appointments(ctx context.Context, org pulid.ID, p period) ([]appointmentGroup, error) {
	groups, err := s.appointmentGroups(ctx, org)
	if err != nil || len(groups) == 0 {
		return nil, err
	}
	counts := make([]string, len(groups))
	var args []any
	for i, g := range groups {
		bySpecialty := "`" + appointment.FieldSpecialty + "` IS NULL"
		args = append(args, org, g.Status)
		if g.Specialty != nil {
			bySpecialty = "`" + appointment.FieldSpecialty + "` = ?"
			args = append(args, *g.Specialty)
		}
		args = append(args, p.start, p.end)
		counts[i] = "(SELECT COUNT(*) FROM `" + appointment.Table + "` WHERE `" +
			appointment.FieldSourceOrganisationID + "` = ? AND `" + appointment.FieldStatus + "` = ? AND " +
			bySpecialty + " AND `" + appointment.FieldStartsAt + "` >= ? AND `" + appointment.FieldStartsAt + "` < ?)"
	}
	// Backquoted names and ? placeholders read the same on SQLite and MySQL.
	rows, err := s.client.QueryContext(ctx, "SELECT "+strings.Join(counts, ", "), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dest := make([]any, len(groups))
	for i := range groups {
		dest[i] = &groups[i].Count
	}
	if !rows.Next() {
		return nil, errors.Join(rows.Err(), errNoRow)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(groups, func(g appointmentGroup) bool { return g.Count == 0 }), rows.Err()
}

// errNoRow is an aggregate statement that answered no row.
var errNoRow = errors.New("report: an aggregate returned no row")

// appointmentGroups are the statuses and specialties of org's
// appointments of any time. MySQL reads a DISTINCT on the index's leading
// columns by jumping from group to group; SQLite would step through every
// entry, so there each next specialty of a status is one seek, cheap in
// process.
func (s *Service) appointmentGroups(ctx context.Context, org pulid.ID) ([]appointmentGroup, error) {
	var groups []appointmentGroup
	if s.dialect(ctx) == dialect.MySQL {
		err := s.client.Appointment.Query().Where(appointment.SourceOrganisationID(org)).Unique(true).
			Select(appointment.FieldStatus, appointment.FieldSpecialty).Scan(ctx, &groups)
		return groups, err
	}
	for _, st := range statuses {
		var after *string
		for first := true; ; first = false {
			q := s.client.Appointment.Query().Where(appointment.SourceOrganisationID(org), appointment.StatusEQ(st))
			switch {
			case first:
			case after == nil:
				q.Where(appointment.SpecialtyNotNil())
			default:
				q.Where(appointment.SpecialtyGT(*after))
			}
			var next []appointmentGroup
			// NULL sorts first.
			if err := q.Order(ent.Asc(appointment.FieldSpecialty)).Limit(1).
				Select(appointment.FieldStatus, appointment.FieldSpecialty).Scan(ctx, &next); err != nil {
				return nil, err
			}
			if len(next) == 0 {
				break
			}
			groups = append(groups, next[0])
			after = next[0].Specialty
		}
	}
	return groups, nil
}

// dialect is the database engine's: a window function and a few
// statements are written for it.
func (s *Service) dialect(ctx context.Context) string {
	s.once.Do(func() {
		// Building any query tells; running one costs a key lookup.
		_, _ = s.client.Organisation.Query().Where(func(sel *sql.Selector) { s.dia = sel.Dialect() }).
			Limit(1).IDs(ctx)
	})
	return s.dia
}

// letters counts the letters org sent in p, and those of them their
// patient has read in the portal. A letter's read_at is set by the
// patient's first read, in the transaction that records that read
// (clinical.MarkLetterRead), so it alone says whether the patient read it;
// reads by carers, which are recorded only in letter_reads, do not count.
func (s *Service) letters(ctx context.Context, org pulid.ID, p period) (delivered, read int, err error) {
	var rows []struct {
		Count int `json:"count"`
		Read  int `json:"read_count"`
	}
	err = s.client.Letter.Query().
		Where(letter.SourceOrganisationID(org), letter.SentAtGTE(p.start), letter.SentAtLT(p.end)).
		Aggregate(ent.Count(), func(s *sql.Selector) string {
			return sql.As(sql.Count(s.C(letter.FieldReadAt)), "read_count")
		}).
		Scan(ctx, &rows)
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	return rows[0].Count, rows[0].Read, nil
}

// distinct is COUNT(DISTINCT column) named as.
func distinct(column, as string) ent.AggregateFunc {
	return func(s *sql.Selector) string {
		return sql.As(sql.Count(sql.Distinct(s.C(column))), as)
	}
}

// flagged counts the rows whose boolean column is set, named as the column.
func flagged(column string) ent.AggregateFunc {
	return func(s *sql.Selector) string {
		return sql.As("SUM(CASE WHEN "+s.C(column)+" THEN 1 ELSE 0 END)", column)
	}
}

// overview applies disclosure control to the figures of p.
func (f *figures) overview(p period, postagePence int) *model.ReportingOverview {
	read := count(f.lettersRead)
	byRelationship, byLabel := f.shareBreakdowns()
	byStatus, bySpecialty := f.appointmentBreakdowns()
	return &model.ReportingOverview{
		Period:                  p.model(),
		Registrations:           count(f.registrations),
		ActivePatients:          count(f.activePatients),
		InvitationsSent:         count(f.invitationsSent),
		InvitationsAccepted:     count(f.invitationsAccepted),
		SharesByRelationship:    byRelationship,
		SharesByCategory:        byLabel,
		ResultsReleased:         count(f.resultsReleased),
		ReleaseDelayMedianHours: measure(f.releaseMedian, f.releasePatients),
		ReleaseDelayP90Hours:    measure(f.releaseP90, f.releasePatients),
		AppointmentsByStatus:    byStatus,
		AppointmentsBySpecialty: bySpecialty,
		LettersDelivered:        count(f.lettersDelivered),
		LettersReadInPortal:     read,
		PostageSavedPence:       times(read, postagePence),
		NotificationsByChannel: breakdown(f.inApp+f.emailed, []part{
			{ChannelInApp, f.inApp}, {ChannelEmail, f.emailed},
		}),
	}
}

// shareBreakdowns are the shares by relationship (every relationship, in
// the schema's order) and by label; both have all the shares as total.
func (f *figures) shareBreakdowns() (byRelationship, byLabel *model.Breakdown) {
	var total int
	labels := make([]int, len(shareLabels))
	byRelationshipParts := make([]part, 0, len(relationships))
	for _, r := range relationships {
		byRelationshipParts = append(byRelationshipParts, part{key: string(r)})
	}
	for _, g := range f.shares {
		total += g.Count
		labels[0] += g.MentalHealth
		labels[1] += g.SexualHealth
		labels[2] += g.SocialCare
		for i := range byRelationshipParts {
			if byRelationshipParts[i].key == g.Relationship {
				byRelationshipParts[i].n += g.Count
			}
		}
	}
	byLabelParts := make([]part, len(shareLabels))
	for i, l := range shareLabels {
		byLabelParts[i] = part{key: l, n: labels[i]}
	}
	byRelationship, byLabel = breakdown(total, byRelationshipParts), breakdown(total, byLabelParts)
	sameTotal(byRelationship, byLabel)
	return byRelationship, byLabel
}

// appointmentBreakdowns are the appointments by status (every status, in
// the schema's order) and by specialty (those present, by name, with
// NotRecorded last); both have all the appointments as total.
func (f *figures) appointmentBreakdowns() (byStatus, bySpecialty *model.Breakdown) {
	var total int
	byStatusParts := make([]part, 0, len(statuses))
	for _, st := range statuses {
		byStatusParts = append(byStatusParts, part{key: string(st)})
	}
	specialties := map[string]int{}
	for _, g := range f.appointments {
		total += g.Count
		for i := range byStatusParts {
			if byStatusParts[i].key == g.Status {
				byStatusParts[i].n += g.Count
			}
		}
		key := NotRecorded
		if g.Specialty != nil && strings.TrimSpace(*g.Specialty) != "" {
			key = strings.TrimSpace(*g.Specialty)
		}
		specialties[key] += g.Count
	}
	named := make([]part, 0, len(specialties))
	for k, n := range specialties {
		named = append(named, part{key: k, n: n})
	}
	slices.SortFunc(named, func(a, b part) int {
		if (a.key == NotRecorded) != (b.key == NotRecorded) {
			if a.key == NotRecorded {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.key, b.key)
	})
	byStatus, bySpecialty = breakdown(total, byStatusParts), breakdown(total, named)
	sameTotal(byStatus, bySpecialty)
	return byStatus, bySpecialty
}
