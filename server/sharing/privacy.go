package sharing

import (
	"context"
	"log/slog"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// SetPatientSharing lets a privacy officer of an organisation linked to the
// record turn all sharing and break-the-glass off for a patient, or on
// again. Only the organisation that turned it off may turn it back on:
// another organisation must not undo a safeguarding decision it did not
// make.
func (s *Service) SetPatientSharing(ctx context.Context, patientID, organisationID pulid.ID, enabled bool) error {
	v, err := viewer(ctx)
	if err != nil {
		return err
	}
	if _, err := pulid.TableOf(organisationID); err != nil {
		return invalid("organisationId is not a valid ID")
	}
	if err := expectID(patientID, patient.Table); err != nil {
		return err
	}
	if !v.HasRole(organisationID, access.RolePrivacyOfficer) {
		return access.ErrDenied
	}
	sys := access.SystemContext(ctx)
	linked, err := s.client.PatientOrganisation.Query().
		Where(patientorganisation.PatientID(patientID), patientorganisation.OrganisationID(organisationID)).
		Exist(sys)
	if err != nil {
		return err
	}
	if !linked {
		return ErrNotFound
	}
	pt, err := s.client.Patient.Get(sys, patientID)
	if err != nil {
		return err
	}
	switch {
	case enabled && pt.SharingDisabledAt == nil, !enabled && pt.SharingDisabledAt != nil:
		return nil
	case enabled && pt.SharingDisabledByOrganisationID != nil && *pt.SharingDisabledByOrganisationID != organisationID:
		return access.ErrDenied
	}
	err = s.withTx(sys, func(tx *ent.Client) error {
		u := tx.Patient.UpdateOneID(patientID).SetUpdatedAt(s.now())
		action := "SHARING_ENABLED"
		if enabled {
			u.ClearSharingDisabledAt().ClearSharingDisabledByOrganisationID()
		} else {
			u.SetSharingDisabledAt(s.now()).SetSharingDisabledByOrganisationID(organisationID)
			action = "SHARING_DISABLED"
		}
		if err := u.Exec(sys); err != nil {
			return err
		}
		return s.audit(sys, tx, v, event{action: action, patient: &patientID, organisation: &organisationID})
	})
	if err != nil {
		return err
	}
	slog.InfoContext(ctx, "patient sharing switched", "patient", patientID, "organisation", organisationID, "enabled", enabled)
	return nil
}
