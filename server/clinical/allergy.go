package clinical

import (
	"context"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
)

// noKnownAllergies is the substance of a "no known allergies" statement.
const noKnownAllergies = "No known allergies"

// RecordAllergy records an allergy (or no known allergies). A clinician
// records for their organisation (input.organisationId); the patient, at
// P9, records for themselves and the entry is marked patient-recorded.
func (s *Service) RecordAllergy(ctx context.Context, in model.RecordAllergyInput) (*ent.Allergy, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if in.OrganisationID != nil {
		if _, err := requireClinician(ctx, *in.OrganisationID); err != nil {
			return nil, err
		}
	}
	nka := in.NoKnownAllergies != nil && *in.NoKnownAllergies
	var check validation
	allergyDetails{in.Substance, in.Reaction, in.Severity, in.Criticality}.validate(&check, nka, true)
	if in.OrganisationID != nil {
		checkLabel(&check, in.Category)
	}
	if err := check.err(); err != nil {
		return nil, err
	}
	if in.OrganisationID != nil {
		_, err = s.recordPatient(ctx, in.PatientID)
	} else {
		err = s.actAsPatient(ctx, v, in.PatientID)
	}
	if err != nil {
		return nil, err
	}
	recorder, err := s.client.Account.Get(ctx, v.AccountID)
	if err != nil {
		return nil, err
	}
	assigned := category.General
	if in.Category != nil {
		assigned = *in.Category
	}
	kind, substance, recordedBy := allergy.KindALLERGY, noKnownAllergies, allergy.RecordedByPATIENT
	if nka {
		kind = allergy.KindNO_KNOWN_ALLERGIES
	} else {
		substance = strings.TrimSpace(*in.Substance)
	}
	if in.OrganisationID != nil {
		recordedBy = allergy.RecordedByTRUST
	}
	var id pulid.ID
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		a, err := tx.Allergy.Create().
			SetPatientID(in.PatientID).
			SetKind(kind).
			SetSubstance(substance).
			SetNillableReaction(nonBlank(in.Reaction)).
			SetNillableSeverity(in.Severity).
			SetNillableCriticality(in.Criticality).
			SetNillableStatus(in.Status).
			SetAssignedCategory(assigned).
			SetCategory(access.EffectiveCategory(access.Labelling{Kind: access.KindOther, Assigned: &assigned})).
			SetRecordedBy(recordedBy).
			SetRecorder(recorder.DisplayName).
			SetRecordedAt(s.now()).
			SetNillableSourceOrganisationID(in.OrganisationID).
			Save(ctx)
		if err != nil {
			return err
		}
		id = a.ID
		if in.OrganisationID != nil {
			if err := link(ctx, tx, in.PatientID, *in.OrganisationID); err != nil {
				return err
			}
		}
		return audit(ctx, tx, v, in.PatientID, "ALLERGY_RECORDED", "Allergy")
	})
	if err != nil {
		return nil, err
	}
	return s.readAllergy(ctx, id)
}

// UpdateAllergy changes an allergy its recorder may change: the patient
// their own entries, a clinician those of their organisation.
func (s *Service) UpdateAllergy(ctx context.Context, id pulid.ID, in model.UpdateAllergyInput) (*ent.Allergy, error) {
	v, a, err := s.changeableAllergy(ctx, id)
	if err != nil {
		return nil, err
	}
	var check validation
	allergyDetails{in.Substance, in.Reaction, in.Severity, in.Criticality}.
		validate(&check, a.Kind == allergy.KindNO_KNOWN_ALLERGIES, false)
	if err := check.err(); err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		current, err := tx.Allergy.Get(ctx, id)
		if err != nil {
			return notFound(err)
		}
		if err := fresh(in.ExpectedUpdatedAt, current.UpdatedAt); err != nil {
			return err
		}
		// Claim the version read: a racing change waits on the row lock and
		// then misses (see claimed).
		if err := claimed(tx.Allergy.Update().
			Where(allergy.ID(id), allergy.UpdatedAt(current.UpdatedAt)).
			Save(ctx)); err != nil {
			return err
		}
		u := tx.Allergy.UpdateOneID(id).
			SetNillableSeverity(in.Severity).
			SetNillableCriticality(in.Criticality).
			SetNillableStatus(in.Status)
		if in.Substance != nil {
			u.SetSubstance(strings.TrimSpace(*in.Substance))
		}
		if in.Reaction != nil {
			// A blank reaction clears it.
			if r := nonBlank(in.Reaction); r != nil {
				u.SetReaction(*r)
			} else {
				u.ClearReaction()
			}
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		return audit(ctx, tx, v, a.PatientID, "ALLERGY_UPDATED", "Allergy")
	})
	if err != nil {
		return nil, err
	}
	return s.readAllergy(ctx, id)
}

// RemoveAllergy deletes an allergy its recorder may change (see
// UpdateAllergy); the audit event outlives it.
func (s *Service) RemoveAllergy(ctx context.Context, id pulid.ID) (bool, error) {
	v, a, err := s.changeableAllergy(ctx, id)
	if err != nil {
		return false, err
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.Allergy.DeleteOneID(id).Exec(ctx); err != nil {
			return notFound(err)
		}
		return audit(ctx, tx, v, a.PatientID, "ALLERGY_REMOVED", "Allergy")
	})
	return err == nil, err
}

// AllergyState says whether the record states anything about allergies,
// as far as the viewer may see: an active allergy, else a "no known
// allergies" statement, else nothing recorded.
func (s *Service) AllergyState(ctx context.Context, p *ent.Patient) (model.AllergyRecordState, error) {
	active := s.client.Allergy.Query().Where(allergy.PatientID(p.ID), allergy.StatusEQ(allergy.StatusACTIVE))
	has, err := active.Clone().Where(allergy.KindEQ(allergy.KindALLERGY)).Exist(ctx)
	if err != nil || has {
		return model.AllergyRecordStateHasAllergies, err
	}
	// A statement someone has since marked inactive no longer says anything.
	nka, err := active.Clone().Where(allergy.KindEQ(allergy.KindNO_KNOWN_ALLERGIES)).Exist(ctx)
	if err != nil || nka {
		return model.AllergyRecordStateNoKnownAllergies, err
	}
	return model.AllergyRecordStateNoneRecorded, nil
}

// changeableAllergy reads an allergy as the viewer and checks they may
// change it: patient-recorded ones only the patient (at P9), trust ones
// only a clinician of the recording organisation. An allergy the viewer
// cannot see answers as a missing one.
func (s *Service) changeableAllergy(ctx context.Context, id pulid.ID) (*access.Viewer, *ent.Allergy, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.client.Allergy.Get(ctx, id)
	if err != nil {
		return nil, nil, notFound(err)
	}
	if a.RecordedBy == allergy.RecordedByPATIENT && a.SourceOrganisationID == nil {
		if !v.Owns(a.PatientID) || v.IdentityLevel != access.IdentityVerified {
			return nil, nil, access.ErrDenied
		}
	} else if !v.Produced(a.SourceOrganisationID) {
		return nil, nil, access.ErrDenied
	}
	return v, a, nil
}

// readAllergy reads an allergy back as the viewer.
func (s *Service) readAllergy(ctx context.Context, id pulid.ID) (*ent.Allergy, error) {
	a, err := s.client.Allergy.Get(ctx, id)
	return a, notFound(err)
}

// actAsPatient checks that the viewer writes to their own record, signed
// in at P9. Someone who may see the record but not write to it as its
// patient is refused; anyone else gets the answer a missing record gets.
func (s *Service) actAsPatient(ctx context.Context, v *access.Viewer, p pulid.ID) error {
	if v.Owns(p) {
		if v.IdentityLevel != access.IdentityVerified {
			return access.ErrIdentityLevelTooLow
		}
		return nil
	}
	if _, err := s.recordPatient(ctx, p); err != nil {
		return err
	}
	return access.ErrDenied
}

// allergyDetails is what an allergy says about the substance and the
// reaction; a "no known allergies" statement says none of it.
type allergyDetails struct {
	substance, reaction *string
	severity            *allergy.Severity
	criticality         *allergy.Criticality
}

// validate checks the details of a new allergy (substance required) or a
// change to one, of either kind.
func (d allergyDetails) validate(check *validation, nka, creating bool) {
	if nka {
		for _, f := range []struct {
			path string
			set  bool
		}{
			{"input.substance", d.substance != nil},
			{"input.reaction", d.reaction != nil},
			{"input.severity", d.severity != nil},
			{"input.criticality", d.criticality != nil},
		} {
			check.check(!f.set, f.path, "a no known allergies statement has no substance or reaction")
		}
		return
	}
	if creating || d.substance != nil {
		checkRequired(check, "input.substance", d.substance, maxLineText)
	}
	checkLength(check, "input.reaction", trimSpace(d.reaction), maxLineText)
}

// checkRequired refuses a blank text and one over limit characters.
func checkRequired(v *validation, path string, s *string, limit int) {
	v.check(nonBlank(s) != nil, path, "must not be blank")
	checkLength(v, path, trimSpace(s), limit)
}
