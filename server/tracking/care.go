package tracking

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// AssignCareResource is not built yet.
func (s *Service) AssignCareResource(ctx context.Context, input model.AssignCareResourceInput) (*ent.CareResource, error) {
	return nil, ErrNotImplemented
}

// CompleteCareResource is not built yet.
func (s *Service) CompleteCareResource(ctx context.Context, id pulid.ID) (*ent.CareResource, error) {
	return nil, ErrNotImplemented
}
