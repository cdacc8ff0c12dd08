package sharing

import (
	"context"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// Bounds of an organisation's ingest rules.
const (
	maxExcludedServices = 50
	maxServiceName      = 100
	maxReleaseDelay     = 24 * 365
)

// SetIngestRules lets an organisation's ADMIN choose which services its
// FHIR feed keeps out of the portal and how long its results are held.
func (s *Service) SetIngestRules(ctx context.Context, in model.IngestRulesInput) (*model.IngestRules, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := pulid.TableOf(in.OrganisationID); err != nil {
		return nil, invalid("organisationId is not a valid ID")
	}
	if !v.HasRole(in.OrganisationID, access.RoleAdmin) {
		return nil, access.ErrDenied
	}
	if in.ResultReleaseDelayHours < 0 || in.ResultReleaseDelayHours > maxReleaseDelay {
		return nil, invalid("resultReleaseDelayHours must be 0 to 8760")
	}
	if len(in.ExcludedServices) > maxExcludedServices {
		return nil, invalid("at most 50 excluded services")
	}
	services := make([]string, 0, len(in.ExcludedServices))
	for _, name := range in.ExcludedServices {
		name = strings.TrimSpace(name)
		if name == "" || len(name) > maxServiceName {
			return nil, invalid("each excluded service must be 1 to 100 characters")
		}
		services = append(services, name)
	}
	sys := access.SystemContext(ctx)
	err = s.withTx(sys, func(tx *ent.Client) error {
		err := tx.Organisation.UpdateOneID(in.OrganisationID).
			SetExcludedServices(services).
			SetResultReleaseDelayHours(in.ResultReleaseDelayHours).
			Exec(sys)
		if err != nil {
			return err
		}
		return s.audit(sys, tx, v, event{action: "INGEST_RULES_SET", organisation: &in.OrganisationID})
	})
	if err != nil {
		return nil, err
	}
	return &model.IngestRules{ExcludedServices: services, ResultReleaseDelayHours: in.ResultReleaseDelayHours}, nil
}
