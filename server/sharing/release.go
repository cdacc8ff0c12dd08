package sharing

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/notify"
)

// ReleaseResult lets a clinician of the organisation that requested a
// result release it to the patient now. A result of any other organisation
// answers as a missing one does.
func (s *Service) ReleaseResult(ctx context.Context, id pulid.ID) (*ent.Result, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if err := expectID(id, result.Table); err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	r, err := s.client.Result.Get(sys, id)
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if r.SourceOrganisationID == nil || !v.HasRole(*r.SourceOrganisationID, access.RoleClinician) {
		return nil, ErrNotFound
	}
	if r.NeverRelease {
		return nil, ErrNeverReleased
	}
	now := s.now()
	if r.ReleasedAt != nil || r.VisibleFrom != nil && !now.Before(*r.VisibleFrom) {
		return s.readResult(ctx, id)
	}
	err = s.withTx(sys, func(tx *ent.Client) error {
		// The condition makes a second, racing release a no-op.
		n, err := tx.Result.Update().
			Where(result.ID(id), result.ReleasedAtIsNil()).
			SetReleasedAt(now).
			SetVisibleFrom(now).
			ClearNotifyAt().
			Save(sys)
		if err != nil || n == 0 {
			return err
		}
		if err := s.audit(sys, tx, v, event{action: "RESULT_RELEASED", patient: &r.PatientID, organisation: r.SourceOrganisationID}); err != nil {
			return err
		}
		return notify.Record(sys, tx, notify.Note{Kind: notification.KindRESULT_RELEASED, Patient: r.PatientID, Category: r.Category, Subject: &r.ID}, now)
	})
	if err != nil {
		return nil, err
	}
	return s.readResult(ctx, id)
}

// readResult reads a result as the viewer; null when the policy hides it.
func (s *Service) readResult(ctx context.Context, id pulid.ID) (*ent.Result, error) {
	r, err := s.client.Result.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return r, err
}
