package access

import (
	"slices"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// grantable are the labels a share may grant besides GENERAL.
var grantable = []category.Category{category.MentalHealth, category.SexualHealth, category.SocialCare}

// Covers returns the categories a grant opens. The owner sees everything;
// a share sees GENERAL, what it was granted, RESTRICTED only when granted
// all three labels, and PRIVATE never.
func (g Grant) Covers() []category.Category {
	if g.Owner {
		return category.All
	}
	covered := []category.Category{category.General}
	all := true
	for _, c := range grantable {
		if slices.Contains(g.Categories, c) {
			covered = append(covered, c)
		} else {
			all = false
		}
	}
	if all {
		covered = append(covered, category.Restricted)
	}
	return covered
}

// CanSee reports whether v may see an item of patient with the effective
// category c.
func (v *Viewer) CanSee(patient pulid.ID, c category.Category) bool {
	if v == nil {
		return false
	}
	for _, g := range v.Grants {
		if g.PatientID == patient && slices.Contains(g.Covers(), c) {
			return true
		}
	}
	return false
}

// ShareGrant returns the grant a share gives, from the labels it was granted.
func ShareGrant(patient, share pulid.ID, mentalHealth, sexualHealth, socialCare bool) Grant {
	g := Grant{PatientID: patient, ShareID: share}
	for c, granted := range map[category.Category]bool{
		category.MentalHealth: mentalHealth,
		category.SexualHealth: sexualHealth,
		category.SocialCare:   socialCare,
	} {
		if granted {
			g.Categories = append(g.Categories, c)
		}
	}
	return g
}
