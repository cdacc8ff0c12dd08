package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/encounter"
)

// sensitive implements @sensitive: the field resolves to null, with no
// error, unless package access says the viewer may see it. It fails
// closed: an object it does not know hides the field.
func sensitive(ctx context.Context, obj any, next graphql.Resolver) (any, error) {
	if !sensitiveVisible(access.FromContext(ctx), obj) {
		return nil, nil
	}
	return next(ctx)
}

func sensitiveVisible(v *access.Viewer, obj any) bool {
	switch o := obj.(type) {
	case *ent.Result:
		return v.ResultContentVisible(o.SourceOrganisationID, o.VisibleFrom)
	case *ent.Encounter:
		if o.Kind == "" || o.PatientID == "" {
			return false // the columns the decision needs were not loaded
		}
		return v.EncounterDetailVisible(o.PatientID, o.SourceOrganisationID,
			o.Kind == encounter.KindEMERGENCY, o.Status != encounter.StatusARRIVED)
	}
	return false
}
