package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/session"
	"github.com/patientportal/portal/server/nhslogin"
)

// ErrNoRecord is returned when an NHS login matches no patient record here.
var ErrNoRecord = errors.New("no patient record matches this NHS login")

// CompleteNHSLogin finishes a verified NHS login (nhslogin.CompleteFunc):
// it finds or registers the account, starts a session at the level the
// login proved, sets the cookie and sends the browser on.
func (s *Service) CompleteNHSLogin(w http.ResponseWriter, r *http.Request, id nhslogin.Identity, returnTo string) {
	ctx := s.withRequest(w, r)
	acc, err := s.linkNHSLogin(ctx, id)
	if err != nil {
		status, msg := http.StatusForbidden, "This NHS login could not be matched to a patient record here."
		switch {
		case errors.Is(err, ErrAgeRestricted):
			msg = ErrAgeRestricted.Error()
		case errors.Is(err, ErrEmailInUse):
			msg = "The email address of this NHS login belongs to another account here."
		case errors.Is(err, ErrNoRecord), errors.Is(err, access.ErrIdentityLevelTooLow):
		default:
			slog.ErrorContext(ctx, "completing NHS login", "err", err)
			status, msg = http.StatusInternalServerError, "Something went wrong; please try again."
		}
		s.audit(access.SystemContext(ctx), nil, "NHS_LOGIN_REFUSED", clientAddress(ctx))
		http.Error(w, msg, status)
		return
	}
	if _, err := s.startSession(ctx, acc, session.IdentityLevel(id.Level), session.MethodNHS_LOGIN); err != nil {
		slog.ErrorContext(ctx, "starting session", "err", err)
		http.Error(w, "Something went wrong; please try again.", http.StatusInternalServerError)
		return
	}
	if returnTo == "" {
		returnTo = "/"
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// linkNHSLogin returns the account an NHS login signs in to. A known
// subject signs in at whatever level it proved (P5 or P9). Otherwise, at P9
// only, the NHS number and date of birth must match a record: a registered
// record's account gains this login; an unregistered record is registered.
func (s *Service) linkNHSLogin(ctx context.Context, id nhslogin.Identity) (*ent.Account, error) {
	sys := access.SystemContext(ctx)
	if id.Level != nhslogin.LevelP9 && id.Level != nhslogin.LevelP5 {
		return nil, access.ErrIdentityLevelTooLow
	}
	acc, err := s.client.Account.Query().Where(account.OidcSubject(id.Subject), account.DisabledAtIsNil()).Only(sys)
	if err == nil {
		return acc, nil
	}
	if !ent.IsNotFound(err) {
		return nil, err
	}
	if id.NHSNumber == "" || id.Birthdate.IsZero() {
		return nil, ErrNoRecord
	}
	pt, err := s.client.Patient.Query().Where(patient.NhsNumber(id.NHSNumber)).Only(sys)
	if ent.IsNotFound(err) {
		return nil, ErrNoRecord
	}
	if err != nil {
		return nil, err
	}
	if !pt.DateOfBirth.Equal(id.Birthdate) {
		return nil, ErrNoRecord
	}
	if AgeOn(pt.DateOfBirth, s.now()) < MinimumAge {
		return nil, ErrAgeRestricted
	}
	// Anything beyond a known subject needs a verified identity.
	if id.Level != nhslogin.LevelP9 {
		return nil, access.ErrIdentityLevelTooLow
	}
	if pt.AccountID != nil {
		acc, err := s.client.Account.Get(sys, *pt.AccountID)
		if err != nil {
			return nil, err
		}
		if acc.OidcSubject != nil {
			// Linked to another NHS login already: not this person's.
			return nil, ErrNoRecord
		}
		return s.client.Account.UpdateOne(acc).SetOidcSubject(id.Subject).Save(sys)
	}
	email := NormaliseEmail(id.Email)
	if email == "" {
		return nil, ErrNoRecord
	}
	err = s.withTx(sys, func(tx *ent.Client) error {
		acc, err = tx.Account.Create().
			SetEmail(email).
			SetDisplayName(pt.GivenName + " " + pt.FamilyName).
			SetOidcSubject(id.Subject).
			SetIdentityLevel(account.IdentityLevelP9).
			Save(sys)
		if err != nil {
			return err
		}
		n, err := tx.Patient.Update().Where(patient.ID(pt.ID), patient.AccountIDIsNil()).SetAccountID(acc.ID).Save(sys)
		if err != nil {
			return err
		}
		if n != 1 {
			return ErrAlreadyRegistered
		}
		return nil
	})
	if ent.IsConstraintError(err) {
		return nil, ErrEmailInUse
	}
	if err != nil {
		return nil, err
	}
	s.auditPatient(sys, &acc.ID, pt.ID, "REGISTERED")
	return acc, nil
}
