package auth

import (
	"context"

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
	sess, err := s.liveSession(ctx, session.ID(id))
	if sess == nil || err != nil {
		return nil, err
	}
	return s.loadViewer(ctx, sess.AccountID, sess.ID, string(sess.IdentityLevel), s.now())
}
