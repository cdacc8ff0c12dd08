package clinical

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// RecordEncounter records an ED attendance or an inpatient stay.
func (s *Service) RecordEncounter(ctx context.Context, in model.RecordEncounterInput) (*ent.Encounter, error) {
	return nil, ErrNotImplemented
}

// UpdateEncounter changes an encounter of the clinician's organisation.
func (s *Service) UpdateEncounter(ctx context.Context, id pulid.ID, in model.UpdateEncounterInput) (*ent.Encounter, error) {
	return nil, ErrNotImplemented
}
