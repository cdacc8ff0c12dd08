package sharing

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/graph/model"
)

// AuditActor names who acted in an audit event and for which organisation,
// as the patient reading their access log may know them. The event itself
// was read as the viewer; the names are read by the service.
func (s *Service) AuditActor(ctx context.Context, e *ent.AuditEvent) (*string, *model.Branding, error) {
	if _, err := viewer(ctx); err != nil {
		return nil, nil, err
	}
	sys := access.SystemContext(ctx)
	var (
		name *string
		org  *model.Branding
	)
	if e.ActorAccountID != nil {
		a, err := s.client.Account.Get(sys, *e.ActorAccountID)
		if err != nil && !ent.IsNotFound(err) {
			return nil, nil, err
		}
		if a != nil {
			name = &a.DisplayName
		}
	}
	if e.ActorOrganisationID != nil {
		o, err := s.client.Organisation.Get(sys, *e.ActorOrganisationID)
		if err != nil && !ent.IsNotFound(err) {
			return nil, nil, err
		}
		if o != nil {
			org = &model.Branding{Name: o.Name, LogoURL: o.LogoURL, WelcomeMessage: o.WelcomeMessage}
		}
	}
	return name, org, nil
}
