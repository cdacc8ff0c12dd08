//go:build !entbootstrap

// Hooks keep derived columns right on every write: a record's effective
// category (decided by package access) and when a result's content becomes
// visible. Like the policies they import generated packages, so they sit
// behind the same build tag (see ent/entc.go).

package schema

import (
	"context"
	"time"

	"entgo.io/ent"

	gen "github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/hook"
	"github.com/patientportal/portal/ent/schema/calendar"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/specialtyrule"
)

// Hooks of the Result.
func (Result) Hooks() []ent.Hook {
	return []ent.Hook{hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.ResultFunc(func(ctx context.Context, m *gen.ResultMutation) (gen.Value, error) {
			if err := resultVisibility(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdateOne)}
}

// resultVisibility sets visible_from: when patients and shares may see the
// content. Released results from their release; held ones from their
// release time, if any; never-released ones never. It also sets the
// release delay, the seconds from report to visible_from, and the UK
// month, quarter and year of visible_from, that reporting takes
// percentiles by.
func resultVisibility(ctx context.Context, m *gen.ResultMutation) error {
	visible, err := resultVisibleFrom(ctx, m)
	if err != nil {
		return err
	}
	if visible == nil {
		m.ClearVisibleFrom()
		m.ClearReleaseDelay()
		m.ClearReleaseMonth()
		m.ClearReleaseQuarter()
		m.ClearReleaseYear()
		return nil
	}
	m.SetVisibleFrom(visible.UTC())
	month, quarter, year := calendar.Starts(*visible)
	m.SetReleaseMonth(month)
	m.SetReleaseQuarter(quarter)
	m.SetReleaseYear(year)
	reported, ok := m.ReportedAt()
	if !ok && m.Op().Is(ent.OpUpdateOne) {
		if reported, err = m.OldReportedAt(ctx); err != nil {
			return err
		}
	}
	m.SetReleaseDelay(int(visible.Sub(reported) / time.Second))
	return nil
}

// resultVisibleFrom is visible_from after the mutation.
func resultVisibleFrom(ctx context.Context, m *gen.ResultMutation) (*time.Time, error) {
	never, ok := m.NeverRelease()
	if !ok && m.Op().Is(ent.OpUpdateOne) {
		never, _ = m.OldNeverRelease(ctx)
	}
	released := optionalTime(ctx, m.ReleasedAt, m.ReleasedAtCleared, m.OldReleasedAt, m.Op())
	releaseAt := optionalTime(ctx, m.ReleaseAt, m.ReleaseAtCleared, m.OldReleaseAt, m.Op())
	switch {
	case never:
		return nil, nil
	case released != nil:
		return released, nil
	case releaseAt != nil:
		return releaseAt, nil
	}
	return nil, nil
}

// optionalTime is a nillable time field's value after the mutation.
func optionalTime(ctx context.Context, get func() (time.Time, bool), cleared func() bool,
	old func(context.Context) (*time.Time, error), op ent.Op) *time.Time {
	if t, ok := get(); ok {
		return &t
	}
	if cleared() || !op.Is(ent.OpUpdateOne) {
		return nil
	}
	t, err := old(ctx)
	if err != nil {
		return nil
	}
	return t
}

// Hooks of the Appointment.
func (Appointment) Hooks() []ent.Hook {
	return []ent.Hook{hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.AppointmentFunc(func(ctx context.Context, m *gen.AppointmentMutation) (gen.Value, error) {
			if err := relabel(ctx, m, access.Labelling{Kind: access.KindAppointment}); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdateOne)}
}

// Hooks of the Encounter.
func (Encounter) Hooks() []ent.Hook {
	return []ent.Hook{hook.On(func(next ent.Mutator) ent.Mutator {
		return hook.EncounterFunc(func(ctx context.Context, m *gen.EncounterMutation) (gen.Value, error) {
			if err := encounterCategory(ctx, m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdateOne)}
}

// labelled is the part of an appointment or encounter mutation the category
// depends on.
type labelled interface {
	Op() ent.Op
	Category() (category.Category, bool)
	AssignedCategory() (category.Category, bool)
	AssignedCategoryCleared() bool
	OldAssignedCategory(context.Context) (*category.Category, error)
	SetAssignedCategory(category.Category)
	SetCategory(category.Category)
	SourceOrganisationID() (pulid.ID, bool)
	OldSourceOrganisationID(context.Context) (*pulid.ID, error)
	Specialty() (string, bool)
	OldSpecialty(context.Context) (*string, error)
	ClinicCode() (string, bool)
	OldClinicCode(context.Context) (*string, error)
	Client() *gen.Client
}

// encounterCategory relabels an encounter: an ED attendance is GENERAL
// until the patient is seen.
func encounterCategory(ctx context.Context, m *gen.EncounterMutation) error {
	kind, ok := m.Kind()
	if !ok {
		k, err := m.OldKind(ctx)
		if err != nil {
			return err
		}
		kind = k
	}
	status, ok := m.Status()
	if !ok {
		s, err := m.OldStatus(ctx)
		if err != nil {
			return err
		}
		status = s
	}
	l := access.Labelling{Kind: access.KindInpatient, Seen: status != encounter.StatusARRIVED}
	if kind == encounter.KindEMERGENCY {
		l.Kind = access.KindEmergency
	}
	return relabel(ctx, m, l)
}

// relabel recomputes the effective category. A create that sets only the
// category takes it as the assigned one, so direct writes keep their label.
func relabel(ctx context.Context, m labelled, l access.Labelling) error {
	update := m.Op().Is(ent.OpUpdateOne)
	if a, ok := m.AssignedCategory(); ok {
		l.Assigned = &a
	} else if c, ok := m.Category(); ok && !update {
		m.SetAssignedCategory(c)
		l.Assigned = &c
	} else if update && !m.AssignedCategoryCleared() {
		old, err := m.OldAssignedCategory(ctx)
		if err != nil {
			return err
		}
		l.Assigned = old
	}
	rule, err := matchingRule(ctx, m, update)
	if err != nil {
		return err
	}
	l.Rule = rule
	m.SetCategory(access.EffectiveCategory(l))
	return nil
}

// matchingRule finds the organisation's rule for the record's clinic code,
// else for its specialty.
func matchingRule(ctx context.Context, m labelled, update bool) (*category.Category, error) {
	value := func(get func() (string, bool), old func(context.Context) (*string, error)) (string, error) {
		if v, ok := get(); ok || !update {
			return v, nil
		}
		v, err := old(ctx)
		if err != nil || v == nil {
			return "", err
		}
		return *v, nil
	}
	org, ok := m.SourceOrganisationID()
	if !ok && update {
		old, err := m.OldSourceOrganisationID(ctx)
		if err != nil {
			return nil, err
		}
		if old != nil {
			org, ok = *old, true
		}
	}
	if !ok {
		return nil, nil
	}
	clinic, err := value(m.ClinicCode, m.OldClinicCode)
	if err != nil {
		return nil, err
	}
	specialty, err := value(m.Specialty, m.OldSpecialty)
	if err != nil {
		return nil, err
	}
	sys := access.SystemContext(ctx)
	rules := m.Client().SpecialtyRule.Query().Where(specialtyrule.OrganisationID(org))
	for _, match := range []struct {
		value string
		where func(string) *gen.SpecialtyRuleQuery
	}{
		{clinic, func(v string) *gen.SpecialtyRuleQuery { return rules.Clone().Where(specialtyrule.ClinicCode(v)) }},
		{specialty, func(v string) *gen.SpecialtyRuleQuery { return rules.Clone().Where(specialtyrule.Specialty(v)) }},
	} {
		if match.value == "" {
			continue
		}
		r, err := match.where(match.value).First(sys)
		if gen.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &r.Category, nil
	}
	return nil, nil
}
