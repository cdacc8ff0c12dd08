// Package sharing is the write side of sharing and privacy labels: shares
// and their invitations, a privacy officer's switch, break-the-glass,
// specialty rules, relabelling and result release.
//
// It never decides on its own who may see a record: it reads as the viewer
// (so the Ent policies apply) and takes categories and coverage from package
// access. It writes with access.SystemContext only after its own checks of
// the viewer's roles and ownership. Its answers never tell a hidden record
// from a missing one, and its emails carry no clinical content, names,
// organisation names or internal IDs.
package sharing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/patientportal/portal/server/notify"
	"github.com/patientportal/portal/server/store"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
)

var _ graph.Sharing = (*Service)(nil)

// Config holds what the service needs from the server's configuration.
type Config struct {
	// PublicURL is where the portal is reached, for links in emails.
	PublicURL string
	// Now is the clock; tests inject their own.
	Now func() time.Time
}

// Service implements graph.Sharing over an Ent client.
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

// viewer returns the request's viewer, or ErrNoViewer when signed out.
func viewer(ctx context.Context) (*access.Viewer, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	return v, nil
}

// owns reports whether v owns the record.
func owns(v *access.Viewer, patientID pulid.ID) bool {
	return slices.Contains(v.OwnPatientIDs(), patientID)
}

// expectID checks that id is well formed (else a bad-input error) and names
// a row of table (else ErrNotFound, as for a missing row of the right type).
func expectID(id pulid.ID, table string) error {
	t, err := pulid.TableOf(id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	if t != table {
		return ErrNotFound
	}
	return nil
}

// withTx runs fn in a transaction (see store.InTx).
func (s *Service) withTx(ctx context.Context, fn func(tx *ent.Client) error) error {
	return store.InTx(ctx, s.client, fn)
}

// event is one audit record written by this package.
type event struct {
	action       string
	patient      *pulid.ID
	organisation *pulid.ID
	share        *pulid.ID
	breakGlass   bool
	reason       *string
}

// audit records what the viewer did, in the transaction of the change, so
// that a change is never committed without its audit record.
func (s *Service) audit(ctx context.Context, tx *ent.Client, v *access.Viewer, e event) error {
	return tx.AuditEvent.Create().
		SetNillablePatientID(e.patient).
		SetActorAccountID(v.AccountID).
		SetNillableActorOrganisationID(e.organisation).
		SetAction(e.action).
		SetNillableShareID(e.share).
		SetBreakGlass(e.breakGlass).
		SetNillableReason(e.reason).
		SetAt(s.now()).
		Exec(access.SystemContext(ctx))
}

// notify writes n to each recipient once, in the transaction of the change.
func (s *Service) notify(ctx context.Context, tx *ent.Client, n notify.Note, recipients ...pulid.ID) error {
	return notify.To(ctx, tx, n, s.now(), recipients...)
}

func ptr[T any](v T) *T { return &v }
