package clinical

import (
	"context"

	"entgo.io/contrib/entgql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// UpdateContactDetails changes the patient's address, phone, email and
// contact preferences.
func (s *Service) UpdateContactDetails(ctx context.Context, in model.UpdateContactDetailsInput) (*ent.Patient, error) {
	return nil, ErrNotImplemented
}

// Patients finds the patients a clinician's organisation may see.
func (s *Service) Patients(ctx context.Context, after *entgql.Cursor[pulid.ID], first *int, before *entgql.Cursor[pulid.ID], last *int, where *model.PatientSearchInput) (*ent.PatientConnection, error) {
	return nil, ErrNotImplemented
}
