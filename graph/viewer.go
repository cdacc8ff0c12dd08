package graph

import (
	"context"
	"slices"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// viewerPatients returns the records v may open, in grant order (own first).
func (r *Resolver) viewerPatients(ctx context.Context, v *access.Viewer) ([]*ent.Patient, error) {
	ids := v.PatientIDs()
	if len(ids) == 0 {
		return []*ent.Patient{}, nil
	}
	ps, err := r.Client.Patient.Query().Where(patient.IDIn(ids...)).CollectFields(ctx)
	if err != nil {
		return nil, err
	}
	all, err := ps.All(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(all, func(a, b *ent.Patient) int {
		return slices.Index(ids, a.ID) - slices.Index(ids, b.ID)
	})
	return all, nil
}

// patient returns one record, or nil when it is missing or hidden.
func (r *Resolver) patient(ctx context.Context, id pulid.ID) (*ent.Patient, error) {
	if err := validateIDs(id); err != nil {
		return nil, err
	}
	if access.FromContext(ctx) == nil {
		return nil, access.ErrNoViewer
	}
	// Through Noder, not CollectFields: Noder tells the eager loads that
	// there is one parent, so each connection is read with a plain LIMIT
	// down its index instead of a window over all of the patient's rows.
	n, err := r.Client.Noder(ctx, id, ent.WithFixedNodeType(patient.Table))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, ok := n.(*ent.Patient)
	if !ok {
		return nil, nil
	}
	return p, nil
}
