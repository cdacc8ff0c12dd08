package nhslogin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"golang.org/x/oauth2"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/oidclogin"
)

// maxParam bounds the code and state a callback may carry.
const maxParam = 2048

// Messages a refused browser sees: nothing about which check failed.
const (
	refusedMessage     = "Sign-in with NHS login did not complete. Please try again."
	malformedMessage   = "This sign-in link is not valid."
	unavailableMessage = "Sign-in is unavailable. Please try again later."
)

// callback finishes the flow: it spends the stored login, exchanges the
// code, verifies the ID token and hands the identity to complete.
func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// The URL holds a live code until it is spent.
	w.Header().Set("Referrer-Policy", "no-referrer")

	id, returnTo, loginID, err := p.verifyCallback(w, r)
	if err != nil {
		p.refuse(w, r, loginID, err)
		return
	}
	p.log.InfoContext(r.Context(), "nhslogin: signed in", "login", loginID, "level", id.Level)
	p.complete(w, r, id, returnTo)
}

// verifyCallback runs every check in order and returns the identity, the
// return path and the stored login's ID (for the log, once known).
func (p *Provider) verifyCallback(w http.ResponseWriter, r *http.Request) (Identity, string, string, error) {
	ctx := r.Context()
	q := r.URL.Query()
	if code := q.Get("error"); code != "" {
		return Identity{}, "", "", fmt.Errorf("%w: %s", ErrProviderError, oauthErrorCode(code))
	}
	state, code := q.Get("state"), q.Get("code")
	if state == "" || code == "" || len(state) > maxParam || len(code) > maxParam {
		return Identity{}, "", "", ErrMalformed
	}

	cookie, err := r.Cookie(stateCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(state)) != 1 {
		return Identity{}, "", "", ErrStateMismatch
	}
	// Spent or not, the cookie has done its job.
	http.SetCookie(w, &http.Cookie{Name: stateCookie, Path: p.cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})

	login, err := p.spend(ctx, state)
	if login == nil {
		return Identity{}, "", "", err
	}
	loginID := string(login.ID)
	if err != nil {
		return Identity{}, "", loginID, err
	}

	tok, err := p.exchange(ctx, code, login.CodeVerifier)
	if err != nil {
		return Identity{}, "", loginID, err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Identity{}, "", loginID, fmt.Errorf("%w: no id_token in the token response", ErrTokenInvalid)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, "", loginID, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	// With several audiences, the token must say it was issued to us.
	if len(idt.Audience) > 1 {
		var c struct {
			AZP string `json:"azp"`
		}
		if err := idt.Claims(&c); err != nil || c.AZP != p.cfg.ClientID {
			return Identity{}, "", loginID, fmt.Errorf("%w: azp is not this client", ErrTokenInvalid)
		}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(login.Nonce)) != 1 {
		return Identity{}, "", loginID, ErrNonceMismatch
	}
	id, err := identityFrom(idt)
	if err != nil {
		return Identity{}, "", loginID, err
	}
	return id, login.ReturnTo, loginID, nil
}

// spend finds the login for state and marks it used. The conditional
// update is what makes a replay fail: of two callbacks racing with the
// same state, only one updates the row. It returns the login whenever one
// was found, with an error if it may not be used.
func (p *Provider) spend(ctx context.Context, state string) (*ent.OIDCLogin, error) {
	sys := access.SystemContext(ctx)
	login, err := p.client.OIDCLogin.Query().
		Where(oidclogin.StateHash(hashState(state))).
		Only(sys)
	switch {
	case ent.IsNotFound(err):
		return nil, ErrStateUnknown
	case err != nil:
		return nil, fmt.Errorf("nhslogin: looking up the login: %w", err)
	case login.UsedAt != nil:
		return login, ErrReplayed
	}
	now := p.now().UTC()
	// expires_at is immutable, so checking it here is as good as in SQL.
	if !now.Before(login.ExpiresAt) {
		return login, ErrStateExpired
	}
	n, err := p.client.OIDCLogin.Update().
		Where(oidclogin.ID(login.ID), oidclogin.UsedAtIsNil()).
		SetUsedAt(now).
		Save(sys)
	switch {
	case err != nil:
		return login, fmt.Errorf("nhslogin: marking the login used: %w", err)
	case n != 1:
		return login, ErrReplayed
	}
	return login, nil
}

// exchange trades the code for tokens, proving possession of the PKCE
// verifier and authenticating the client.
func (p *Provider) exchange(ctx context.Context, code, verifier string) (*oauth2.Token, error) {
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	if p.key != nil {
		assertion, err := p.clientAssertion()
		if err != nil {
			return nil, fmt.Errorf("%w: signing the client assertion: %w", ErrTokenExchange, err)
		}
		opts = append(opts,
			oauth2.SetAuthURLParam("client_assertion_type", clientAssertionType),
			oauth2.SetAuthURLParam("client_assertion", assertion))
	}
	tok, err := p.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.http), code, opts...)
	if err != nil {
		// The provider's response body is not logged: only its error code.
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil {
			return nil, fmt.Errorf("%w: token endpoint answered %d %s", ErrTokenExchange,
				re.Response.StatusCode, oauthErrorCode(re.ErrorCode))
		}
		return nil, fmt.Errorf("%w: %w", ErrTokenExchange, err)
	}
	return tok, nil
}

// refuse answers a failed callback without saying which check failed, and
// logs the reason.
func (p *Provider) refuse(w http.ResponseWriter, r *http.Request, loginID string, err error) {
	why := reason(err)
	status, msg, level := http.StatusUnauthorized, refusedMessage, slog.LevelWarn
	switch {
	case errors.Is(err, ErrMalformed):
		status, msg = http.StatusBadRequest, malformedMessage
	case why == reasonInternal:
		status, msg, level = http.StatusInternalServerError, unavailableMessage, slog.LevelError
	}
	attrs := []any{"reason", why, "err", err}
	if loginID != "" {
		attrs = append(attrs, "login", loginID)
	}
	p.log.Log(r.Context(), level, "nhslogin: sign-in refused", attrs...)
	http.Error(w, msg, status)
}

// reasonInternal is the reason for a failure of the portal itself.
const reasonInternal = "internal"

// reasons are the sentinels refuse reports; the first that matches wins.
var reasons = []error{
	ErrMalformed, ErrProviderError, ErrStateMismatch, ErrStateUnknown, ErrStateExpired,
	ErrReplayed, ErrTokenExchange, ErrTokenInvalid, ErrNonceMismatch, ErrClaimsInvalid,
}

// reason names the sentinel behind err, for a log field that can be
// counted.
func reason(err error) string {
	if i := slices.IndexFunc(reasons, func(s error) bool { return errors.Is(err, s) }); i >= 0 {
		return reasons[i].Error()
	}
	return reasonInternal
}

// oauthErrorCode keeps an OAuth error code loggable: codes are short
// ASCII words; anything else is replaced.
func oauthErrorCode(s string) string {
	if s == "" || len(s) > 64 {
		return "unrecognised"
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return "unrecognised"
		}
	}
	return s
}
