package auth

import (
	"errors"
	"fmt"
)

// Sentinel errors of sign-in and registration; the API maps each to a code.
var (
	// ErrInvalidInput wraps every error about the shape of the input.
	ErrInvalidInput = errors.New("invalid input")
	// ErrInvitationInvalid is the one answer to an unknown, used, revoked
	// or expired invitation or link.
	ErrInvitationInvalid = errors.New("this link is not valid any more: ask for a new one")
	// ErrDetailsMismatch is returned when the date of birth given does not
	// match the record.
	ErrDetailsMismatch = errors.New("the details given do not match our records")
	// ErrEmailInUse is told only to the invitee: the invitation's email
	// belongs to another person's account.
	ErrEmailInUse = errors.New("this email address belongs to another person's account: ask for an invitation to a different address")
	// ErrAlreadyRegistered is returned when a record already has an account.
	ErrAlreadyRegistered = errors.New("this record is already registered: sign in instead")
	// ErrPatientNotFound is returned when no patient of the organisation
	// matches an invitation's details.
	ErrPatientNotFound = errors.New("no patient of this organisation matches these details")
)

// invalid returns an ErrInvalidInput with a message for the client.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}
