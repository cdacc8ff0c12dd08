package clinical

import (
	"context"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// SendLetter sends a letter, with its document, to a patient's record.
func (s *Service) SendLetter(ctx context.Context, in model.SendLetterInput) (*ent.Letter, error) {
	return nil, ErrNotImplemented
}

// MarkLetterRead marks a letter read for the viewer.
func (s *Service) MarkLetterRead(ctx context.Context, id pulid.ID) (*ent.Letter, error) {
	return nil, ErrNotImplemented
}

// DocumentURL is where the letter's document is downloaded.
func (s *Service) DocumentURL(ctx context.Context, l *ent.Letter) (*string, error) {
	return nil, nil
}

// ReadByMe reports whether the viewer has read the letter.
func (s *Service) ReadByMe(ctx context.Context, l *ent.Letter) (bool, error) {
	return false, ErrNotImplemented
}
