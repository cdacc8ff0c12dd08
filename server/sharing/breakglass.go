package sharing

import (
	"context"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/notify"
)

// Break-the-glass rules.
const (
	// glassWindow is how long emergency access lasts.
	glassWindow = 30 * time.Minute
	// maxReasonLen bounds the stated reason, in characters.
	maxReasonLen = 1000
)

// BreakGlass opens emergency access to a record's GENERAL items for a
// clinician of an organisation with emergency care. It is audited with the
// reason, and the patient and everyone with an active share are told,
// without naming the service. A patient that does not exist and one whose
// sharing is turned off give the same answer.
func (s *Service) BreakGlass(ctx context.Context, in model.BreakGlassInput) (*model.BreakGlassPayload, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := pulid.TableOf(in.PatientID); err != nil {
		return nil, invalid("patientId is not a valid ID")
	}
	if _, err := pulid.TableOf(in.OrganisationID); err != nil {
		return nil, invalid("organisationId is not a valid ID")
	}
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		return nil, invalid("give the reason for emergency access")
	}
	if utf8.RuneCountInString(reason) > maxReasonLen {
		return nil, invalid("the reason must be at most %d characters", maxReasonLen)
	}
	if !v.HasRole(in.OrganisationID, access.RoleClinician) {
		return nil, access.ErrDenied
	}
	sys := access.SystemContext(ctx)
	emergency, err := s.client.Organisation.Query().
		Where(organisation.ID(in.OrganisationID), organisation.EmergencyCare(true)).
		Exist(sys)
	if err != nil {
		return nil, err
	}
	if !emergency {
		return nil, access.ErrDenied
	}
	pt, err := s.client.Patient.Query().
		Where(patient.ID(in.PatientID), patient.SharingDisabledAtIsNil()).
		Only(sys)
	if ent.IsNotFound(err) {
		return nil, ErrEmergencyAccessUnavailable
	}
	if err != nil {
		return nil, err
	}

	now := s.now()
	expires := now.Add(glassWindow)
	err = s.withTx(sys, func(tx *ent.Client) error {
		bg, err := tx.BreakGlass.Create().
			SetPatientID(pt.ID).
			SetAccountID(v.AccountID).
			SetOrganisationID(in.OrganisationID).
			SetReason(reason).
			SetStartedAt(now).
			SetExpiresAt(expires).
			Save(sys)
		if err != nil {
			return err
		}
		if err := s.audit(sys, tx, v, event{
			action: "BREAK_GLASS", patient: &pt.ID, organisation: &in.OrganisationID,
			breakGlass: true, reason: &reason,
		}); err != nil {
			return err
		}
		recipients, err := tx.Share.Query().
			Where(
				share.PatientID(pt.ID),
				share.GranteeAccountIDNotNil(),
				share.AcceptedAtNotNil(),
				share.RevokedAtIsNil(),
				share.Or(share.ExpiresAtIsNil(), share.ExpiresAtGT(now)),
			).
			Select(share.FieldGranteeAccountID).
			Strings(sys)
		if err != nil {
			return err
		}
		ids := make([]pulid.ID, 0, len(recipients)+1)
		if pt.AccountID != nil {
			ids = append(ids, *pt.AccountID)
		}
		for _, r := range recipients {
			ids = append(ids, pulid.ID(r))
		}
		// No subject: the notification says that the glass was broken,
		// never by whom or for which service.
		n := notify.Note{Kind: notification.KindGLASS_BROKEN, Patient: pt.ID, Category: category.General}
		if err := s.notify(sys, tx, n, ids...); err != nil {
			return err
		}
		slog.WarnContext(ctx, "break glass", "break_glass", bg.ID, "organisation", in.OrganisationID, "notified", len(ids))
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Read as the viewer: null until the viewer's grants include the new
	// window, which they do from the next request.
	p, err := s.client.Patient.Get(ctx, pt.ID)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	return &model.BreakGlassPayload{ExpiresAt: expires, Patient: p}, nil
}
