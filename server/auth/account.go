package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/emailchange"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/session"
	portalmail "github.com/patientportal/portal/server/mail"
)

// emailChangeTTL is how long a confirmation link for a new address lasts.
const emailChangeTTL = 24 * time.Hour

// viewerAccount returns the signed-in account, read as the service.
func (s *Service) viewerAccount(ctx context.Context) (*ent.Account, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, ErrSignedOut
	}
	return s.client.Account.Get(access.SystemContext(ctx), v.AccountID)
}

// ChangePassword replaces the viewer's password after checking the current
// one, and ends every other session of theirs.
func (s *Service) ChangePassword(ctx context.Context, current, next string) error {
	acc, err := s.viewerAccount(ctx)
	if err != nil {
		return err
	}
	if acc.PasswordHash == nil {
		return ErrInvalidCredentials
	}
	if ok, _ := checkPassword(*acc.PasswordHash, current); !ok {
		return ErrInvalidCredentials
	}
	if err := ValidatePassword(next); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	sys := access.SystemContext(ctx)
	v := access.FromContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		if err := tx.Account.UpdateOne(acc).SetPasswordHash(hash).Exec(sys); err != nil {
			return err
		}
		return tx.Session.Update().
			Where(session.AccountID(acc.ID), session.IDNEQ(v.SessionID), session.EndedAtIsNil()).
			SetEndedAt(s.now()).Exec(sys)
	})
	if err != nil {
		return err
	}
	s.audit(sys, &acc.ID, "PASSWORD_CHANGED", clientAddress(ctx))
	return nil
}

// RequestEmailChange sends a confirmation link to the new address. The
// change takes effect only when the link is followed. If the address is
// already in use, its owner is told instead, and the requester learns
// nothing.
func (s *Service) RequestEmailChange(ctx context.Context, newEmail, password string) error {
	acc, err := s.viewerAccount(ctx)
	if err != nil {
		return err
	}
	if acc.PasswordHash == nil {
		return ErrInvalidCredentials
	}
	if ok, _ := checkPassword(*acc.PasswordHash, password); !ok {
		return ErrInvalidCredentials
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(newEmail))
	if err != nil || addr.Name != "" {
		return invalid("not a valid email address")
	}
	email := NormaliseEmail(addr.Address)
	sys := access.SystemContext(ctx)
	taken, err := s.client.Account.Query().Where(account.Email(email)).Exist(sys)
	if err != nil {
		return err
	}
	return s.withTx(sys, func(tx *ent.Client) error {
		if taken {
			return portalmail.Enqueue(sys, tx, "EMAIL_CHANGE_REFUSED", portalmail.Message{
				To:      email,
				Subject: "Someone asked to use this address in the patient portal",
				Text: "Hello,\n\nSomeone asked to move their patient portal account to this email address, " +
					"but it already belongs to an account, so nothing has changed.\n\n" +
					"If this was you, sign in with this address instead.\n",
			})
		}
		token, err := newToken()
		if err != nil {
			return err
		}
		if err := tx.EmailChange.Create().
			SetAccountID(acc.ID).
			SetNewEmail(email).
			SetTokenHash(hashToken(token)).
			SetExpiresAt(s.now().Add(emailChangeTTL)).
			Exec(sys); err != nil {
			return err
		}
		return portalmail.Enqueue(sys, tx, "EMAIL_CHANGE", portalmail.Message{
			To:      email,
			Subject: "Confirm your new email address for the patient portal",
			Text: "Hello,\n\nTo use this address for your patient portal account, open this link within 24 hours:\n" +
				s.cfg.PublicURL + "/confirm-email?token=" + token + "\n\n" +
				"If you did not ask for this, you can ignore this email.\n",
		})
	})
}

// ConfirmEmailChange applies a requested change of address.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string) error {
	sys := access.SystemContext(ctx)
	ch, err := s.client.EmailChange.Query().Where(emailchange.TokenHash(hashToken(token))).Only(sys)
	if ent.IsNotFound(err) {
		return ErrInvitationInvalid
	}
	if err != nil {
		return err
	}
	if ch.ConfirmedAt != nil || !s.now().Before(ch.ExpiresAt) {
		return ErrInvitationInvalid
	}
	err = s.withTx(sys, func(tx *ent.Client) error {
		if err := tx.Account.UpdateOneID(ch.AccountID).SetEmail(ch.NewEmail).Exec(sys); err != nil {
			return err
		}
		return tx.EmailChange.UpdateOne(ch).SetConfirmedAt(s.now()).Exec(sys)
	})
	if ent.IsConstraintError(err) {
		return ErrInvitationInvalid
	}
	if err != nil {
		return err
	}
	s.audit(sys, &ch.AccountID, "EMAIL_CHANGED", clientAddress(ctx))
	return nil
}

// Sessions lists the viewer's live sessions, most recently used first.
func (s *Service) Sessions(ctx context.Context) ([]*ent.Session, error) {
	if access.FromContext(ctx) == nil {
		return nil, ErrSignedOut
	}
	now := s.now()
	return s.client.Session.Query().
		Where(
			session.EndedAtIsNil(),
			session.ExpiresAtGT(now),
			session.LastSeenAtGT(now.Add(-s.cfg.IdleTimeout)),
		).
		Order(ent.Desc(session.FieldLastSeenAt)).
		All(ctx)
}

// EndSession ends one of the viewer's sessions.
func (s *Service) EndSession(ctx context.Context, id pulid.ID) error {
	if access.FromContext(ctx) == nil {
		return ErrSignedOut
	}
	// Read as the viewer: another account's session is simply not found.
	sess, err := s.client.Session.Get(ctx, id)
	if err != nil {
		return err
	}
	return s.client.Session.UpdateOne(sess).SetEndedAt(s.now()).Exec(access.SystemContext(ctx))
}

// auditPatient records an event about a patient's record.
func (s *Service) auditPatient(ctx context.Context, actor *pulid.ID, patientID pulid.ID, action string) {
	err := s.client.AuditEvent.Create().
		SetNillableActorAccountID(actor).
		SetPatientID(patientID).
		SetAction(action).
		SetClientAddress(clientAddress(ctx)).
		SetAt(s.now()).
		Exec(ctx)
	if err != nil {
		slog.ErrorContext(ctx, "audit event not written", "action", action, "err", err)
	}
}

// SetNotificationEmail records when the viewer wants notification emails.
func (s *Service) SetNotificationEmail(ctx context.Context, pref account.NotificationEmail) error {
	acc, err := s.viewerAccount(ctx)
	if err != nil {
		return err
	}
	if err := account.NotificationEmailValidator(pref); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return s.client.Account.UpdateOne(acc).SetNotificationEmail(pref).Exec(access.SystemContext(ctx))
}
