package graph

import (
	"context"

	"entgo.io/contrib/entgql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// shareStatus reads a share's state at the time of the request.
func shareStatus(ctx context.Context, s *ent.Share) model.ShareStatus {
	now := access.FromContext(ctx).Now
	switch {
	case s.RevokedAt != nil:
		return model.ShareStatusRevoked
	case s.AcceptedAt == nil:
		return model.ShareStatusPending
	case s.ExpiresAt != nil && !now.Before(*s.ExpiresAt):
		return model.ShareStatusExpired
	}
	return model.ShareStatusActive
}

// staffAccessLog lists what an organisation's staff read or changed, for
// its privacy officers; the audit policy shows nothing to anyone else.
func (r *Resolver) staffAccessLog(ctx context.Context, org pulid.ID, first *int, after *entgql.Cursor[pulid.ID]) (*ent.AuditEventConnection, error) {
	if err := validateIDs(org); err != nil {
		return nil, err
	}
	return r.auditPage(ctx, r.Client.AuditEvent.Query().Where(auditevent.ActorOrganisationID(org)), first, after)
}

// auditPage pages audit events newest first.
func (r *Resolver) auditPage(ctx context.Context, q *ent.AuditEventQuery, first *int, after *entgql.Cursor[pulid.ID]) (*ent.AuditEventConnection, error) {
	size := DefaultPageSize
	if first != nil {
		if *first < 0 || *first > MaxPageSize {
			return nil, badInput("first must be between 0 and %d", MaxPageSize)
		}
		size = *first
	}
	if access.FromContext(ctx) == nil {
		return nil, access.ErrNoViewer
	}
	return q.Paginate(ctx, after, &size, nil, nil, ent.WithAuditEventOrder(&ent.AuditEventOrder{
		Field:     ent.AuditEventOrderFieldAt,
		Direction: entgql.OrderDirectionDesc,
	}))
}

// accessLog lists who read or changed a record, newest first, leaving out
// the viewer's own actions. The audit policy shows it to the patient only.
func (r *Resolver) accessLog(ctx context.Context, p *ent.Patient, first *int, after *entgql.Cursor[pulid.ID]) (*ent.AuditEventConnection, error) {
	v := access.FromContext(ctx)
	if v == nil {
		return nil, access.ErrNoViewer
	}
	return r.auditPage(ctx, r.Client.AuditEvent.Query().Where(
		auditevent.PatientID(p.ID),
		auditevent.Or(auditevent.ActorAccountIDIsNil(), auditevent.ActorAccountIDNEQ(v.AccountID)),
	), first, after)
}
