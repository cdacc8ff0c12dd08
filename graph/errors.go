package graph

import (
	"errors"
	"fmt"
)

// ErrBadInput is wrapped by every error about the shape of the input: a
// malformed ID, a page size out of range.
var ErrBadInput = errors.New("bad user input")

// badInput returns an ErrBadInput with a message for the client.
func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, args...)...)
}

// errUnknownResumePoint refuses a subscription asked to resume after a
// notification that is not the viewer's, or does not exist.
var errUnknownResumePoint = fmt.Errorf("%w: after names no notification of yours", ErrBadInput)
