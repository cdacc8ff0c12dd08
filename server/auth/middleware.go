package auth

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/session"
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
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := s.withRequest(w, r)
		if token := s.token(r); token != "" {
			v, err := s.Resolve(ctx, token)
			if err != nil {
				slog.ErrorContext(ctx, "resolving viewer", "err", err)
				http.Error(w, "service unavailable", http.StatusServiceUnavailable)
				return
			}
			if v != nil {
				ctx = access.NewContext(ctx, v)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
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
// state-changing method from the server's own or an allowed origin, so that
// a link or a cross-site page cannot act with it.
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
	if r.Method == http.MethodGet || r.Method == http.MethodHead || !s.sameOrAllowedOrigin(r) {
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
	sys := access.SystemContext(ctx)
	now := s.now()
	sess, err := s.client.Session.Query().
		Where(session.TokenHash(hashToken(token)), session.EndedAtIsNil()).
		WithAccount().
		Only(sys)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	acc := sess.Edges.Account
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.IdleTimeout || acc == nil || acc.DisabledAt != nil {
		return nil, nil
	}
	if now.Sub(sess.LastSeenAt).Seconds() >= lastSeenGranularity {
		if err := s.client.Session.UpdateOne(sess).SetLastSeenAt(now).Exec(sys); err != nil {
			return nil, err
		}
	}
	v := &access.Viewer{AccountID: acc.ID, SessionID: sess.ID, IdentityLevel: string(sess.IdentityLevel)}
	own, err := s.client.Patient.Query().Where(patient.AccountID(acc.ID)).IDs(sys)
	if err != nil {
		return nil, err
	}
	for _, id := range own {
		v.Grants = append(v.Grants, access.Grant{PatientID: id, Owner: true})
	}
	ms, err := s.client.Membership.Query().Where(membership.AccountID(acc.ID)).All(sys)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		v.Memberships = append(v.Memberships, access.Membership{OrganisationID: m.OrganisationID, Role: string(m.Role)})
	}
	return v, nil
}
