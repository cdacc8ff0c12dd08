package tracking

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/graph/model"
)

// RecordSymptom is not built yet.
func (s *Service) RecordSymptom(ctx context.Context, input model.RecordSymptomInput) (*ent.Symptom, error) {
	return nil, ErrNotImplemented
}

// SymptomSeries is not built yet.
func (s *Service) SymptomSeries(ctx context.Context, p *ent.Patient, name string, from *time.Time, to *time.Time) ([]*model.SymptomPoint, error) {
	return nil, ErrNotImplemented
}
