package bench

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// Baseline answers the dashboard query the way a team would by hand: the
// statements the GraphQL request issues (captured with `bench -sql`), one
// for one, written as plain SQL through database/sql, and the same JSON
// written with encoding/json. It knows only the dashboard document, with
// its variables; it is the yardstick, not a second API.
type Baseline struct {
	db *sql.DB
	// statements counts what it sends, as store.StatementCounter does for
	// the portal.
	statements atomic.Int64
}

// NewBaseline returns the baseline over db.
func NewBaseline(db *sql.DB) *Baseline { return &Baseline{db: db} }

// Statements returns the statements sent so far.
func (b *Baseline) Statements() int64 { return b.statements.Load() }

// baselineGrant is one record the viewer may open.
type baselineGrant struct {
	patient pulid.ID
	owner   bool
	share   pulid.ID
	labels  []string // effective categories visible; nil for the owner (all)
}

type (
	bDashboard struct {
		Data bData `json:"data"`
	}
	bData struct {
		Viewer  *bViewer  `json:"viewer"`
		Patient *bPatient `json:"patient"`
	}
	bViewer struct {
		Account  bAccount       `json:"account"`
		Patients []bPatientName `json:"patients"`
	}
	bAccount struct {
		ID          string `json:"id"`
		Email       string `json:"email"`
		DisplayName string `json:"displayName"`
	}
	bPatientName struct {
		ID         string `json:"id"`
		GivenName  string `json:"givenName"`
		FamilyName string `json:"familyName"`
	}
	bPatient struct {
		ID           string          `json:"id"`
		GivenName    string          `json:"givenName"`
		FamilyName   string          `json:"familyName"`
		NHSNumber    *string         `json:"nhsNumber"`
		DateOfBirth  time.Time       `json:"dateOfBirth"`
		InvitedBy    *bOrg           `json:"invitedBy"`
		Appointments bConn[bAppt]    `json:"appointments"`
		Allergies    bConn[bAllergy] `json:"allergies"`
		Results      bEdges[bResult] `json:"results"`
		Letters      bConn[bLetter]  `json:"letters"`
	}
	bOrg struct {
		Name           string  `json:"name"`
		LogoURL        *string `json:"logoURL"`
		WelcomeMessage *string `json:"welcomeMessage"`
	}
	bConn[T any] struct {
		TotalCount int        `json:"totalCount"`
		Edges      []bEdge[T] `json:"edges"`
	}
	bEdges[T any] struct {
		Edges []bEdge[T] `json:"edges"`
	}
	bEdge[T any] struct {
		Node T `json:"node"`
	}
	bAppt struct {
		ID       string    `json:"id"`
		Title    string    `json:"title"`
		StartsAt time.Time `json:"startsAt"`
		Clinic   *string   `json:"clinic"`
		Site     *string   `json:"site"`
		Category string    `json:"category"`
	}
	bAllergy struct {
		ID         string  `json:"id"`
		Substance  string  `json:"substance"`
		Reaction   *string `json:"reaction"`
		Severity   *string `json:"severity"`
		RecordedBy string  `json:"recordedBy"`
		Category   string  `json:"category"`
	}
	bResult struct {
		ID         string       `json:"id"`
		Name       string       `json:"name"`
		ReportedAt time.Time    `json:"reportedAt"`
		Category   string       `json:"category"`
		Components []bComponent `json:"components"`
	}
	bComponent struct {
		Name          string   `json:"name"`
		ValueNumeric  *float64 `json:"valueNumeric"`
		ValueText     *string  `json:"valueText"`
		Unit          *string  `json:"unit"`
		ReferenceLow  *float64 `json:"referenceLow"`
		ReferenceHigh *float64 `json:"referenceHigh"`
		Flag          *string  `json:"flag"`
	}
	bLetter struct {
		ID     string    `json:"id"`
		Title  string    `json:"title"`
		SentAt time.Time `json:"sentAt"`
	}
)

// baselineRequest is the part of the GraphQL request the baseline reads.
type baselineRequest struct {
	Variables struct {
		Patient pulid.ID  `json:"patient"`
		Now     time.Time `json:"now"`
	} `json:"variables"`
}

// ServeHTTP answers a dashboard request.
func (b *Baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req baselineRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	out, err := b.dashboard(r.Context(), token, req.Variables.Patient, req.Variables.Now.UTC(), clientIP(r))
	if err != nil {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (b *Baseline) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	b.statements.Add(1)
	return b.db.QueryContext(ctx, q, args...)
}

func (b *Baseline) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	b.statements.Add(1)
	return b.db.QueryRowContext(ctx, q, args...)
}

func (b *Baseline) exec(ctx context.Context, q string, args ...any) error {
	b.statements.Add(1)
	_, err := b.db.ExecContext(ctx, q, args...)
	return err
}

// idleTimeout and lastSeenGranularity are the portal's defaults.
const (
	baselineIdleTimeout = 30 * time.Minute
	baselineLastSeen    = time.Minute
)

// baselineShares and baselineActive make the share arms of the grants
// statement (baselineActive's parameter is now).
const (
	baselineShares = "SELECT 2, s.`patient_id`, s.`id`, s.`mental_health`, s.`sexual_health`, s.`social_care`, s.`created_at` "
	baselineActive = "s.`accepted_at` IS NOT NULL AND s.`revoked_at` IS NULL AND (s.`expires_at` IS NULL OR s.`expires_at` > ?) " +
		"AND EXISTS (SELECT 1 FROM `patients` p WHERE p.`id` = s.`patient_id` AND p.`sharing_disabled_at` IS NULL) "
)

// dashboard runs the statements and builds the answer.
func (b *Baseline) dashboard(ctx context.Context, token string, patientID pulid.ID, since time.Time, addr string) (*bDashboard, error) {
	now := time.Now().UTC()
	out := &bDashboard{}
	sum := sha256.Sum256([]byte(token))
	var (
		sessionID, accountID pulid.ID
		expires, lastSeen    time.Time
		level                string
		acc                  bAccount
	)
	err := b.queryRow(ctx, "SELECT `id`, `account_id`, `expires_at`, `last_seen_at`, `identity_level` FROM `sessions` "+
		"WHERE `token_hash` = ? AND `ended_at` IS NULL AND EXISTS (SELECT 1 FROM `accounts` "+
		"WHERE `accounts`.`id` = `sessions`.`account_id` AND `disabled_at` IS NULL)", hex.EncodeToString(sum[:])).
		Scan(&sessionID, &accountID, &expires, &lastSeen, &level)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(expires) || now.Sub(lastSeen) >= baselineIdleTimeout {
		return out, nil
	}
	if now.Sub(lastSeen) >= baselineLastSeen {
		if err := b.exec(ctx, "UPDATE `sessions` SET `last_seen_at` = ? WHERE `id` = ?", now, sessionID); err != nil {
			return nil, err
		}
	}

	// The viewer's grants in one statement, as the portal reads them: own
	// records, memberships, shares, windows. The dashboard's viewers are
	// neither clinicians nor professionals, so only the first and the
	// third kind come back.
	var grants []baselineGrant
	rows, err := b.query(ctx, "SELECT 0 AS `kind`, `id` AS `patient_id`, `id`, 0 AS `mh`, 0 AS `sh`, 0 AS `sc`, NULL AS `at` FROM `patients` WHERE `account_id` = ? "+
		"UNION ALL SELECT 1, NULL, `id`, 0, 0, 0, NULL FROM `memberships` WHERE `account_id` = ? "+
		"UNION ALL "+baselineShares+"FROM `shares` s WHERE s.`grantee_account_id` = ? AND "+baselineActive+
		"UNION ALL "+baselineShares+"FROM `memberships` m CROSS JOIN `shares` s ON s.`grantee_organisation_id` = m.`organisation_id` "+
		"WHERE m.`account_id` = ? AND m.`role` = 'CLINICIAN' AND "+baselineActive+
		"UNION ALL SELECT 3, g.`patient_id`, g.`id`, 0, 0, 0, g.`started_at` FROM `break_glasses` g "+
		"WHERE g.`account_id` = ? AND g.`started_at` <= ? AND g.`expires_at` > ? "+
		"AND EXISTS (SELECT 1 FROM `patients` p WHERE p.`id` = g.`patient_id` AND p.`sharing_disabled_at` IS NULL) "+
		"ORDER BY `kind`, `at`, `id`", accountID, accountID, accountID, now, accountID, now, accountID, now, now)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			kind       int
			patient    sql.NullString
			id         pulid.ID
			mh, sh, sc bool
			at         any
		)
		if err := rows.Scan(&kind, &patient, &id, &mh, &sh, &sc, &at); err != nil {
			rows.Close()
			return nil, err
		}
		g := baselineGrant{patient: pulid.ID(patient.String)}
		switch kind {
		case 0:
			g.owner = true
		case 2:
			g.share = id
			g.labels = []string{"GENERAL"}
			for _, l := range []struct {
				on   bool
				name string
			}{{mh, "MENTAL_HEALTH"}, {sh, "SEXUAL_HEALTH"}, {sc, "SOCIAL_CARE"}} {
				if l.on {
					g.labels = append(g.labels, l.name)
				}
			}
			if mh && sh && sc {
				g.labels = append(g.labels, "RESTRICTED")
			}
		default:
			continue
		}
		grants = append(grants, g)
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}

	// viewer { account patients }
	v := &bViewer{Patients: []bPatientName{}}
	if err := b.queryRow(ctx, "SELECT `id`, `email`, `display_name` FROM `accounts` WHERE `id` = ?", accountID).
		Scan(&acc.ID, &acc.Email, &acc.DisplayName); err != nil {
		return nil, err
	}
	v.Account = acc
	out.Data.Viewer = v
	if len(grants) > 0 {
		ids := make([]any, len(grants))
		for i, g := range grants {
			ids[i] = g.patient
		}
		rows, err = b.query(ctx, "SELECT `id`, `given_name`, `family_name` FROM `patients` WHERE `id` IN ("+placeholders(len(ids))+")", ids...)
		if err != nil {
			return nil, err
		}
		byID := map[string]bPatientName{}
		for rows.Next() {
			var p bPatientName
			if err := rows.Scan(&p.ID, &p.GivenName, &p.FamilyName); err != nil {
				rows.Close()
				return nil, err
			}
			byID[p.ID] = p
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
		for _, g := range grants { // own first, then shares as made
			if p, ok := byID[string(g.patient)]; ok {
				v.Patients = append(v.Patients, p)
				delete(byID, string(g.patient))
			}
		}
	}

	// patient(id:)
	var grant *baselineGrant
	for i := range grants {
		if grants[i].patient == patientID {
			grant = &grants[i]
			break
		}
	}
	if grant == nil {
		return out, nil
	}
	p := &bPatient{}
	var org sql.NullString
	err = b.queryRow(ctx, "SELECT `id`, `given_name`, `family_name`, `nhs_number`, `date_of_birth`, `invited_by_organisation_id` "+
		"FROM `patients` WHERE `id` = ?", patientID).Scan(&p.ID, &p.GivenName, &p.FamilyName, &p.NHSNumber, &p.DateOfBirth, &org)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	p.DateOfBirth = p.DateOfBirth.UTC()
	if org.Valid {
		o := &bOrg{}
		if err := b.queryRow(ctx, "SELECT `name`, `logo_url`, `welcome_message` FROM `organisations` WHERE `id` = ?", org.String).
			Scan(&o.Name, &o.LogoURL, &o.WelcomeMessage); err != nil {
			return nil, err
		}
		p.InvitedBy = o
	}
	// The row filter: the owner sees every label, a share its labels.
	labels, labelArgs := "", []any{}
	if !grant.owner {
		labels = " AND `category` IN (" + placeholders(len(grant.labels)) + ")"
		for _, l := range grant.labels {
			labelArgs = append(labelArgs, l)
		}
	}
	args := func(head ...any) []any { return append(head, labelArgs...) }
	kinds := []string{"Patient"}

	rows, err = b.query(ctx, "SELECT `id`, `title`, `starts_at`, `clinic`, `site`, `category` FROM `appointments` "+
		"WHERE `patient_id` = ? AND `starts_at` >= ?"+labels+" ORDER BY `starts_at`, `id` LIMIT 6", args(patientID, since)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a bAppt
		if err := rows.Scan(&a.ID, &a.Title, &a.StartsAt, &a.Clinic, &a.Site, &a.Category); err != nil {
			rows.Close()
			return nil, err
		}
		a.StartsAt = a.StartsAt.UTC()
		p.Appointments.Edges = append(p.Appointments.Edges, bEdge[bAppt]{a})
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	p.Appointments.Edges = firstEdges(p.Appointments.Edges, 5, &kinds, "Appointment")

	rows, err = b.query(ctx, "SELECT `id`, `substance`, `reaction`, `severity`, `recorded_by`, `category` FROM `allergies` "+
		"WHERE `patient_id` = ?"+labels+" ORDER BY `id` LIMIT 21", args(patientID)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var a bAllergy
		if err := rows.Scan(&a.ID, &a.Substance, &a.Reaction, &a.Severity, &a.RecordedBy, &a.Category); err != nil {
			rows.Close()
			return nil, err
		}
		p.Allergies.Edges = append(p.Allergies.Edges, bEdge[bAllergy]{a})
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	p.Allergies.Edges = firstEdges(p.Allergies.Edges, 20, &kinds, "Allergy")

	// Results: the owner sees every result ever to be released (content
	// only from release), a share only released ones.
	visible := " AND `never_release` = 0"
	resultArgs := args(patientID)
	if !grant.owner {
		visible = " AND `visible_from` <= ?"
		resultArgs = append(resultArgs, now)
	}
	rows, err = b.query(ctx, "SELECT `id`, `name`, `reported_at`, `category` FROM `results` "+
		"WHERE `patient_id` = ?"+labels+visible+" ORDER BY `reported_at` DESC, `id` DESC LIMIT 6", resultArgs...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var res bResult
		if err := rows.Scan(&res.ID, &res.Name, &res.ReportedAt, &res.Category); err != nil {
			rows.Close()
			return nil, err
		}
		res.ReportedAt = res.ReportedAt.UTC()
		res.Components = []bComponent{}
		p.Results.Edges = append(p.Results.Edges, bEdge[bResult]{res})
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	p.Results.Edges = firstEdges(p.Results.Edges, 5, &kinds, "Result")
	if len(p.Results.Edges) > 0 {
		ids := make([]any, 0, len(p.Results.Edges)+len(labelArgs)+2)
		index := map[string]int{}
		for i, e := range p.Results.Edges {
			ids = append(ids, e.Node.ID)
			index[e.Node.ID] = i
		}
		compLabels := strings.ReplaceAll(labels, "`category`", "c.`category`")
		ids = append(append(append(ids, patientID), labelArgs...), now)
		rows, err = b.query(ctx, "SELECT c.`result_id`, c.`name`, c.`value_numeric`, c.`value_text`, c.`unit`, c.`reference_low`, "+
			"c.`reference_high`, c.`flag` FROM `result_components` c JOIN `results` r ON r.`id` = c.`result_id` "+
			"WHERE c.`result_id` IN ("+placeholders(len(p.Results.Edges))+") AND c.`patient_id` = ?"+compLabels+
			" AND r.`visible_from` <= ? ORDER BY c.`id`", ids...)
		if err != nil {
			return nil, err
		}
		read := false
		for rows.Next() {
			var resultID string
			var c bComponent
			if err := rows.Scan(&resultID, &c.Name, &c.ValueNumeric, &c.ValueText, &c.Unit, &c.ReferenceLow, &c.ReferenceHigh, &c.Flag); err != nil {
				rows.Close()
				return nil, err
			}
			e := &p.Results.Edges[index[resultID]].Node
			e.Components = append(e.Components, c)
			read = true
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
		if read {
			kinds = append(kinds, "ResultComponent")
		}
	}

	rows, err = b.query(ctx, "SELECT `id`, `title`, `sent_at` FROM `letters` WHERE `patient_id` = ? AND `read_at` IS NULL"+labels+
		" ORDER BY `id` LIMIT 21", args(patientID)...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var l bLetter
		if err := rows.Scan(&l.ID, &l.Title, &l.SentAt); err != nil {
			rows.Close()
			return nil, err
		}
		l.SentAt = l.SentAt.UTC()
		p.Letters.Edges = append(p.Letters.Edges, bEdge[bLetter]{l})
	}
	if err := closeRows(rows); err != nil {
		return nil, err
	}
	p.Letters.Edges = firstEdges(p.Letters.Edges, 20, &kinds, "Letter")

	for _, c := range []struct {
		into *int
		sql  string
		args []any
	}{
		{&p.Appointments.TotalCount, "SELECT COUNT(*) FROM `appointments` WHERE `patient_id` = ? AND `starts_at` >= ?" + labels, args(patientID, since)},
		{&p.Allergies.TotalCount, "SELECT COUNT(*) FROM `allergies` WHERE `patient_id` = ?" + labels, args(patientID)},
		{&p.Letters.TotalCount, "SELECT COUNT(*) FROM `letters` WHERE `patient_id` = ? AND `read_at` IS NULL" + labels, args(patientID)},
	} {
		if err := b.queryRow(ctx, c.sql, c.args...).Scan(c.into); err != nil {
			return nil, err
		}
	}
	out.Data.Patient = p

	// The access log: someone other than the patient read the record.
	if !grant.owner {
		slices.Sort(kinds)
		k, _ := json.Marshal(kinds)
		if err := b.exec(context.WithoutCancel(ctx), "INSERT INTO `audit_events` (`id`, `actor_account_id`, `action`, `record_kinds`, "+
			"`share_id`, `break_glass`, `client_address`, `at`, `patient_id`) VALUES (?, ?, 'READ', ?, ?, 0, ?, ?, ?)",
			pulid.New("ae"), accountID, k, grant.share, addr, now, patientID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// firstEdges keeps the first n edges (one more was read to know whether
// there is a next page) and notes kind as read when there is any.
func firstEdges[T any](edges []bEdge[T], n int, kinds *[]string, kind string) []bEdge[T] {
	if edges == nil {
		return []bEdge[T]{}
	}
	*kinds = append(*kinds, kind)
	return edges[:min(n, len(edges))]
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}
