package sharing

import (
	"errors"
	"fmt"
)

// Sentinel errors of sharing; server/api maps each to a code. Refusals of a
// role use access.ErrDenied.
var (
	// ErrInvalidInput wraps every error about the shape of the input.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNotFound is the one answer to a share, result, record or patient
	// that does not exist or that the viewer may not reach.
	ErrNotFound = errors.New("not found")
	// ErrSharingDisabled is returned when a privacy officer has turned off
	// sharing for the record the viewer owns or cares for.
	ErrSharingDisabled = errors.New("sharing is turned off for this record")
	// ErrEmergencyAccessUnavailable is the one answer to break-the-glass on
	// a patient that does not exist and on one whose sharing is turned off.
	ErrEmergencyAccessUnavailable = errors.New("emergency access is not available for this patient")
	// ErrNeverReleased is returned for a result that is never released to
	// the patient.
	ErrNeverReleased = errors.New("this result is never released to the patient")
)

// invalid returns an ErrInvalidInput with a message for the client.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}
