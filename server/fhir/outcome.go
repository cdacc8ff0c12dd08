package fhir

import (
	"errors"
	"fmt"
)

// OperationOutcome is FHIR's report of what went wrong or was noted.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one finding of an OperationOutcome.
type Issue struct {
	// Severity is fatal, error, warning or information.
	Severity string `json:"severity"`
	// Code is FHIR's issue type: invalid, not-supported, not-found,
	// business-rule, conflict, forbidden, exception, informational...
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// outcome wraps issues into an OperationOutcome.
func outcome(issues ...Issue) *OperationOutcome {
	return &OperationOutcome{ResourceType: "OperationOutcome", Issue: issues}
}

// ResponseBundle answers a Bundle: one entry per entry received, in order.
type ResponseBundle struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id,omitempty"`
	Type         string          `json:"type"`
	Entry        []ResponseEntry `json:"entry"`
}

// ResponseEntry is the answer for one entry.
type ResponseEntry struct {
	Response EntryResponse `json:"response"`
}

// EntryResponse says what became of an entry.
type EntryResponse struct {
	// Status is an HTTP status line, e.g. "201 Created".
	Status   string            `json:"status"`
	Location string            `json:"location,omitempty"`
	Outcome  *OperationOutcome `json:"outcome,omitempty"`
}

// Refusal is an entry the portal will not take: invalid, unresolvable or
// against a rule. It is reported on the entry; in a transaction it refuses
// the whole transaction.
type Refusal struct {
	// Status is the HTTP status of the entry.
	Status int
	// Code is FHIR's issue type.
	Code string
	// Reason is the diagnostics; it never quotes clinical content.
	Reason string
}

func (r *Refusal) Error() string { return r.Reason }

// refuse returns an invalid-content Refusal.
func refuse(format string, args ...any) error {
	return &Refusal{Status: 422, Code: "invalid", Reason: fmt.Sprintf(format, args...)}
}

// unresolved refuses an entry whose patient or target cannot be found.
func unresolved(format string, args ...any) error {
	return &Refusal{Status: 404, Code: "not-found", Reason: fmt.Sprintf(format, args...)}
}

// errSkip marks an entry the portal does not store, with a warning.
type errSkip struct{ reason string }

func (e *errSkip) Error() string { return e.reason }

// skip returns the warning for an entry deliberately not stored.
func skip(format string, args ...any) error {
	return &errSkip{reason: fmt.Sprintf(format, args...)}
}

// asRefusal reports whether err refuses an entry.
func asRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// asSkip reports whether err skips an entry.
func asSkip(err error) (*errSkip, bool) {
	var s *errSkip
	ok := errors.As(err, &s)
	return s, ok
}
