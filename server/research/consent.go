package research

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/researchconsent"
	"github.com/patientportal/portal/ent/researchstudy"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/store"
)

// A patient has one consent row per study (the schema makes the pair
// unique): joining again after withdrawing reuses it, with a new
// consented_at, no withdrawn_at and the categories of the new consent. The
// history of every consent and withdrawal is in the audit log, one
// RESEARCH_CONSENT or RESEARCH_WITHDRAWAL event each, naming the study and
// the categories.

// PatientStudies lists the open studies, and those the patient has a
// consent to (withdrawn or not, open or closed), newest first, each with
// the patient's consent. Only the patient, signed in at P9, sees them;
// anyone else who may open the record (a carer, a clinician) gets an empty
// list, as a hidden read gets everywhere.
func (s *Service) PatientStudies(ctx context.Context, p *ent.Patient) ([]*model.PatientStudy, error) {
	if _, err := owner(ctx, p.ID); err != nil {
		if errors.Is(err, access.ErrDenied) {
			return []*model.PatientStudy{}, nil
		}
		return nil, err
	}
	sys := access.SystemContext(ctx)
	consents, err := s.client.ResearchConsent.Query().
		Where(researchconsent.PatientID(p.ID)).
		All(sys)
	if err != nil {
		return nil, err
	}
	byStudy := make(map[pulid.ID]*ent.ResearchConsent, len(consents))
	joined := make([]pulid.ID, 0, len(consents))
	for _, c := range consents {
		byStudy[c.StudyID] = c
		joined = append(joined, c.StudyID)
	}
	which := researchstudy.Open(true)
	if len(joined) > 0 {
		which = researchstudy.Or(which, researchstudy.IDIn(joined...))
	}
	studies, err := s.client.ResearchStudy.Query().
		Where(which).
		Order(ent.Desc(researchstudy.FieldCreatedAt), ent.Desc(researchstudy.FieldID)).
		All(sys)
	if err != nil {
		return nil, err
	}
	out := make([]*model.PatientStudy, len(studies))
	for i, st := range studies {
		out[i] = patientStudy(st, byStudy[st.ID])
	}
	return out, nil
}

// Consent records the patient joining an open study for the categories
// they choose: GENERAL at least, never PRIVATE. Joining a study they
// already joined replaces the categories; joining after withdrawing
// starts a new consent.
func (s *Service) Consent(ctx context.Context, patientID, studyID pulid.ID, categories []category.Category) (*model.PatientStudy, error) {
	v, err := owner(ctx, patientID)
	if err != nil {
		return nil, err
	}
	cats, err := consentCategories(categories)
	if err != nil {
		return nil, err
	}
	var (
		st *ent.ResearchStudy
		c  *ent.ResearchConsent
	)
	// Two first consents at once: the loser finds the winner's row the
	// second time round.
	for range 2 {
		st, c, err = s.consent(ctx, v, patientID, studyID, cats)
		if !ent.IsConstraintError(err) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return patientStudy(st, c), nil
}

// consent writes one consent, in a transaction.
func (s *Service) consent(ctx context.Context, v *access.Viewer, patientID, studyID pulid.ID, cats []string) (st *ent.ResearchStudy, c *ent.ResearchConsent, err error) {
	sys := access.SystemContext(ctx)
	err = store.InTx(sys, s.client, func(tx *ent.Client) error {
		var err error
		st, err = tx.ResearchStudy.Get(sys, studyID)
		if err != nil {
			return err
		}
		if !st.Open {
			return badInput("the study is closed to new consents")
		}
		now := s.now()
		c, err = tx.ResearchConsent.Query().
			Where(researchconsent.PatientID(patientID), researchconsent.StudyID(studyID)).
			Only(sys)
		switch {
		case ent.IsNotFound(err):
			c, err = tx.ResearchConsent.Create().
				SetPatientID(patientID).
				SetStudyID(studyID).
				SetConsentedAt(now).
				SetCategories(cats).
				SetCreatedAt(now).SetUpdatedAt(now).
				Save(sys)
		case err == nil:
			c, err = tx.ResearchConsent.UpdateOne(c).
				SetConsentedAt(now).
				ClearWithdrawnAt().
				SetCategories(cats).
				SetUpdatedAt(now).
				Save(sys)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, v, event{
			action:  actionConsent,
			patient: &patientID,
			reason:  "study " + string(studyID) + "; categories " + strings.Join(cats, ", "),
		})
	})
	return st, c, err
}

// Withdraw records the patient leaving a study: from now on the study's
// cohort and export leave them out. Withdrawing again, or from a study
// never joined, changes nothing (the answer then has no consent).
func (s *Service) Withdraw(ctx context.Context, patientID, studyID pulid.ID) (*model.PatientStudy, error) {
	v, err := owner(ctx, patientID)
	if err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	var (
		st *ent.ResearchStudy
		c  *ent.ResearchConsent
	)
	err = store.InTx(sys, s.client, func(tx *ent.Client) error {
		var err error
		st, err = tx.ResearchStudy.Get(sys, studyID)
		if err != nil {
			return err
		}
		c, err = tx.ResearchConsent.Query().
			Where(researchconsent.PatientID(patientID), researchconsent.StudyID(studyID)).
			Only(sys)
		if ent.IsNotFound(err) {
			c = nil
			return nil
		}
		if err != nil || c.WithdrawnAt != nil {
			return err
		}
		now := s.now()
		c, err = tx.ResearchConsent.UpdateOne(c).SetWithdrawnAt(now).SetUpdatedAt(now).Save(sys)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, v, event{
			action:  actionWithdrawal,
			patient: &patientID,
			reason:  "study " + string(studyID),
		})
	})
	if err != nil {
		return nil, err
	}
	return patientStudy(st, c), nil
}

// consentCategories checks the labels of a consent and returns them once
// each, in the fixed order of category.All.
func consentCategories(in []category.Category) ([]string, error) {
	for _, c := range in {
		if !c.Valid() {
			return nil, badInput("unknown category %q", c)
		}
	}
	if !slices.Contains(in, category.General) {
		return nil, badInput("a consent includes GENERAL")
	}
	var out []string
	for _, c := range category.All {
		if !slices.Contains(in, c) {
			continue
		}
		if c == category.Private {
			return nil, badInput("PRIVATE items are never used for research")
		}
		out = append(out, string(c))
	}
	return out, nil
}

// patientStudy is a study with the patient's consent to it, if any.
func patientStudy(st *ent.ResearchStudy, c *ent.ResearchConsent) *model.PatientStudy {
	ps := &model.PatientStudy{Study: withoutKey(st)}
	if c != nil {
		cats := make([]category.Category, len(c.Categories))
		for i, name := range c.Categories {
			cats[i] = category.Category(name)
		}
		ps.Consent = &model.StudyConsent{ConsentedAt: c.ConsentedAt, WithdrawnAt: c.WithdrawnAt, Categories: cats}
	}
	return ps
}
