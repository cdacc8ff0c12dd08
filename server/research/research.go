// Package research runs research studies: a research organisation's
// RESEARCHERs define studies, patients join and leave them, and the study's
// researchers read the consented cohort's size and download a de-identified
// export.
//
// A researcher never reaches the patient graph: every read of patient data
// here happens as the system, after this package's own checks, and only
// the export leaves with it, pseudonymised under the study's key. That key
// never leaves the service: it is in no answer, log or error. Only a
// patient, signed in at P9, joins or leaves a study for their own record.
package research

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
)

var _ graph.Research = (*Service)(nil)

// Config holds what the service needs from the server's configuration.
type Config struct {
	// PublicURL is where the portal is reached, for export links.
	PublicURL string
	// Now is the clock; tests inject their own.
	Now func() time.Time
}

// Service implements graph.Research over an Ent client, and serves the
// export (see ExportHandler).
type Service struct {
	client *ent.Client
	cfg    Config
}

// New returns a Service over client.
func New(client *ent.Client, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://localhost:8080"
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	return &Service{client: client, cfg: cfg}
}

// now is the injected clock in UTC: SQLite compares times as text.
func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Audit actions written by this package.
const (
	actionStudyCreated = "RESEARCH_STUDY_CREATED"
	actionStudyClosed  = "RESEARCH_STUDY_CLOSED"
	actionConsent      = "RESEARCH_CONSENT"
	actionWithdrawal   = "RESEARCH_WITHDRAWAL"
	actionExport       = "RESEARCH_EXPORT"
)

// MinCohort is the smallest cohort whose size a researcher is told: below
// it (and above zero) the size is suppressed.
const MinCohort = 10

// viewer returns the request's viewer, or ErrNoViewer when signed out.
func viewer(ctx context.Context) (*access.Viewer, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	return v, nil
}

// owner checks that the viewer is the record's patient, signed in at P9,
// as for their clinical data: a patient below P9 is told why; carers,
// clinicians and everyone else are refused.
func owner(ctx context.Context, patient pulid.ID) (*access.Viewer, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.Owns(patient) {
		return nil, access.ErrDenied
	}
	if v.IdentityLevel != access.IdentityVerified {
		return nil, access.ErrIdentityLevelTooLow
	}
	return v, nil
}

// badInput returns a BAD_USER_INPUT error with a message for the client.
func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{graph.ErrBadInput}, args...)...)
}

// disclose applies disclosure control to a cohort size: zero says nothing
// about anyone and is shown; 1 to MinCohort-1 is suppressed; the rest is
// rounded to the nearest 5, as every count below national level is.
func disclose(n int) *model.Figure {
	switch {
	case n <= 0:
		zero := 0
		return &model.Figure{Value: &zero}
	case n < MinCohort:
		return &model.Figure{Suppressed: true}
	}
	r := (n + 2) / 5 * 5
	return &model.Figure{Value: &r}
}

// event is one audit record written by this package. Audit events carry
// IDs and labels, never the study's key or anyone's data.
type event struct {
	action       string
	patient      *pulid.ID
	organisation *pulid.ID
	reason       string
}

// audit records what the viewer did, in the transaction of the change.
func (s *Service) audit(ctx context.Context, tx *ent.Client, v *access.Viewer, e event) error {
	c := tx.AuditEvent.Create().
		SetNillablePatientID(e.patient).
		SetActorAccountID(v.AccountID).
		SetNillableActorOrganisationID(e.organisation).
		SetAction(e.action).
		SetAt(s.now())
	if e.reason != "" {
		c.SetReason(e.reason)
	}
	return c.Exec(access.SystemContext(ctx))
}

// withoutKey drops the study's pseudonym key from an entity this package
// returns: GraphQL skips the field already; nothing else needs it either.
func withoutKey(st *ent.ResearchStudy) *ent.ResearchStudy {
	if st != nil {
		st.PseudonymKey = nil
	}
	return st
}
