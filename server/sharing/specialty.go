package sharing

import (
	"context"
	"log/slog"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/appointmentchangerequest"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/specialtyrule"
	"github.com/patientportal/portal/graph/model"
)

// updateChunk bounds the IDs bound in one UPDATE ... WHERE id IN (...).
const updateChunk = 500

// ruleSet is an organisation's specialty rules. Values match exactly, as
// the write hooks in ent/schema match them when a record is
// stored, so that a record gets the same label either way.
type ruleSet struct {
	byClinic    map[string]category.Category
	bySpecialty map[string]category.Category
}

func newRuleSet(rules []*ent.SpecialtyRule) ruleSet {
	rs := ruleSet{byClinic: map[string]category.Category{}, bySpecialty: map[string]category.Category{}}
	for _, r := range rules {
		switch {
		case r.ClinicCode != nil:
			rs.byClinic[*r.ClinicCode] = r.Category
		case r.Specialty != nil:
			rs.bySpecialty[*r.Specialty] = r.Category
		}
	}
	return rs
}

// categoryFor is the rule category of a record with this specialty and
// clinic code, if a rule matches. A clinic is narrower than a specialty, so
// a clinic rule wins: a sexual health clinic inside gynaecology is
// SEXUAL_HEALTH.
func (rs ruleSet) categoryFor(specialty, clinicCode *string) *category.Category {
	if clinicCode != nil {
		if c, ok := rs.byClinic[*clinicCode]; ok {
			return &c
		}
	}
	if specialty != nil {
		if c, ok := rs.bySpecialty[*specialty]; ok {
			return &c
		}
	}
	return nil
}

// ruleKey is the validated specialty or clinic code of a rule input.
type ruleKey struct {
	specialty, clinicCode *string
}

// specialtyRuleKey checks that exactly one of specialty and clinic code is
// given, and that the category is one a service can give.
func specialtyRuleKey(in model.SpecialtyRuleInput) (ruleKey, error) {
	var k ruleKey
	if in.Specialty != nil && strings.TrimSpace(*in.Specialty) != "" {
		k.specialty = ptr(strings.TrimSpace(*in.Specialty))
	}
	if in.ClinicCode != nil && strings.TrimSpace(*in.ClinicCode) != "" {
		k.clinicCode = ptr(strings.TrimSpace(*in.ClinicCode))
	}
	if (k.specialty == nil) == (k.clinicCode == nil) {
		return ruleKey{}, invalid("give exactly one of specialty and clinicCode")
	}
	if !in.Category.Valid() || in.Category == category.Private {
		return ruleKey{}, invalid("a rule cannot make records PRIVATE: that label is the patient's own")
	}
	return k, nil
}

// SetSpecialtyRule sets an organisation's rule for a specialty or clinic
// and recomputes the effective category of every appointment and encounter
// of that organisation it covers, in one transaction. It returns how many
// records changed category.
func (s *Service) SetSpecialtyRule(ctx context.Context, in model.SpecialtyRuleInput) (int, error) {
	v, err := viewer(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := pulid.TableOf(in.OrganisationID); err != nil {
		return 0, invalid("organisationId is not a valid ID")
	}
	key, err := specialtyRuleKey(in)
	if err != nil {
		return 0, err
	}
	if !v.HasRole(in.OrganisationID, access.RoleAdmin) && !v.HasRole(in.OrganisationID, access.RolePrivacyOfficer) {
		return 0, access.ErrDenied
	}
	sys := access.SystemContext(ctx)
	org := in.OrganisationID
	changed := 0
	err = s.withTx(sys, func(tx *ent.Client) error {
		rules, err := s.upsertRule(sys, tx, org, key, in.Category)
		if err != nil {
			return err
		}
		rs := newRuleSet(rules)
		na, err := recomputeAppointments(sys, tx, org, key, rs)
		if err != nil {
			return err
		}
		ne, err := recomputeEncounters(sys, tx, org, key, rs)
		if err != nil {
			return err
		}
		changed = na + ne
		return s.audit(sys, tx, v, event{action: "SPECIALTY_RULE_SET", organisation: &org})
	})
	if err != nil {
		return 0, err
	}
	slog.InfoContext(ctx, "specialty rule set", "organisation", org, "recomputed", changed)
	return changed, nil
}

// upsertRule creates or changes the rule for key and returns all the
// organisation's rules. The unique index cannot catch a duplicate (its
// other column is NULL), so the rule is looked up inside the transaction.
func (s *Service) upsertRule(ctx context.Context, tx *ent.Client, org pulid.ID, key ruleKey, c category.Category) ([]*ent.SpecialtyRule, error) {
	rules, err := tx.SpecialtyRule.Query().Where(specialtyrule.OrganisationID(org)).All(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, r := range rules {
		same := key.clinicCode != nil && r.ClinicCode != nil && *r.ClinicCode == *key.clinicCode ||
			key.specialty != nil && r.ClinicCode == nil && r.Specialty != nil && *r.Specialty == *key.specialty
		if !same {
			continue
		}
		if r.Category != c {
			if err := tx.SpecialtyRule.UpdateOne(r).SetCategory(c).SetUpdatedAt(now).Exec(ctx); err != nil {
				return nil, err
			}
			r.Category = c
		}
		return rules, nil
	}
	r, err := tx.SpecialtyRule.Create().
		SetOrganisationID(org).
		SetNillableSpecialty(key.specialty).
		SetNillableClinicCode(key.clinicCode).
		SetCategory(c).
		SetCreatedAt(now).
		SetUpdatedAt(now).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	return append(rules, r), nil
}

// relabel collects the records whose effective category changes, by the
// category they change to.
type relabel map[category.Category][]pulid.ID

func (r relabel) add(id pulid.ID, from, to category.Category) {
	if from != to {
		r[to] = append(r[to], id)
	}
}

func (r relabel) count() int {
	n := 0
	for _, ids := range r {
		n += len(ids)
	}
	return n
}

// apply writes each new category in chunks with update, and moves the
// notifications and change requests about those records along, so that a
// record hidden by its new label leaves no trace for a grantee.
func (r relabel) apply(ctx context.Context, tx *ent.Client, update func(ids []pulid.ID, c category.Category) error) error {
	for c, ids := range r {
		for start := 0; start < len(ids); start += updateChunk {
			chunk := ids[start:min(start+updateChunk, len(ids))]
			if err := update(chunk, c); err != nil {
				return err
			}
			if err := tx.Notification.Update().
				Where(notification.SubjectIDIn(chunk...)).
				SetCategory(c).
				Exec(ctx); err != nil {
				return err
			}
			// A change request carries its appointment's label.
			if err := tx.AppointmentChangeRequest.Update().
				Where(appointmentchangerequest.AppointmentIDIn(chunk...)).
				SetCategory(c).
				Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// recomputeAppointments relabels the organisation's appointments that the
// rule's key matches.
func recomputeAppointments(ctx context.Context, tx *ent.Client, org pulid.ID, key ruleKey, rs ruleSet) (int, error) {
	var match predicate.Appointment
	if key.clinicCode != nil {
		match = appointment.ClinicCode(*key.clinicCode)
	} else {
		match = appointment.Specialty(*key.specialty)
	}
	aps, err := tx.Appointment.Query().
		Where(appointment.SourceOrganisationID(org), match).
		Select(appointment.FieldSpecialty, appointment.FieldClinicCode, appointment.FieldAssignedCategory, appointment.FieldCategory).
		All(ctx)
	if err != nil {
		return 0, err
	}
	changes := relabel{}
	for _, a := range aps {
		want := access.EffectiveCategory(access.Labelling{
			Kind:     access.KindAppointment,
			Assigned: a.AssignedCategory,
			Rule:     rs.categoryFor(a.Specialty, a.ClinicCode),
		})
		changes.add(a.ID, a.Category, want)
	}
	err = changes.apply(ctx, tx, func(ids []pulid.ID, c category.Category) error {
		return tx.Appointment.Update().Where(appointment.IDIn(ids...)).SetCategory(c).Exec(ctx)
	})
	return changes.count(), err
}

// recomputeEncounters relabels the organisation's encounters that the
// rule's key matches; an ED attendance stays GENERAL until seen.
func recomputeEncounters(ctx context.Context, tx *ent.Client, org pulid.ID, key ruleKey, rs ruleSet) (int, error) {
	var match predicate.Encounter
	if key.clinicCode != nil {
		match = encounter.ClinicCode(*key.clinicCode)
	} else {
		match = encounter.Specialty(*key.specialty)
	}
	ens, err := tx.Encounter.Query().
		Where(encounter.SourceOrganisationID(org), match).
		Select(encounter.FieldKind, encounter.FieldStatus, encounter.FieldSpecialty, encounter.FieldClinicCode,
			encounter.FieldAssignedCategory, encounter.FieldCategory).
		All(ctx)
	if err != nil {
		return 0, err
	}
	changes := relabel{}
	for _, e := range ens {
		want := access.EffectiveCategory(encounterLabelling(e, rs))
		changes.add(e.ID, e.Category, want)
	}
	err = changes.apply(ctx, tx, func(ids []pulid.ID, c category.Category) error {
		return tx.Encounter.Update().Where(encounter.IDIn(ids...)).SetCategory(c).Exec(ctx)
	})
	return changes.count(), err
}

// encounterLabelling is what an encounter's effective category depends on.
func encounterLabelling(e *ent.Encounter, rs ruleSet) access.Labelling {
	l := access.Labelling{
		Kind:     access.KindInpatient,
		Assigned: e.AssignedCategory,
		Rule:     rs.categoryFor(e.Specialty, e.ClinicCode),
	}
	if e.Kind == encounter.KindEMERGENCY {
		l.Kind = access.KindEmergency
		l.Seen = e.Status != encounter.StatusARRIVED
	}
	return l
}
