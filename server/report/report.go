// Package report answers an organisation's analysts with figures about the
// portal's use: aggregates only, for one organisation and one calendar
// period, after disclosure control (disclosure.go).
//
// It must never return anything that leads to a patient, a record or an
// account: its answers are counts, medians and keys such as a status or a
// specialty, never an ID. Every figure is computed by an aggregate query
// in the database over indexed columns; no patient row is ever loaded into
// the server. It reads as the system (access.SystemContext) only after its
// own check that the viewer is an ANALYST at the organisation: analysts
// hold no grant on any record.
package report

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
)

var _ graph.Reporting = (*Service)(nil)

// DefaultPostagePence is what posting one letter costs when the
// configuration does not say.
const DefaultPostagePence = 85

// Config holds what the service needs from the server's configuration.
type Config struct {
	// PostagePence is what posting one letter costs, in pence; 0 or less
	// means DefaultPostagePence.
	PostagePence int
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// Parallel is how many of an overview's queries run at once; 0 means
	// one per processor. Each holds a database connection meanwhile.
	Parallel int
}

// Service implements graph.Reporting over an Ent client.
type Service struct {
	client *ent.Client
	cfg    Config

	once sync.Once
	dia  string // the engine's dialect, found on first use
}

// New returns a Service over client.
func New(client *ent.Client, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PostagePence <= 0 {
		cfg.PostagePence = DefaultPostagePence
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = runtime.GOMAXPROCS(0)
	}
	return &Service{client: client, cfg: cfg}
}

// Overview computes the figures of one organisation and period for an
// ANALYST of that organisation.
func (s *Service) Overview(ctx context.Context, org pulid.ID, in model.ReportingPeriodInput) (*model.ReportingOverview, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	if !v.HasRole(org, access.RoleAnalyst) {
		return nil, access.ErrDenied
	}
	now := s.cfg.Now().UTC()
	p, err := periodOf(in, now)
	if err != nil {
		return nil, err
	}
	raw, err := s.measure(access.SystemContext(ctx), org, p, now)
	if err != nil {
		return nil, err
	}
	return raw.overview(p, s.cfg.PostagePence), nil
}
