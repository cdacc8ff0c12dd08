// Package clinical is the write side of the clinical record: appointments,
// allergies, results, encounters, letters and demographics, and the reads
// derived from them (component series, patient search). It never decides
// who may see or change what: it asks package access, and reads every row
// it returns as the viewer, so the privacy policies apply.
package clinical

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/notify"
	"github.com/patientportal/portal/server/store"
)

// Sentinel errors; the API maps each to a code.
var (
	// ErrNotFound is the one answer to a missing record and a hidden one.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a change was based on a stale version.
	ErrConflict = errors.New("the record has changed since you read it: reload and try again")
)

// FieldError is one bad input field.
type FieldError struct {
	// Path is the field's path in the input, e.g. "input.postcode".
	Path string
	// Message says what is wrong with it.
	Message string
}

// ValidationError lists every bad field of an input; nothing was written.
type ValidationError struct{ Fields []FieldError }

// Error implements error.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Path + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// validation collects bad fields before anything is written.
type validation struct{ fields []FieldError }

// check records a bad field when ok is false.
func (v *validation) check(ok bool, path, message string) {
	if !ok {
		v.fields = append(v.fields, FieldError{Path: path, Message: message})
	}
}

// err returns the collected errors, or nil.
func (v *validation) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &ValidationError{Fields: v.fields}
}

// Config configures the Service.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Blobs holds letter documents.
	Blobs blob.Store
	// PublicURL is where the portal is reached, for document links.
	PublicURL string
}

// Service implements graph.Clinical.
type Service struct {
	client *ent.Client
	cfg    Config
}

var _ graph.Clinical = (*Service)(nil)

// New returns a Service over client.
func New(client *ent.Client, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	return &Service{client: client, cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// viewer returns the signed-in viewer or access.ErrNoViewer.
func viewer(ctx context.Context) (*access.Viewer, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	return v, nil
}

// requireClinician checks the viewer is a clinician at org.
func requireClinician(ctx context.Context, org pulid.ID) (*access.Viewer, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.HasRole(org, access.RoleClinician) {
		return nil, access.ErrDenied
	}
	return v, nil
}

// fresh refuses a change based on a stale updatedAt. Times are compared to
// the microsecond, the precision every engine stores.
func fresh(expected, actual time.Time) error {
	if !expected.UTC().Truncate(time.Microsecond).Equal(actual.UTC().Truncate(time.Microsecond)) {
		return ErrConflict
	}
	return nil
}

// notFound turns Ent's not-found into the package's, so that hidden and
// missing answer alike.
func notFound(err error) error {
	if ent.IsNotFound(err) {
		return ErrNotFound
	}
	return err
}

// inTx runs fn in a transaction as the system (callers check the viewer
// first).
func (s *Service) inTx(ctx context.Context, fn func(ctx context.Context, tx *ent.Client) error) error {
	sys := access.SystemContext(ctx)
	return store.InTx(sys, s.client, func(tx *ent.Client) error { return fn(sys, tx) })
}

// link makes sure an organisation that sends data to a record is linked
// to it.
func link(ctx context.Context, tx *ent.Client, patient, org pulid.ID) error {
	v, err := viewer(ctx)
	if err != nil {
		return err
	}
	return notify.LinkOrganisation(ctx, tx, patient, org, v.Now)
}

// audit records a change to a patient's record, in the change's
// transaction so that neither exists without the other.
func audit(ctx context.Context, tx *ent.Client, v *access.Viewer, patient pulid.ID, action, kind string) error {
	c := tx.AuditEvent.Create().
		SetPatientID(patient).
		SetActorAccountID(v.AccountID).
		SetAction(action).
		SetRecordKinds([]string{kind}).
		SetAt(v.Now)
	if orgs := v.OrganisationsWithRole(access.RoleClinician); len(orgs) > 0 && !v.Owns(patient) {
		c.SetActorOrganisationID(orgs[0])
	}
	if err := c.Exec(ctx); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// logged reports a best-effort side effect that failed.
func logged(ctx context.Context, what string, err error) {
	if err != nil {
		slog.ErrorContext(ctx, what, "err", err)
	}
}
