package api

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// A request whose client went away is CANCELLED, not an internal error:
// operators' error counts and logs stay about real faults.
func TestCancelledRequestsAreNotInternalErrors(t *testing.T) {
	if code, _ := classify(fmt.Errorf("loading appointments: %w", context.Canceled)); code != CodeCancelled {
		t.Errorf("a wrapped context.Canceled: code %s, want %s", code, CodeCancelled)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A driver may answer a cancelled request with an error of its own.
	got := presentError(ctx, errors.New("sqlite: interrupted (9)"))
	if got.Extensions["code"] != CodeCancelled {
		t.Errorf("a driver error after the client left: code %v, want %s", got.Extensions["code"], CodeCancelled)
	}
	if got := presentError(t.Context(), errors.New("sqlite: interrupted (9)")); got.Extensions["code"] != CodeInternal {
		t.Errorf("the same error on a live request: code %v, want %s", got.Extensions["code"], CodeInternal)
	}
}
