package tracking

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// RecordMeasurements is not built yet.
func (s *Service) RecordMeasurements(ctx context.Context, input model.RecordMeasurementsInput) (*model.MeasurementReport, error) {
	return nil, ErrNotImplemented
}

// SetGlucoseRange is not built yet.
func (s *Service) SetGlucoseRange(ctx context.Context, patientID pulid.ID, low float64, high float64) (*ent.Patient, error) {
	return nil, ErrNotImplemented
}
