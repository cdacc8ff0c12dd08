// Package auth signs people in and out and resolves the viewer of every
// request from its session token. It never decides what a viewer may see:
// it only says who the viewer is and which grants they hold.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/session"
	"github.com/patientportal/portal/server/activity"
)

// ErrInvalidCredentials is the one answer to a wrong password and to an
// unknown email alike.
var ErrInvalidCredentials = errors.New("email or password is incorrect")

// ErrSignedOut is returned when an action needs a session and there is none.
var ErrSignedOut = errors.New("not signed in")

// CookieName is the session cookie browsers receive.
const CookieName = "portal_session"

// Config holds the session settings.
type Config struct {
	// IdleTimeout ends a session not used for this long.
	IdleTimeout time.Duration
	// Lifetime ends a session this long after sign-in, used or not.
	Lifetime time.Duration
	// SecureCookie marks the cookie Secure (behind TLS).
	SecureCookie bool
	// AllowedOrigins may send cookie-authenticated requests besides the
	// server's own origin.
	AllowedOrigins []string
	// PublicURL is where the portal is reached, for links in emails.
	PublicURL string
	// Now is the clock; tests inject their own.
	Now func() time.Time
}

// Service implements sign-in, sign-out and viewer resolution.
type Service struct {
	client *ent.Client
	cfg    Config
	// dummyHash is checked against when the email is unknown, so that both
	// failures do the same work.
	dummyHash string
	limits    addressLimits
}

// New returns a Service over client.
func New(client *ent.Client, cfg Config) (*Service, error) {
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 12 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	dummy, err := HashPassword("not a real password, only for timing")
	if err != nil {
		return nil, err
	}
	return &Service{client: client, cfg: cfg, dummyHash: dummy}, nil
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// NormaliseEmail is the form in which emails are stored and compared.
func NormaliseEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// SignIn checks email and password and starts a session. The token is
// returned and, for browsers, set as a cookie on the response. Every
// refusal (wrong password, unknown email, lockout, rate limit) is the same
// ErrInvalidCredentials after the same hashing work.
func (s *Service) SignIn(ctx context.Context, email, password string) (string, *ent.Account, error) {
	sys := access.SystemContext(ctx)
	addr := clientAddress(ctx)
	wait, allowed, giveBack := s.limits.wait(addr, s.now())
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", nil, ctx.Err()
		}
	}
	locked, err := s.lockedOut(sys, email, addr)
	if err != nil {
		return "", nil, err
	}
	acc, err := s.client.Account.Query().
		Where(account.Email(NormaliseEmail(email)), account.DisabledAtIsNil()).
		Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return "", nil, err
	}
	hash := s.dummyHash
	if acc != nil && acc.PasswordHash != nil {
		hash = *acc.PasswordHash
	}
	match, _ := checkPassword(hash, password)
	if !allowed || locked || acc == nil || acc.PasswordHash == nil || !match {
		var id *pulid.ID
		if acc != nil {
			id = &acc.ID
		}
		if allowed && !locked {
			if err := s.recordFailure(sys, email, addr); err != nil {
				return "", nil, err
			}
		}
		s.audit(sys, id, "SIGN_IN_FAILED", addr)
		return "", nil, ErrInvalidCredentials
	}
	giveBack()
	if err := s.recordSuccess(sys, email, addr); err != nil {
		return "", nil, err
	}
	token, err := s.startSession(ctx, acc, session.IdentityLevel(acc.IdentityLevel), session.MethodPASSWORD)
	if err != nil {
		return "", nil, err
	}
	return token, acc, nil
}

// startSession creates a session for acc, sets the browser cookie and
// records the sign-in.
func (s *Service) startSession(ctx context.Context, acc *ent.Account, level session.IdentityLevel, method session.Method) (string, error) {
	sys := access.SystemContext(ctx)
	token, err := newToken()
	if err != nil {
		return "", err
	}
	now := s.now()
	// The sign-in is counted for reporting with the session, or not at all.
	err = s.withTx(ctx, func(tx *ent.Client) error {
		if err := tx.Session.Create().
			SetAccountID(acc.ID).
			SetTokenHash(hashToken(token)).
			SetCreatedAt(now).
			SetLastSeenAt(now).
			SetExpiresAt(now.Add(s.cfg.Lifetime)).
			SetIdentityLevel(level).
			SetMethod(method).
			Exec(sys); err != nil {
			return err
		}
		return activity.SignedIn(ctx, tx, acc.ID, now)
	})
	if err != nil {
		return "", err
	}
	s.audit(sys, &acc.ID, "SIGN_IN", clientAddress(ctx))
	if w := responseFrom(ctx); w != nil {
		http.SetCookie(w, s.cookie(ctx, token, now.Add(s.cfg.Lifetime)))
	}
	return token, nil
}

// SignOut ends the request's session at once and clears the cookie.
func (s *Service) SignOut(ctx context.Context) error {
	v := access.FromContext(ctx)
	if v == nil || v.SessionID == "" {
		return ErrSignedOut
	}
	sys := access.SystemContext(ctx)
	if err := s.client.Session.UpdateOneID(v.SessionID).SetEndedAt(s.now()).Exec(sys); err != nil {
		return err
	}
	s.audit(sys, &v.AccountID, "SIGN_OUT", clientAddress(ctx))
	if w := responseFrom(ctx); w != nil {
		c := s.cookie(ctx, "", time.Unix(0, 0))
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
	return nil
}

func (s *Service) cookie(ctx context.Context, value string, expires time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   s.cfg.SecureCookie || overTLS(ctx),
		SameSite: http.SameSiteStrictMode,
	}
}

// audit records a sign-in event. A failure to write it is logged, not
// returned: the client must get the same answer either way.
func (s *Service) audit(ctx context.Context, accountID *pulid.ID, action, addr string) {
	err := s.client.AuditEvent.Create().
		SetNillableActorAccountID(accountID).
		SetAction(action).
		SetClientAddress(addr).
		SetAt(s.now()).
		Exec(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "audit event not written", "action", action, "err", err)
	}
}

// newToken returns 256 random bits, URL-safe.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashToken is what the sessions table stores instead of the token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
