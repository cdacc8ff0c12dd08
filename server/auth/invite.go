package auth

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/patientportal/portal/server/notify"
	"github.com/patientportal/portal/server/store"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/invitation"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/session"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/graph/model"
	portalmail "github.com/patientportal/portal/server/mail"
)

// Invitation rules.
const (
	invitationTTL       = 14 * 24 * time.Hour
	maxDateOfBirthTries = 5
	maxBulkRows         = 5000
)

// InvitePatient lets a trust's ADMIN invite one of its patients to
// register. The answer does not depend on whether the email is in use.
func (s *Service) InvitePatient(ctx context.Context, org pulid.ID, nhsNumber, dateOfBirth, email string) (*ent.Invitation, error) {
	if err := s.requireAdmin(ctx, org); err != nil {
		return nil, err
	}
	inv, err := s.invitePatient(ctx, org, nhsNumber, dateOfBirth, email)
	if err != nil {
		return nil, err
	}
	// Read back as the viewer, so the answer passes the same policy.
	return s.client.Invitation.Get(ctx, inv.ID)
}

// InvitePatients invites every row of a CSV (nhs_number,date_of_birth,email)
// and reports on each; a bad row refuses that row only.
func (s *Service) InvitePatients(ctx context.Context, org pulid.ID, data string) (*model.BulkInvitationReport, error) {
	if err := s.requireAdmin(ctx, org); err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil || len(header) != 3 || strings.ToLower(strings.Join(header, ",")) != "nhs_number,date_of_birth,email" {
		return nil, invalid("the CSV must start with the header nhs_number,date_of_birth,email")
	}
	report := &model.BulkInvitationReport{Rows: []*model.BulkInvitationRow{}}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if line-1 > maxBulkRows {
			return nil, invalid("at most %d rows at a time", maxBulkRows)
		}
		row := &model.BulkInvitationRow{Line: line, Status: model.BulkInvitationStatusInvited}
		switch {
		case err != nil:
			row.Status, row.Reason = model.BulkInvitationStatusRefused, ptr("not a valid CSV line")
		case len(rec) != 3:
			row.Status, row.Reason = model.BulkInvitationStatusRefused, ptr("expected 3 fields")
		default:
			if _, err := s.invitePatient(ctx, org, rec[0], rec[1], rec[2]); err != nil {
				reason := rowReason(err)
				if reason == "" {
					return nil, err
				}
				row.Status, row.Reason = model.BulkInvitationStatusRefused, &reason
			}
		}
		if row.Status == model.BulkInvitationStatusInvited {
			report.Invited++
		} else {
			report.Refused++
		}
		report.Rows = append(report.Rows, row)
	}
	return report, nil
}

// rowReason is the report's reason for a refused row, or "" for an error
// that is not about the row.
func rowReason(err error) string {
	switch {
	case errors.Is(err, ErrInvalidInput), errors.Is(err, ErrPatientNotFound), errors.Is(err, ErrAgeRestricted):
		return err.Error()
	}
	return ""
}

func ptr[T any](v T) *T { return &v }

// requireAdmin checks the viewer is an ADMIN of org.
func (s *Service) requireAdmin(ctx context.Context, org pulid.ID) error {
	v := access.FromContext(ctx)
	if v == nil {
		return ErrSignedOut
	}
	if !v.HasRole(org, access.RoleAdmin) {
		return access.ErrDenied
	}
	return nil
}

// invitePatient validates one invitation, finds the patient among the
// organisation's and sends the invitation.
func (s *Service) invitePatient(ctx context.Context, org pulid.ID, nhsNumber, dateOfBirth, email string) (*ent.Invitation, error) {
	nhsNumber = strings.ReplaceAll(strings.TrimSpace(nhsNumber), " ", "")
	if !ValidNHSNumber(nhsNumber) {
		return nil, invalid("not a valid NHS number")
	}
	dob, err := ParseDate(dateOfBirth)
	if err != nil {
		return nil, invalid("date of birth must be YYYY-MM-DD")
	}
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" {
		return nil, invalid("not a valid email address")
	}
	sys := access.SystemContext(ctx)
	pt, err := s.client.Patient.Query().
		Where(
			patient.NhsNumber(nhsNumber),
			patient.DateOfBirth(dob),
			patient.HasOrganisationLinksWith(patientorganisation.OrganisationID(org)),
		).Only(sys)
	if ent.IsNotFound(err) {
		return nil, ErrPatientNotFound
	}
	if err != nil {
		return nil, err
	}
	if AgeOn(pt.DateOfBirth, s.now()) < MinimumAge {
		return nil, ErrAgeRestricted
	}
	v := access.FromContext(ctx)
	var inv *ent.Invitation
	err = s.withTx(sys, func(tx *ent.Client) error {
		token, err := newToken()
		if err != nil {
			return err
		}
		now := s.now()
		inv, err = tx.Invitation.Create().
			SetPatientID(pt.ID).
			SetOrganisationID(org).
			SetInvitedByAccountID(v.AccountID).
			SetPurpose(invitation.PurposeREGISTRATION).
			SetEmail(NormaliseEmail(addr.Address)).
			SetTokenHash(hashToken(token)).
			SetLastSentAt(now).
			SetExpiresAt(now.Add(invitationTTL)).
			Save(sys)
		if err != nil {
			return err
		}
		return s.sendInvitation(sys, tx, invitation.PurposeREGISTRATION, inv.Email, token)
	})
	if err != nil {
		return nil, err
	}
	s.auditPatient(sys, &v.AccountID, pt.ID, "INVITATION_SENT")
	return inv, nil
}

// InvitationEmail is the email that carries an invitation's link: no
// clinical content, no internal ID, no name and no organisation (which
// could say which service).
func InvitationEmail(publicURL string, purpose invitation.Purpose, to, token string) portalmail.Message {
	what := "You have been invited to open your health record in the patient portal."
	if purpose == invitation.PurposeSHARE {
		what = "Someone has invited you to see part of a health record in the patient portal."
	}
	return portalmail.Message{
		To:      to,
		Subject: "You are invited to the patient portal",
		Text: "Hello,\n\n" + what + "\n\n" +
			"To accept, open this link within 14 days:\n" + publicURL + "/invitation?token=" + token + "\n\n" +
			"If you were not expecting this email, you can ignore it.\n",
	}
}

// sendInvitation queues an invitation's email.
func (s *Service) sendInvitation(ctx context.Context, tx *ent.Client, purpose invitation.Purpose, to, token string) error {
	return portalmail.Enqueue(ctx, tx, "INVITATION_"+string(purpose), InvitationEmail(s.cfg.PublicURL, purpose, to, token))
}

// ResendInvitation sends a pending invitation again with a new link.
func (s *Service) ResendInvitation(ctx context.Context, id pulid.ID) (*ent.Invitation, error) {
	inv, err := s.manageableInvitation(ctx, id)
	if err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		token, err := newToken()
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.Invitation.UpdateOne(inv).
			SetTokenHash(hashToken(token)).
			SetExpiresAt(now.Add(invitationTTL)).
			SetLastSentAt(now).
			AddSendCount(1).
			SetFailedChecks(0).
			Exec(sys); err != nil {
			return err
		}
		return s.sendInvitation(sys, tx, inv.Purpose, inv.Email, token)
	})
	if err != nil {
		return nil, err
	}
	return s.client.Invitation.Get(ctx, id)
}

// RevokeInvitation withdraws a pending invitation.
func (s *Service) RevokeInvitation(ctx context.Context, id pulid.ID) (*ent.Invitation, error) {
	inv, err := s.manageableInvitation(ctx, id)
	if err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		if err := tx.Invitation.UpdateOne(inv).SetRevokedAt(s.now()).Exec(sys); err != nil {
			return err
		}
		// A cancelled share invitation takes its pending share with it.
		return tx.Share.Update().Where(share.InvitationID(inv.ID), share.AcceptedAtIsNil(), share.RevokedAtIsNil()).
			SetRevokedAt(s.now()).Exec(sys)
	})
	if err != nil {
		return nil, err
	}
	return s.client.Invitation.Get(ctx, id)
}

// manageableInvitation loads a pending invitation the viewer may manage:
// reading it as the viewer applies the invitation policy.
func (s *Service) manageableInvitation(ctx context.Context, id pulid.ID) (*ent.Invitation, error) {
	if access.FromContext(ctx) == nil {
		return nil, ErrSignedOut
	}
	inv, err := s.client.Invitation.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if inv.AcceptedAt != nil || inv.RevokedAt != nil {
		return nil, invalid("this invitation has already been accepted or revoked")
	}
	return inv, nil
}

// liveInvitation finds the invitation a token names, if it can still be
// accepted.
func (s *Service) liveInvitation(ctx context.Context, token string) (*ent.Invitation, error) {
	inv, err := s.client.Invitation.Query().
		Where(invitation.TokenHash(hashToken(token))).
		WithOrganisation().
		Only(access.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, ErrInvitationInvalid
	}
	if err != nil {
		return nil, err
	}
	if inv.AcceptedAt != nil || inv.RevokedAt != nil || !s.now().Before(inv.ExpiresAt) ||
		inv.FailedChecks >= maxDateOfBirthTries {
		return nil, ErrInvitationInvalid
	}
	return inv, nil
}

// PreviewInvitation tells the acceptance page what an invitation offers.
func (s *Service) PreviewInvitation(ctx context.Context, token string) (*model.InvitationPreview, error) {
	inv, err := s.liveInvitation(ctx, token)
	if errors.Is(err, ErrInvitationInvalid) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p := &model.InvitationPreview{
		Purpose:          inv.Purpose,
		ExpiresAt:        inv.ExpiresAt,
		NeedsDateOfBirth: inv.Purpose == invitation.PurposeREGISTRATION,
	}
	if o := inv.Edges.Organisation; o != nil {
		p.Organisation = &model.Branding{Name: o.Name, LogoURL: o.LogoURL, WelcomeMessage: o.WelcomeMessage}
	}
	return p, nil
}

// AcceptInvitation registers the invitee (or links the record to their
// existing account) after the date-of-birth check, and signs them in.
func (s *Service) AcceptInvitation(ctx context.Context, in model.AcceptInvitationInput) (string, *ent.Account, error) {
	sys := access.SystemContext(ctx)
	inv, err := s.liveInvitation(ctx, in.Token)
	if err != nil {
		return "", nil, err
	}
	if inv.Purpose == invitation.PurposeSHARE {
		return s.acceptShare(ctx, inv, in)
	}
	pt, err := s.client.Patient.Get(sys, inv.PatientID)
	if err != nil {
		return "", nil, err
	}
	if in.DateOfBirth == nil {
		return "", nil, invalid("date of birth is required")
	}
	dob, err := ParseDate(*in.DateOfBirth)
	if err != nil {
		return "", nil, invalid("date of birth must be YYYY-MM-DD")
	}
	if !dob.Equal(pt.DateOfBirth) {
		if err := s.client.Invitation.UpdateOne(inv).AddFailedChecks(1).Exec(sys); err != nil {
			return "", nil, err
		}
		return "", nil, ErrDetailsMismatch
	}
	if AgeOn(pt.DateOfBirth, s.now()) < MinimumAge {
		return "", nil, ErrAgeRestricted
	}
	if pt.AccountID != nil {
		return "", nil, ErrAlreadyRegistered
	}
	existing, err := s.client.Account.Query().Where(account.Email(inv.Email)).WithPatient().Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return "", nil, err
	}
	if existing != nil {
		if existing.Edges.Patient != nil {
			return "", nil, ErrEmailInUse
		}
		// The email already signs in (as a carer, say): that person must
		// prove it is theirs before the record joins their account.
		ok := existing.PasswordHash != nil
		if ok {
			ok, _ = checkPassword(*existing.PasswordHash, in.Password)
		}
		if !ok {
			return "", nil, ErrInvalidCredentials
		}
	} else if err := ValidatePassword(in.Password); err != nil {
		return "", nil, err
	}

	var acc *ent.Account
	err = s.withTx(sys, func(tx *ent.Client) error {
		if existing != nil {
			acc, err = tx.Account.UpdateOne(existing).SetIdentityLevel(account.IdentityLevelP9).Save(sys)
		} else {
			hash, herr := HashPassword(in.Password)
			if herr != nil {
				return herr
			}
			name := pt.GivenName + " " + pt.FamilyName
			if in.DisplayName != nil && strings.TrimSpace(*in.DisplayName) != "" {
				name = strings.TrimSpace(*in.DisplayName)
			}
			acc, err = tx.Account.Create().
				SetEmail(inv.Email).
				SetDisplayName(name).
				SetPasswordHash(hash).
				SetIdentityLevel(account.IdentityLevelP9).
				Save(sys)
		}
		if err != nil {
			return err
		}
		// The condition guards against two acceptances racing.
		n, err := tx.Patient.Update().Where(patient.ID(pt.ID), patient.AccountIDIsNil()).SetAccountID(acc.ID).Save(sys)
		if err != nil {
			return err
		}
		if n != 1 {
			return ErrAlreadyRegistered
		}
		return tx.Invitation.UpdateOne(inv).SetAcceptedAt(s.now()).Exec(sys)
	})
	if err != nil {
		if ent.IsConstraintError(err) {
			return "", nil, ErrEmailInUse
		}
		return "", nil, err
	}
	s.auditPatient(sys, &acc.ID, pt.ID, "REGISTERED")
	token, err := s.startSession(ctx, acc, session.IdentityLevelP9, session.MethodPASSWORD)
	if err != nil {
		return "", nil, err
	}
	return token, acc, nil
}

// acceptShare makes a share invitation's share active for the invitee: the
// account the invitation's email already has (whose password they must
// give), or a new one.
func (s *Service) acceptShare(ctx context.Context, inv *ent.Invitation, in model.AcceptInvitationInput) (string, *ent.Account, error) {
	sys := access.SystemContext(ctx)
	existing, err := s.client.Account.Query().Where(account.Email(inv.Email), account.DisabledAtIsNil()).Only(sys)
	if err != nil && !ent.IsNotFound(err) {
		return "", nil, err
	}
	if existing != nil {
		ok := existing.PasswordHash != nil
		if ok {
			ok, _ = checkPassword(*existing.PasswordHash, in.Password)
		}
		if !ok {
			return "", nil, ErrInvalidCredentials
		}
	} else if err := ValidatePassword(in.Password); err != nil {
		return "", nil, err
	}
	acc := existing
	err = s.withTx(sys, func(tx *ent.Client) error {
		if acc == nil {
			hash, err := HashPassword(in.Password)
			if err != nil {
				return err
			}
			name := strings.SplitN(inv.Email, "@", 2)[0]
			if in.DisplayName != nil && strings.TrimSpace(*in.DisplayName) != "" {
				name = strings.TrimSpace(*in.DisplayName)
			}
			if acc, err = tx.Account.Create().SetEmail(inv.Email).SetDisplayName(name).SetPasswordHash(hash).Save(sys); err != nil {
				return err
			}
		}
		n, err := tx.Share.Update().
			Where(share.InvitationID(inv.ID), share.RevokedAtIsNil(), share.AcceptedAtIsNil()).
			SetGranteeAccountID(acc.ID).
			SetAcceptedAt(s.now()).
			Save(sys)
		if err != nil {
			return err
		}
		if n != 1 {
			return ErrInvitationInvalid
		}
		if err := tx.Invitation.UpdateOne(inv).SetAcceptedAt(s.now()).Exec(sys); err != nil {
			return err
		}
		owner, err := tx.Patient.Get(sys, inv.PatientID)
		if err != nil || owner.AccountID == nil {
			return err
		}
		note := notify.Note{Kind: notification.KindSHARE_ACCEPTED, Patient: inv.PatientID, Category: category.General}
		return notify.To(sys, tx, note, s.now(), *owner.AccountID)
	})
	if err != nil {
		if ent.IsConstraintError(err) {
			return "", nil, ErrEmailInUse
		}
		return "", nil, err
	}
	s.auditPatient(sys, &acc.ID, inv.PatientID, "SHARE_ACCEPTED")
	token, err := s.startSession(ctx, acc, session.IdentityLevel(acc.IdentityLevel), session.MethodPASSWORD)
	if err != nil {
		return "", nil, err
	}
	return token, acc, nil
}

// withTx runs fn in a transaction (see store.InTx).
func (s *Service) withTx(ctx context.Context, fn func(tx *ent.Client) error) error {
	return store.InTx(ctx, s.client, fn)
}
