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
	sess, err := s.liveSession(ctx, session.ID(id))
	if sess == nil || err != nil {
		return nil, err
	}
	return s.loadViewer(ctx, sess.AccountID, sess.ID, string(sess.IdentityLevel), s.now())
}

// ViewerForAccount returns what an account may see now, as its password
// sign-ins would (its recorded identity level), or nil when the account is
// missing or disabled. It serves work done for someone who is not signed
// in, such as deciding what their emails may mention.
func (s *Service) ViewerForAccount(ctx context.Context, id pulid.ID) (*access.Viewer, error) {
	acc, err := s.client.Account.Get(access.SystemContext(ctx), id)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil || acc.DisabledAt != nil {
		return nil, err
	}
	return s.loadViewer(ctx, acc.ID, "", string(acc.IdentityLevel), s.now())
}
