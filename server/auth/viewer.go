package auth

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/session"
)

// ViewerForSession returns the viewer of a live session named by its ID,
// or nil when the session is unknown, ended, expired or idle (the checks of
// Resolve). It serves links signed for a session (document downloads),
// which carry the session's ID but never its token. It does not count as
// use of the session: only the holder of the token keeps it alive.
func (s *Service) ViewerForSession(ctx context.Context, id pulid.ID) (*access.Viewer, error) {
	sys := access.SystemContext(ctx)
	now := s.now()
	sess, err := s.client.Session.Query().
		Where(session.ID(id), session.EndedAtIsNil()).
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
	return s.loadViewer(ctx, acc.ID, sess.ID, string(sess.IdentityLevel), now)
}
