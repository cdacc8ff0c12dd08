package tracking

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/graph/model"
)

// MeasurementSeries is not built yet.
func (s *Service) MeasurementSeries(ctx context.Context, p *ent.Patient, typeArg measurement.Type, from time.Time, to time.Time, bucket model.SeriesBucket) (*model.MeasurementSeries, error) {
	return nil, ErrNotImplemented
}
