package tracking

import (
	"context"
	"fmt"
	"net/url"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/careresource"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/notify"
)

// Limits of a care resource's tags.
const (
	careMaxTags   = 20
	careTagLength = 50
)

// AssignCareResource assigns material to a patient for the clinician's
// organisation (input.organisationId), which becomes linked to the record.
// The patient must be one the clinician may see; the patient is told.
func (s *Service) AssignCareResource(ctx context.Context, in model.AssignCareResourceInput) (*ent.CareResource, error) {
	v, err := diaryViewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.HasRole(in.OrganisationID, access.RoleClinician) {
		return nil, access.ErrDenied
	}
	var check diaryCheck
	title := check.text("input.title", &in.Title, true, diaryLineText)
	description := check.text("input.description", in.Description, false, diaryFreeText)
	body := check.text("input.body", in.Body, false, diaryFreeText)
	link := check.text("input.link", in.Link, false, diaryLineText)
	check.check(link == nil || careWebLink(*link), "input.link", "must be an http or https URL")
	tags := careTags(&check, in.Tags)
	check.check(in.Category == nil || *in.Category != category.Private, "input.category", "PRIVATE is the patient's own label")
	if err := check.err(); err != nil {
		return nil, err
	}
	p, err := s.client.Patient.Get(ctx, in.PatientID)
	if err != nil {
		return nil, diaryNotFound(err)
	}
	assigned, effective := diaryLabel(in.Category)
	var id pulid.ID
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		c := tx.CareResource.Create().
			SetPatientID(p.ID).
			SetSourceOrganisationID(in.OrganisationID).
			SetTitle(*title).
			SetNillableDescription(description).
			SetNillableLink(link).
			SetNillableBody(body).
			SetAssignedAt(s.now()).
			SetAssignedCategory(assigned).
			SetCategory(effective)
		if len(tags) > 0 {
			c.SetTags(tags)
		}
		r, err := c.Save(ctx)
		if err != nil {
			return err
		}
		id = r.ID
		if err := notify.LinkOrganisation(ctx, tx, p.ID, in.OrganisationID, s.now()); err != nil {
			return err
		}
		if err := diaryAudit(ctx, tx, v, p.ID, &in.OrganisationID, "CARE_RESOURCE_ASSIGNED", "CareResource"); err != nil {
			return err
		}
		if p.AccountID == nil {
			return nil
		}
		return notify.Record(ctx, tx, notify.Note{Kind: notification.KindCARE_RESOURCE_ASSIGNED, Patient: p.ID, Category: r.Category, Subject: &r.ID}, s.now())
	})
	if err != nil {
		return nil, err
	}
	return s.readCareResource(ctx, id)
}

// CompleteCareResource marks a resource done. Only the patient does, and
// completing it again changes nothing.
func (s *Service) CompleteCareResource(ctx context.Context, id pulid.ID) (*ent.CareResource, error) {
	r, err := s.readCareResource(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := diaryOwnItem(ctx, r.PatientID)
	if err != nil {
		return nil, err
	}
	if r.CompletedAt != nil {
		return r, nil
	}
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		// Only the first of racing completions writes and is audited.
		n, err := tx.CareResource.Update().
			Where(careresource.ID(id), careresource.CompletedAtIsNil()).
			SetCompletedAt(s.now()).
			Save(ctx)
		if err != nil || n == 0 {
			return err
		}
		return diaryAudit(ctx, tx, v, r.PatientID, nil, "CARE_RESOURCE_COMPLETED", "CareResource")
	})
	if err != nil {
		return nil, err
	}
	return s.readCareResource(ctx, id)
}

// careWebLink reports whether link is an absolute http or https URL with a
// host and no credentials: nothing a browser would run or that could
// phish with a user name.
func careWebLink(link string) bool {
	u, err := url.Parse(link)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// careTags checks the tags and returns them trimmed, without repeats.
func careTags(check *diaryCheck, tags []string) []string {
	check.check(len(tags) <= careMaxTags, "input.tags", fmt.Sprintf("at most %d tags", careMaxTags))
	var out []string
	seen := map[string]bool{}
	for i, tag := range tags {
		t := check.text(fmt.Sprintf("input.tags[%d]", i), &tag, true, careTagLength)
		if t != nil && !seen[*t] {
			seen[*t] = true
			out = append(out, *t)
		}
	}
	return out
}

// careLink makes sure the organisation that assigns a resource is linked
// to the record.
// readCareResource reads a care resource as the viewer.
func (s *Service) readCareResource(ctx context.Context, id pulid.ID) (*ent.CareResource, error) {
	r, err := s.client.CareResource.Get(ctx, id)
	return r, diaryNotFound(err)
}
