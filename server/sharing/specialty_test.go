package sharing

import (
	"errors"
	"testing"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/graph/model"
)

func TestRuleSetCategoryFor(t *testing.T) {
	rs := newRuleSet([]*ent.SpecialtyRule{
		{ClinicCode: ptr("GUM"), Category: category.SexualHealth},
		{Specialty: ptr("Psychiatry"), Category: category.MentalHealth},
		{Specialty: ptr("Gynaecology"), Category: category.General},
	})
	for _, tc := range []struct {
		name                  string
		specialty, clinicCode *string
		want                  *category.Category
	}{
		{"a clinic code matches its rule", nil, ptr("GUM"), ptr(category.SexualHealth)},
		{"clinic codes match exactly", nil, ptr("gum"), nil},
		{"a specialty matches its rule", ptr("Psychiatry"), nil, ptr(category.MentalHealth)},
		{"a clinic rule wins over a specialty rule", ptr("Gynaecology"), ptr("GUM"), ptr(category.SexualHealth)},
		{"an unknown clinic falls back to the specialty", ptr("Psychiatry"), ptr("XYZ"), ptr(category.MentalHealth)},
		{"nothing matches nothing", ptr("Cardiology"), ptr("CARD1"), nil},
		{"no specialty and no clinic match nothing", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rs.categoryFor(tc.specialty, tc.clinicCode)
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSpecialtyRuleKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    model.SpecialtyRuleInput
		valid bool
	}{
		{"a clinic code alone", model.SpecialtyRuleInput{ClinicCode: ptr("GUM"), Category: category.SexualHealth}, true},
		{"a specialty alone", model.SpecialtyRuleInput{Specialty: ptr("Gynaecology"), Category: category.General}, true},
		{"both are refused", model.SpecialtyRuleInput{Specialty: ptr("Gynaecology"), ClinicCode: ptr("GUM"), Category: category.General}, false},
		{"neither is refused", model.SpecialtyRuleInput{Category: category.General}, false},
		{"blank counts as missing", model.SpecialtyRuleInput{Specialty: ptr(" "), Category: category.General}, false},
		{"PRIVATE is the patient's own", model.SpecialtyRuleInput{ClinicCode: ptr("GUM"), Category: category.Private}, false},
		{"RESTRICTED may be given", model.SpecialtyRuleInput{ClinicCode: ptr("GUM"), Category: category.Restricted}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := specialtyRuleKey(tc.in)
			if tc.valid && err != nil || !tc.valid && !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestEncounterLabelling(t *testing.T) {
	rs := newRuleSet([]*ent.SpecialtyRule{{ClinicCode: ptr("GUM"), Category: category.SexualHealth}})
	for _, tc := range []struct {
		name string
		enc  ent.Encounter
		want category.Category
	}{
		{"an ED attendance not yet seen stays GENERAL", ent.Encounter{Kind: encounter.KindEMERGENCY, Status: encounter.StatusARRIVED, ClinicCode: ptr("GUM")}, category.General},
		{"an ED attendance once seen follows the rule", ent.Encounter{Kind: encounter.KindEMERGENCY, Status: encounter.StatusSEEN, ClinicCode: ptr("GUM")}, category.SexualHealth},
		{"an admission follows the rule", ent.Encounter{Kind: encounter.KindINPATIENT, Status: encounter.StatusADMITTED, ClinicCode: ptr("GUM")}, category.SexualHealth},
		{"an assigned category wins over the rule", ent.Encounter{Kind: encounter.KindINPATIENT, Status: encounter.StatusADMITTED, ClinicCode: ptr("GUM"), AssignedCategory: ptr(category.MentalHealth)}, category.MentalHealth},
		{"an admission without a rule is GENERAL", ent.Encounter{Kind: encounter.KindINPATIENT, Status: encounter.StatusDISCHARGED}, category.General},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := accessEffective(&tc.enc, rs); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func accessEffective(e *ent.Encounter, rs ruleSet) category.Category {
	return access.EffectiveCategory(encounterLabelling(e, rs))
}
