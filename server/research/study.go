package research

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/researchconsent"
	"github.com/patientportal/portal/ent/researchstudy"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/store"
)

// Limits of a study's text.
const (
	maxTitle       = 200
	maxDescription = 5_000
	// keySize is the length of a study's pseudonym key, SHA-256's output
	// size: shorter would weaken HMAC-SHA256, longer adds nothing.
	keySize = 32
)

// Studies lists the studies of the organisations the viewer is a
// RESEARCHER at, newest first; nobody else has any.
func (s *Service) Studies(ctx context.Context) ([]*ent.ResearchStudy, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	orgs := v.OrganisationsWithRole(access.RoleResearcher)
	if len(orgs) == 0 {
		return []*ent.ResearchStudy{}, nil
	}
	studies, err := s.client.ResearchStudy.Query().
		Where(researchstudy.OrganisationIDIn(orgs...)).
		Order(ent.Desc(researchstudy.FieldCreatedAt), ent.Desc(researchstudy.FieldID)).
		All(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range studies {
		withoutKey(st)
	}
	return studies, nil
}

// CreateStudy defines a study of a research organisation the viewer is a
// RESEARCHER at, open to consents, with a fresh random pseudonym key.
func (s *Service) CreateStudy(ctx context.Context, in model.CreateResearchStudyInput) (*ent.ResearchStudy, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.HasRole(in.OrganisationID, access.RoleResearcher) {
		return nil, access.ErrDenied
	}
	title := strings.TrimSpace(in.Title)
	if title == "" || utf8.RuneCountInString(title) > maxTitle {
		return nil, badInput("the title must be 1 to %d characters", maxTitle)
	}
	var description *string
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(d) > maxDescription {
			return nil, badInput("the description must be at most %d characters", maxDescription)
		}
		if d != "" {
			description = &d
		}
	}
	sys := access.SystemContext(ctx)
	org, err := s.client.Organisation.Get(sys, in.OrganisationID)
	if err != nil {
		return nil, err
	}
	if org.Kind != organisation.KindRESEARCH {
		return nil, badInput("only a research organisation defines studies")
	}
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("drawing a pseudonym key: %w", err)
	}
	now := s.now()
	var st *ent.ResearchStudy
	err = store.InTx(sys, s.client, func(tx *ent.Client) error {
		var err error
		st, err = tx.ResearchStudy.Create().
			SetOrganisationID(org.ID).
			SetTitle(title).
			SetNillableDescription(description).
			SetPseudonymKey(key).
			SetCreatedAt(now).SetUpdatedAt(now).
			Save(sys)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, v, event{action: actionStudyCreated, organisation: &org.ID, reason: "study " + string(st.ID)})
	})
	if err != nil {
		return nil, err
	}
	return withoutKey(st), nil
}

// researcherStudy reads a study the viewer is a RESEARCHER of; a study of
// another organisation is refused, a missing one is not found.
func (s *Service) researcherStudy(ctx context.Context, id pulid.ID) (*access.Viewer, *ent.ResearchStudy, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.client.ResearchStudy.Get(access.SystemContext(ctx), id)
	if err != nil {
		return nil, nil, err
	}
	if !v.HasRole(st.OrganisationID, access.RoleResearcher) {
		return nil, nil, access.ErrDenied
	}
	return v, st, nil
}

// CloseStudy closes a study to new consents; the consents it has stay, and
// its researchers may still export them. Closing a closed study changes
// nothing.
func (s *Service) CloseStudy(ctx context.Context, id pulid.ID) (*ent.ResearchStudy, error) {
	v, st, err := s.researcherStudy(ctx, id)
	if err != nil {
		return nil, err
	}
	if !st.Open {
		return withoutKey(st), nil
	}
	sys := access.SystemContext(ctx)
	err = store.InTx(sys, s.client, func(tx *ent.Client) error {
		var err error
		st, err = tx.ResearchStudy.UpdateOne(st).SetOpen(false).SetUpdatedAt(s.now()).Save(sys)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, v, event{action: actionStudyClosed, organisation: &st.OrganisationID, reason: "study " + string(st.ID)})
	})
	if err != nil {
		return nil, err
	}
	return withoutKey(st), nil
}

// CohortSize counts, in SQL, the patients who consented to the study and
// have not withdrawn, after disclosure control. Only the study's
// researchers ask; anyone else is refused.
func (s *Service) CohortSize(ctx context.Context, st *ent.ResearchStudy) (*model.Figure, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.HasRole(st.OrganisationID, access.RoleResearcher) {
		return nil, access.ErrDenied
	}
	n, err := s.client.ResearchConsent.Query().
		Where(researchconsent.StudyID(st.ID), researchconsent.WithdrawnAtIsNil()).
		Count(access.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	return disclose(n), nil
}

// ExportURL is where the study's researchers download its export with
// their bearer token; null for anyone else.
func (s *Service) ExportURL(ctx context.Context, st *ent.ResearchStudy) (*string, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.HasRole(st.OrganisationID, access.RoleResearcher) {
		return nil, nil
	}
	u := s.cfg.PublicURL + "/research/studies/" + url.PathEscape(string(st.ID)) + "/export"
	return &u, nil
}
