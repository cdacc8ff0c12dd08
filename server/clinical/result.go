package clinical

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// AddResult records a result for the requesting organisation.
func (s *Service) AddResult(ctx context.Context, in model.AddResultInput) (*ent.Result, error) {
	return nil, ErrNotImplemented
}

// AmendResult amends a result of the clinician's organisation.
func (s *Service) AmendResult(ctx context.Context, id pulid.ID, in model.AmendResultInput) (*ent.Result, error) {
	return nil, ErrNotImplemented
}

// ComponentSeries returns one component's history for a chart.
func (s *Service) ComponentSeries(ctx context.Context, p *ent.Patient, code string, from, to *time.Time) ([]*model.ComponentPoint, error) {
	return nil, ErrNotImplemented
}
