// Package access decides who may see which part of a patient record. Nothing
// else in the code makes that decision: the Ent privacy policies in
// ent/schema and the GraphQL directives in graph both call it. It depends
// only on the viewer and on Ent's generated privacy and entql packages,
// never on graph or server.
package access

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// Viewer is whoever makes a request, resolved once per request with every
// grant it holds.
type Viewer struct {
	// AccountID is the signed-in account.
	AccountID pulid.ID
	// SessionID is the session the request came with.
	SessionID pulid.ID
	// Grants are the records the viewer may open, its own first.
	Grants []Grant
	// Memberships are the viewer's roles at organisations.
	Memberships []Membership
	// IdentityLevel is what the session's sign-in proved: "P9" opens the
	// viewer's own clinical data; below it only demographics and settings.
	IdentityLevel string
	// Now is the time of the request, from the server's clock: release
	// times are compared with it.
	Now time.Time
}

// IdentityVerified is the identity proofing level that opens clinical data.
const IdentityVerified = "P9"

// Role names of memberships.
const (
	RoleClinician      = "CLINICIAN"
	RoleAdmin          = "ADMIN"
	RoleAnalyst        = "ANALYST"
	RoleResearcher     = "RESEARCHER"
	RoleIntegration    = "INTEGRATION"
	RolePrivacyOfficer = "PRIVACY_OFFICER"
)

// HasRole reports whether v holds role at the organisation.
func (v *Viewer) HasRole(organisation pulid.ID, role string) bool {
	if v == nil {
		return false
	}
	for _, m := range v.Memberships {
		if m.OrganisationID == organisation && m.Role == role {
			return true
		}
	}
	return false
}

// OrganisationsWithRole returns the organisations at which v holds role.
func (v *Viewer) OrganisationsWithRole(role string) []pulid.ID {
	if v == nil {
		return nil
	}
	var ids []pulid.ID
	for _, m := range v.Memberships {
		if m.Role == role {
			ids = append(ids, m.OrganisationID)
		}
	}
	return ids
}

// Grant is access to one patient record for a set of categories.
type Grant struct {
	// PatientID is the record.
	PatientID pulid.ID
	// Owner is set when the record is the viewer's own: every category.
	Owner bool
	// Categories are the labels a share covers; unused for the owner.
	Categories []category.Category
	// ShareID is the share that gives this grant, if any.
	ShareID pulid.ID
	// BreakGlassID is the emergency window that gives this grant, if any:
	// GENERAL only.
	BreakGlassID pulid.ID
}

// Membership is a role at an organisation.
type Membership struct {
	// OrganisationID is the organisation.
	OrganisationID pulid.ID
	// Role is the role, e.g. CLINICIAN.
	Role string
}

type viewerKey struct{}

// NewContext returns a context carrying v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer of the request, or nil when signed out.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey{}).(*Viewer)
	return v
}

// PatientIDs returns the records the viewer may open, in grant order.
func (v *Viewer) PatientIDs() []pulid.ID {
	if v == nil {
		return nil
	}
	ids := make([]pulid.ID, 0, len(v.Grants))
	for _, g := range v.Grants {
		ids = append(ids, g.PatientID)
	}
	return ids
}

// OwnPatientIDs returns the records the viewer owns.
func (v *Viewer) OwnPatientIDs() []pulid.ID {
	if v == nil {
		return nil
	}
	var ids []pulid.ID
	for _, g := range v.Grants {
		if g.Owner {
			ids = append(ids, g.PatientID)
		}
	}
	return ids
}
