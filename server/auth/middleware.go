package auth

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/session"
	"github.com/patientportal/portal/server/store"
)

// lastSeenGranularity bounds how often a session's last use is written: a
// write per request would cost more than the idle timeout needs.
const lastSeenGranularity = 60

type requestKey struct{}

// request is what sign-in and sign-out need from the HTTP exchange.
type request struct {
	w    http.ResponseWriter
	addr string
	tls  bool
}

func responseFrom(ctx context.Context) http.ResponseWriter {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.w
	}
	return nil
}

// overTLS reports whether the request came over TLS: its cookie is Secure.
func overTLS(ctx context.Context) bool {
	r, ok := ctx.Value(requestKey{}).(*request)
	return ok && r.tls
}

func clientAddress(ctx context.Context) string {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.addr
	}
	return ""
}

// Middleware resolves the viewer of each request from its bearer token or
// session cookie and puts it in the context. A request without a valid
// session goes on signed out.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return s.MiddlewareWith(func(w http.ResponseWriter, _ *http.Request, _ error) {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
	})(next)
}

// MiddlewareWith is Middleware answering with fail when the viewer cannot
// be resolved (the store is down), so that the GraphQL endpoint can answer
// in GraphQL.
func (s *Service) MiddlewareWith(fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler { return s.middleware(next, fail) }
}

func (s *Service) middleware(next http.Handler, fail func(http.ResponseWriter, *http.Request, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := s.withRequest(w, r)
		token := s.token(r)
		if token == "" {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		v, err := s.Resolve(ctx, token)
		if err != nil {
			level := slog.LevelError
			if errors.Is(err, store.ErrUnavailable) {
				level = slog.LevelWarn // an outage, counted by the metrics; not a bug
			}
			slog.Log(ctx, level, "resolving viewer", "err", err)
			fail(w, r.WithContext(ctx), err)
			return
		}
		if v == nil {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		ctx, reads := access.WithReadLog(access.NewContext(ctx, v))
		next.ServeHTTP(w, r.WithContext(ctx))
		s.logReads(ctx, v, reads)
	})
}

// logReads writes the access log of a request: one entry per patient whose
// record someone other than the patient read.
func (s *Service) logReads(ctx context.Context, v *access.Viewer, reads *access.ReadLog) {
	sys := access.SystemContext(context.WithoutCancel(ctx))
	for _, r := range reads.Reads(v) {
		err := s.client.AuditEvent.Create().
			SetPatientID(r.PatientID).
			SetActorAccountID(v.AccountID).
			SetNillableActorOrganisationID(nonEmpty(r.OrganisationID)).
			SetAction("READ").
			SetRecordKinds(r.Kinds).
			SetNillableShareID(nonEmpty(r.ShareID)).
			SetBreakGlass(r.BreakGlassID != "").
			SetClientAddress(clientAddress(ctx)).
			SetAt(v.Now).
			Exec(sys)
		if err != nil {
			slog.ErrorContext(ctx, "access log entry not written", "err", err)
		}
	}
}

func nonEmpty(id pulid.ID) *pulid.ID {
	if id == "" {
		return nil
	}
	return &id
}

// withRequest returns the request's context carrying what sign-in and
// sign-out need from the exchange.
func (s *Service) withRequest(w http.ResponseWriter, r *http.Request) context.Context {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	return context.WithValue(r.Context(), requestKey{}, &request{w: w, addr: addr, tls: r.TLS != nil})
}

// token returns the request's session token. A cookie counts only on a
// state-changing method or a websocket upgrade, from the server's own or an
// allowed origin, so that a link or a cross-site page cannot act with it.
func (s *Service) token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, token, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return ""
	}
	if !s.sameOrAllowedOrigin(r) {
		return ""
	}
	// A websocket upgrade is a GET, but one a browser sends with its Origin
	// (checked above and again by the websocket library).
	upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket") && r.Header.Get("Origin") != ""
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !upgrade {
		return ""
	}
	return c.Value
}

func (s *Service) sameOrAllowedOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin on every cross-origin POST; its absence
		// means a same-origin request or a non-browser client.
		return true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+r.Host || slices.Contains(s.cfg.AllowedOrigins, origin)
}

// Resolve returns the viewer of a session token, or nil when the token names
// no live session. The viewer's grants are loaded here, once per request.
func (s *Service) Resolve(ctx context.Context, token string) (*access.Viewer, error) {
	sess, err := s.liveSession(ctx, session.TokenHash(hashToken(token)))
	if sess == nil || err != nil {
		return nil, err
	}
	now := s.now()
	if now.Sub(sess.LastSeenAt).Seconds() >= lastSeenGranularity {
		if err := s.client.Session.UpdateOne(sess).SetLastSeenAt(now).Exec(access.SystemContext(ctx)); err != nil {
			return nil, err
		}
	}
	return s.loadViewer(ctx, sess.AccountID, sess.ID, string(sess.IdentityLevel), now)
}

// liveSession finds the session which, and returns it only while it lives:
// not ended, not past its lifetime, not idle too long, its account enabled.
func (s *Service) liveSession(ctx context.Context, which predicate.Session) (*ent.Session, error) {
	now := s.now()
	// The account is checked in the same statement, not loaded: every
	// request comes through here.
	sess, err := s.client.Session.Query().
		Where(which, session.EndedAtIsNil(), session.HasAccountWith(account.DisabledAtIsNil())).
		Only(access.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.IdleTimeout {
		return nil, nil
	}
	return sess, nil
}

// grantsQuery reads every grant an account holds in one statement, as
// every request needs them: its own records (kind 0), its memberships (1),
// the active shares made to it or to an organisation it is a clinician
// at (2, oldest first), and its open break-the-glass windows (3). Shares and windows of a record whose sharing a privacy officer
// turned off give nothing. Each arm is a search down an index; an OR
// across the two grantee columns would scan every share.
const grantsQuery = "SELECT 0 AS `kind`, `p`.`id` AS `patient_id`, `p`.`id` AS `id`, NULL AS `organisation_id`, NULL AS `role`, " +
	"0 AS `mental_health`, 0 AS `sexual_health`, 0 AS `social_care`, NULL AS `at` " +
	"FROM `patients` AS `p` WHERE `p`.`account_id` = ? " +
	"UNION ALL SELECT 1, NULL, `m`.`id`, `m`.`organisation_id`, `m`.`role`, 0, 0, 0, NULL " +
	"FROM `memberships` AS `m` WHERE `m`.`account_id` = ? " +
	"UNION ALL " + activeShares + "FROM `shares` AS `s` WHERE `s`.`grantee_account_id` = ? AND " + shareIsActive +
	"UNION ALL " + activeShares + "FROM `memberships` AS `cm` CROSS JOIN `shares` AS `s` ON `s`.`grantee_organisation_id` = `cm`.`organisation_id` " +
	"WHERE `cm`.`account_id` = ? AND `cm`.`role` = ? AND " + shareIsActive +
	"UNION ALL SELECT 3, `g`.`patient_id`, `g`.`id`, NULL, NULL, 0, 0, 0, `g`.`started_at` " +
	"FROM `break_glasses` AS `g` WHERE `g`.`account_id` = ? AND `g`.`started_at` <= ? AND `g`.`expires_at` > ? " +
	"AND EXISTS (SELECT 1 FROM `patients` AS `gp` WHERE `gp`.`id` = `g`.`patient_id` AND `gp`.`sharing_disabled_at` IS NULL) " +
	"ORDER BY `kind`, `at`, `id`"

// activeShares and shareIsActive make the two share arms of grantsQuery:
// shares accepted, not revoked and not expired (shareIsActive's parameter
// is now), of records open to sharing. The organisation's arm starts from
// the viewer's memberships, so that it costs nothing to a viewer with none:
// CROSS JOIN fixes that order in SQLite (in MySQL it is an inner join),
// whose planner otherwise scanned every share, as it did for an IN
// subquery.
const (
	activeShares  = "SELECT 2, `s`.`patient_id`, `s`.`id`, NULL, NULL, `s`.`mental_health`, `s`.`sexual_health`, `s`.`social_care`, `s`.`created_at` "
	shareIsActive = "`s`.`accepted_at` IS NOT NULL AND `s`.`revoked_at` IS NULL AND (`s`.`expires_at` IS NULL OR `s`.`expires_at` > ?) " +
		"AND EXISTS (SELECT 1 FROM `patients` AS `sp` WHERE `sp`.`id` = `s`.`patient_id` AND `sp`.`sharing_disabled_at` IS NULL) "
)

// loadViewer loads every grant the account holds, once per request (see
// grantsQuery).
func (s *Service) loadViewer(ctx context.Context, accountID, sessionID pulid.ID, level string, now time.Time) (*access.Viewer, error) {
	v := &access.Viewer{AccountID: accountID, SessionID: sessionID, IdentityLevel: level, Now: now}
	rows, err := s.client.QueryContext(ctx, grantsQuery,
		accountID, accountID, accountID, now, accountID, access.RoleClinician, now, accountID, now, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			kind                   int
			patientID, org, role   sql.NullString
			id                     pulid.ID
			mental, sexual, social bool
			at                     any
		)
		if err := rows.Scan(&kind, &patientID, &id, &org, &role, &mental, &sexual, &social, &at); err != nil {
			return nil, err
		}
		p := pulid.ID(patientID.String)
		switch kind {
		case 0:
			v.Grants = append(v.Grants, access.Grant{PatientID: p, Owner: true})
		case 1:
			v.Memberships = append(v.Memberships, access.Membership{OrganisationID: pulid.ID(org.String), Role: role.String})
		case 2:
			v.Grants = append(v.Grants, access.ShareGrant(p, id, mental, sexual, social))
		case 3:
			v.Grants = append(v.Grants, access.Grant{PatientID: p, BreakGlassID: id})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return v, nil
}
