package clinical

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// RecordAllergy records an allergy (or no known allergies).
func (s *Service) RecordAllergy(ctx context.Context, in model.RecordAllergyInput) (*ent.Allergy, error) {
	return nil, ErrNotImplemented
}

// UpdateAllergy changes an allergy its recorder may change.
func (s *Service) UpdateAllergy(ctx context.Context, id pulid.ID, in model.UpdateAllergyInput) (*ent.Allergy, error) {
	return nil, ErrNotImplemented
}

// RemoveAllergy removes a patient-recorded allergy.
func (s *Service) RemoveAllergy(ctx context.Context, id pulid.ID) (bool, error) {
	return false, ErrNotImplemented
}

// AllergyState says whether the record states anything about allergies.
func (s *Service) AllergyState(ctx context.Context, p *ent.Patient) (model.AllergyRecordState, error) {
	return "", ErrNotImplemented
}
