package tracking

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// AddJournalEntry is not built yet.
func (s *Service) AddJournalEntry(ctx context.Context, input model.AddJournalEntryInput) (*ent.JournalEntry, error) {
	return nil, ErrNotImplemented
}

// UpdateJournalEntry is not built yet.
func (s *Service) UpdateJournalEntry(ctx context.Context, id pulid.ID, input model.UpdateJournalEntryInput) (*ent.JournalEntry, error) {
	return nil, ErrNotImplemented
}

// DeleteJournalEntry is not built yet.
func (s *Service) DeleteJournalEntry(ctx context.Context, id pulid.ID) (bool, error) {
	return false, ErrNotImplemented
}
