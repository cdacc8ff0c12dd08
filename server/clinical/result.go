package clinical

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/notify"
)

// ucumUnits are the UCUM units a result component may carry. A short,
// known list keeps a series comparable across results: "g/l" or "G/L"
// from a typing clinician would silently split a chart.
var ucumUnits = map[string]bool{
	"g/L": true, "g/dL": true, "mmol/L": true, "mol/mol": true,
	"10*9/L": true, "10*12/L": true, "fL": true, "pg": true, "%": true,
	"U/L": true, "umol/L": true, "mg/L": true, "mL/min/{1.73_m2}": true,
	"/min": true, "mm[Hg]": true, "kg": true, "cm": true, "Cel": true, "1": true,
}

// maxComponents bounds one result, and so one bulk insert.
const maxComponents = 100

// AddResult records a result for the requesting organisation, whose
// clinicians alone see it until it is released: now (releaseNow), at
// releaseAt, when one of them releases it, or never (neverRelease).
func (s *Service) AddResult(ctx context.Context, in model.AddResultInput) (*ent.Result, error) {
	v, err := requireClinician(ctx, in.OrganisationID)
	if err != nil {
		return nil, err
	}
	releaseNow := in.ReleaseNow != nil && *in.ReleaseNow
	never := in.NeverRelease != nil && *in.NeverRelease
	var check validation
	checkRequired(&check, "input.name", &in.Name, maxLineText)
	checkLength(&check, "input.code", trimSpace(in.Code), maxLineText)
	check.check(!in.TakenAt.After(in.ReportedAt), "input.reportedAt", "must not be before takenAt")
	check.check(!releaseNow || in.ReleaseAt == nil, "input.releaseAt", "leave out when releasing now")
	check.check(!never || (!releaseNow && in.ReleaseAt == nil), "input.neverRelease",
		"a result never released has no release time")
	checkLength(&check, "input.conclusion", trimSpace(in.Conclusion), maxFreeText)
	checkLength(&check, "input.performingLaboratory", trimSpace(in.PerformingLaboratory), maxLineText)
	checkLabel(&check, in.Category)
	validateComponents(&check, in.Components)
	if err := check.err(); err != nil {
		return nil, err
	}
	if _, err := s.recordPatient(ctx, in.PatientID); err != nil {
		return nil, err
	}
	now := s.now()
	var releasedAt *time.Time
	if releaseNow {
		releasedAt = &now
	}
	var id pulid.ID
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		r, err := tx.Result.Create().
			SetPatientID(in.PatientID).
			SetSourceOrganisationID(in.OrganisationID).
			SetNillableAssignedCategory(in.Category).
			SetCategory(access.EffectiveCategory(access.Labelling{Kind: access.KindOther, Assigned: in.Category})).
			SetName(strings.TrimSpace(in.Name)).
			SetNillableCode(nonBlank(in.Code)).
			SetNillableStatus(in.Status).
			SetTakenAt(in.TakenAt.UTC()).
			SetReportedAt(in.ReportedAt.UTC()).
			SetNillableReleaseAt(utcTime(in.ReleaseAt)).
			SetNillableReleasedAt(releasedAt).
			SetNeverRelease(never).
			SetNillableConclusion(nonBlank(in.Conclusion)).
			SetNillablePerformingLaboratory(nonBlank(in.PerformingLaboratory)).
			Save(ctx)
		if err != nil {
			return err
		}
		id = r.ID
		// r is what was written after the hooks ran: its components take
		// its effective category from it.
		if err := createComponents(ctx, tx, r, in.Components); err != nil {
			return err
		}
		if err := link(ctx, tx, in.PatientID, in.OrganisationID); err != nil {
			return err
		}
		if err := audit(ctx, tx, v, in.PatientID, "RESULT_ADDED", "Result"); err != nil {
			return err
		}
		// The hooks decided when its content becomes visible: now, later
		// (announced then by the notification mailer), or once released.
		switch {
		case r.VisibleFrom == nil:
			return nil
		case r.VisibleFrom.After(now):
			return tx.Result.UpdateOneID(r.ID).SetNotifyAt(*r.VisibleFrom).Exec(ctx)
		}
		return notify.Record(ctx, tx, notify.Note{Kind: notification.KindRESULT_RELEASED, Patient: r.PatientID, Category: r.Category, Subject: &r.ID}, now)
	})
	if err != nil {
		return nil, err
	}
	return s.readResult(ctx, id)
}

// AmendResult amends a result of the clinician's organisation: its status
// (AMENDED unless given), conclusion and, if given, every component.
func (s *Service) AmendResult(ctx context.Context, id pulid.ID, in model.AmendResultInput) (*ent.Result, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.client.Result.Get(ctx, id)
	if err != nil {
		return nil, notFound(err)
	}
	if !v.Produced(r.SourceOrganisationID) {
		return nil, access.ErrDenied
	}
	var check validation
	checkLength(&check, "input.conclusion", trimSpace(in.Conclusion), maxFreeText)
	if in.Components != nil {
		validateComponents(&check, in.Components)
	}
	if err := check.err(); err != nil {
		return nil, err
	}
	status := result.StatusAMENDED
	if in.Status != nil {
		status = *in.Status
	}
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		current, err := tx.Result.Get(ctx, id)
		if err != nil {
			return notFound(err)
		}
		if err := fresh(in.ExpectedUpdatedAt, current.UpdatedAt); err != nil {
			return err
		}
		// Claim the version read: a racing change waits on the row lock and
		// then misses (see claimed).
		if err := claimed(tx.Result.Update().
			Where(result.ID(id), result.UpdatedAt(current.UpdatedAt)).
			Save(ctx)); err != nil {
			return err
		}
		u := tx.Result.UpdateOneID(id).SetStatus(status)
		if in.Conclusion != nil {
			// A blank conclusion clears it.
			if c := nonBlank(in.Conclusion); c != nil {
				u.SetConclusion(*c)
			} else {
				u.ClearConclusion()
			}
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		if in.Components != nil {
			if _, err := tx.ResultComponent.Delete().Where(resultcomponent.ResultID(id)).Exec(ctx); err != nil {
				return err
			}
			if err := createComponents(ctx, tx, current, in.Components); err != nil {
				return err
			}
		}
		return audit(ctx, tx, v, current.PatientID, "RESULT_AMENDED", "Result")
	})
	if err != nil {
		return nil, err
	}
	return s.readResult(ctx, id)
}

// ComponentSeries returns one component's history for a chart, oldest
// first, across the results the viewer may see: the components are read
// as the viewer, so the policies hide those of held and hidden results.
// Two queries, however many points.
func (s *Service) ComponentSeries(ctx context.Context, p *ent.Patient, code string, from, to *time.Time) ([]*model.ComponentPoint, error) {
	if from != nil && to != nil && from.After(*to) {
		return nil, &ValidationError{Fields: []FieldError{{Path: "to", Message: "must not be before from"}}}
	}
	q := s.client.ResultComponent.Query().
		Where(resultcomponent.PatientID(p.ID), resultcomponent.CodeEQ(code))
	var taken []predicate.Result
	if from != nil {
		taken = append(taken, result.TakenAtGTE(from.UTC()))
	}
	if to != nil {
		taken = append(taken, result.TakenAtLTE(to.UTC()))
	}
	if len(taken) > 0 {
		q.Where(resultcomponent.HasResultWith(taken...))
	}
	cs, err := q.
		WithResult(func(rq *ent.ResultQuery) { rq.Select(result.FieldTakenAt) }).
		Order(resultcomponent.ByResultField(result.FieldTakenAt), resultcomponent.ByID()).
		All(ctx)
	if err != nil {
		return nil, err
	}
	points := make([]*model.ComponentPoint, 0, len(cs))
	for _, c := range cs {
		r := c.Edges.Result
		if r == nil {
			continue
		}
		points = append(points, &model.ComponentPoint{
			ResultID:      r.ID,
			TakenAt:       r.TakenAt,
			ValueNumeric:  c.ValueNumeric,
			ValueText:     c.ValueText,
			Unit:          c.Unit,
			ReferenceLow:  c.ReferenceLow,
			ReferenceHigh: c.ReferenceHigh,
			Flag:          c.Flag,
		})
	}
	return points, nil
}

// readResult reads a result back as the viewer.
func (s *Service) readResult(ctx context.Context, id pulid.ID) (*ent.Result, error) {
	r, err := s.client.Result.Get(ctx, id)
	return r, notFound(err)
}

// validateComponents checks a result's components: at least one, each
// with a name and one value, a known unit and an ordered reference range.
func validateComponents(check *validation, cs []*model.ResultComponentInput) {
	check.check(len(cs) > 0, "input.components", "at least one component")
	check.check(len(cs) <= maxComponents, "input.components", fmt.Sprintf("at most %d components", maxComponents))
	for i, c := range cs {
		at := fmt.Sprintf("input.components[%d].", i)
		checkRequired(check, at+"name", &c.Name, maxLineText)
		checkLength(check, at+"code", trimSpace(c.Code), maxLineText)
		text := nonBlank(c.ValueText) != nil
		check.check(c.ValueNumeric != nil || text, at+"valueNumeric", "give valueNumeric or valueText")
		check.check(c.ValueNumeric == nil || !text, at+"valueText", "give valueNumeric or valueText, not both")
		checkLength(check, at+"valueText", trimSpace(c.ValueText), maxLineText)
		check.check(c.Comparator == nil || c.ValueNumeric != nil, at+"comparator", "a comparator qualifies valueNumeric")
		check.check(c.Unit == nil || ucumUnits[*c.Unit], at+"unit", "not a known UCUM unit")
		check.check(c.ReferenceLow == nil || c.ReferenceHigh == nil || *c.ReferenceLow <= *c.ReferenceHigh,
			at+"referenceHigh", "must not be below referenceLow")
		checkLength(check, at+"referenceText", trimSpace(c.ReferenceText), maxLineText)
	}
}

// createComponents writes a result's components. Each carries its
// result's patient, labels and source, so that the same row filter
// applies to it as to the result.
func createComponents(ctx context.Context, tx *ent.Client, r *ent.Result, cs []*model.ResultComponentInput) error {
	return tx.ResultComponent.MapCreateBulk(cs, func(c *ent.ResultComponentCreate, i int) {
		in := cs[i]
		c.SetResultID(r.ID).
			SetPatientID(r.PatientID).
			SetCategory(r.Category).
			SetNillableAssignedCategory(r.AssignedCategory).
			SetNillableSourceOrganisationID(r.SourceOrganisationID).
			SetName(strings.TrimSpace(in.Name)).
			SetNillableCode(nonBlank(in.Code)).
			SetNillableValueNumeric(in.ValueNumeric).
			SetNillableValueText(nonBlank(in.ValueText)).
			SetNillableComparator(in.Comparator).
			SetNillableUnit(in.Unit).
			SetNillableReferenceLow(in.ReferenceLow).
			SetNillableReferenceHigh(in.ReferenceHigh).
			SetNillableReferenceText(nonBlank(in.ReferenceText)).
			SetNillableFlag(componentFlag(in))
	}).Exec(ctx)
}

// componentFlag is the flag given, else the one a numeric value's
// reference range gives it. A value with a comparator ("<5") is not
// compared: it is not a point.
func componentFlag(c *model.ResultComponentInput) *resultcomponent.Flag {
	if c.Flag != nil || c.ValueNumeric == nil || c.Comparator != nil ||
		(c.ReferenceLow == nil && c.ReferenceHigh == nil) {
		return c.Flag
	}
	f := resultcomponent.FlagNORMAL
	switch v := *c.ValueNumeric; {
	case c.ReferenceLow != nil && v < *c.ReferenceLow:
		f = resultcomponent.FlagLOW
	case c.ReferenceHigh != nil && v > *c.ReferenceHigh:
		f = resultcomponent.FlagHIGH
	}
	return &f
}
