package fhir

import (
	"strings"
	"time"

	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/fhir/label"
	"github.com/patientportal/portal/server/notify"
)

// What every mapping of a patient record shares: where it came from, when,
// under which label, and whether the organisation keeps it out.

// source is what identifies an item at its source, so that sending it
// again updates it: its first business identifier, else its id, else the
// entry's fullUrl.
func source(it *item) (system, value string, err error) {
	for _, id := range it.head.Identifier {
		if id.System != "" && id.Value != "" {
			return id.System, id.Value, nil
		}
	}
	if it.head.ID != "" {
		return "fhir:" + it.head.ResourceType, it.head.ID, nil
	}
	if it.fullURL != "" {
		return "fhir:fullUrl", it.fullURL, nil
	}
	return "", "", refuse("the resource has no identifier, id or fullUrl, so a later update could not find it")
}

// dateLayouts are FHIR's date, dateTime and instant forms, longest first.
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"}

// parseTime reads a FHIR date or dateTime; a date without a zone is taken
// as UK time, where the trusts are.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, london); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// needTime reads a required time, refusing the entry without one.
func needTime(s, what string) (time.Time, error) {
	t, ok := parseTime(s)
	if !ok {
		return time.Time{}, refuse("%s is missing or not a FHIR dateTime", what)
	}
	return t, nil
}

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// assigned is the label the item itself carries, first match winning:
// its meta.security codes, then its clinical codes against the value
// sets. Nil leaves the label to the organisation's rules and defaults.
func assigned(it *item, codes ...CodeableConcept) *category.Category {
	if it.head.Meta != nil {
		if c, ok := label.FromSecurity(labelCodings(it.head.Meta.Security)); ok {
			return &c
		}
	}
	var all []Coding
	for _, cc := range codes {
		all = append(all, cc.Coding...)
	}
	if c, ok := label.FromCodes(labelCodings(all)); ok {
		return &c
	}
	return nil
}

func labelCodings(cs []Coding) []label.Coding {
	out := make([]label.Coding, len(cs))
	for i, c := range cs {
		out[i] = label.Coding{System: c.System, Code: c.Code}
	}
	return out
}

// labelOr is the item's own label, else def.
func labelOr(it *item, def category.Category, codes ...CodeableConcept) category.Category {
	if c := assigned(it, codes...); c != nil {
		return *c
	}
	return def
}

// excluded reports whether the organisation keeps the service any of
// names describe out of the portal, and says which as a skip.
func (r *run) excluded(concepts ...CodeableConcept) error {
	for _, rule := range r.org.ExcludedServices {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		for _, cc := range concepts {
			names := []string{cc.Text}
			for _, c := range cc.Coding {
				names = append(names, c.Display, c.Code)
			}
			for _, n := range names {
				if n != "" && strings.Contains(strings.ToLower(n), strings.ToLower(rule)) {
					return skip("the organisation keeps %s data out of the portal", safeName(strings.ReplaceAll(rule, " ", "-")))
				}
			}
		}
	}
	return nil
}

// linked records that the organisation holds data on the patient's record,
// telling the patient the first time.
func (r *run) linked(patient pulid.ID) error {
	return notify.LinkOrganisation(r.ctx, r.tx, patient, r.org.ID, r.now)
}

// text is the concept's text, else its first display, else its first code.
func (cc CodeableConcept) text() string {
	if t := strings.TrimSpace(cc.Text); t != "" {
		return t
	}
	for _, c := range cc.Coding {
		if d := strings.TrimSpace(c.Display); d != "" {
			return d
		}
	}
	for _, c := range cc.Coding {
		if c.Code != "" {
			return c.Code
		}
	}
	return ""
}

// code is the concept's first code in one of systems, as system|code? No:
// the bare code, which is what the portal's code fields hold.
func (cc CodeableConcept) code(systems ...string) *string {
	for _, c := range cc.Coding {
		for _, s := range systems {
			if c.System == s && c.Code != "" {
				code := c.Code
				return &code
			}
		}
	}
	return nil
}

// has reports whether the concept carries code in system.
func (cc CodeableConcept) has(system, code string) bool {
	for _, c := range cc.Coding {
		if c.System == system && c.Code == code {
			return true
		}
	}
	return false
}

// Code systems the mappings read.
const (
	loinc  = "http://loinc.org"
	snomed = "http://snomed.info/sct"
)

// nonBlank returns a pointer to s trimmed, or nil when it is blank.
func nonBlank(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}
