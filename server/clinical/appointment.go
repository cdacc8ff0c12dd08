package clinical

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// CreateAppointment books an appointment for the clinician's organisation.
func (s *Service) CreateAppointment(ctx context.Context, in model.CreateAppointmentInput) (*ent.Appointment, error) {
	return nil, ErrNotImplemented
}

// UpdateAppointment changes a booking of the clinician's organisation.
func (s *Service) UpdateAppointment(ctx context.Context, id pulid.ID, in model.UpdateAppointmentInput) (*ent.Appointment, error) {
	return nil, ErrNotImplemented
}

// CancelAppointment cancels a booking of the clinician's organisation.
func (s *Service) CancelAppointment(ctx context.Context, id pulid.ID, expectedUpdatedAt time.Time) (*ent.Appointment, error) {
	return nil, ErrNotImplemented
}

// RequestAppointmentChange records the patient's request.
func (s *Service) RequestAppointmentChange(ctx context.Context, in model.RequestAppointmentChangeInput) (*ent.AppointmentChangeRequest, error) {
	return nil, ErrNotImplemented
}

// AnswerAppointmentChange records the trust's answer.
func (s *Service) AnswerAppointmentChange(ctx context.Context, in model.AnswerAppointmentChangeInput) (*ent.AppointmentChangeRequest, error) {
	return nil, ErrNotImplemented
}
