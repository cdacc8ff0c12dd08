// Package tracking is what patients record themselves, and their care team
// reads: symptoms, a journal, device readings at volume (with hourly
// rollups kept up to date as readings arrive), and care resources. It never
// decides who may see or change what: it asks package access, and reads
// what it returns as the viewer, so the privacy policies apply.
package tracking

import (
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/graph"
)

// Config configures the Service.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service implements graph.Tracking.
type Service struct {
	client *ent.Client
	cfg    Config
}

var _ graph.Tracking = (*Service)(nil)

// New returns a Service over client.
func New(client *ent.Client, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{client: client, cfg: cfg}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }
