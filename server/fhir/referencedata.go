package fhir

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/directoryentry"
)

func init() {
	for _, t := range []string{"Organization", "Location", "Practitioner", "PractitionerRole"} {
		mappers[t] = storeDirectoryEntry
	}
}

// directoryResource is what the portal reads of Organization, Location,
// Practitioner and PractitionerRole.
type directoryResource struct {
	Name json.RawMessage `json:"name"`
	// Practitioner.name is a list of HumanNames; the others' a string.
	Address json.RawMessage `json:"address"`
	// PractitionerRole
	Practitioner *Reference        `json:"practitioner"`
	Organization *Reference        `json:"organization"`
	Code         []CodeableConcept `json:"code"`
	Specialty    []CodeableConcept `json:"specialty"`
}

// humanName is a person's name.
type humanName struct {
	Use    string   `json:"use"`
	Text   string   `json:"text"`
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
}

func (n humanName) String() string {
	if t := strings.TrimSpace(n.Text); t != "" {
		return t
	}
	return strings.TrimSpace(strings.Join(slices.Concat(n.Prefix, n.Given, []string{n.Family}), " "))
}

// storeDirectoryEntry keeps reference data, so that records can say who
// and where. Sending it again updates its name and detail.
func storeDirectoryEntry(r *run, it *item) (*stored, error) {
	var d directoryResource
	if err := json.Unmarshal(it.raw, &d); err != nil {
		return nil, refuse("the %s is not valid FHIR JSON", it.head.ResourceType)
	}
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	src := system + "|" + value
	var identifiers []string
	for _, id := range it.head.Identifier {
		if id.Value != "" {
			identifiers = append(identifiers, id.System+"|"+id.Value)
		}
	}
	name, detail := "", (*string)(nil)
	switch it.head.ResourceType {
	case "Practitioner":
		var names []humanName
		_ = json.Unmarshal(d.Name, &names)
		for _, n := range names {
			if n.Use == "official" || name == "" {
				name = n.String()
			}
		}
	case "PractitionerRole":
		who, err := r.name(d.Practitioner)
		if err != nil {
			return nil, err
		}
		if who != nil {
			name = *who
		}
		var roles []string
		for _, cc := range slices.Concat(d.Code, d.Specialty) {
			if t := cc.text(); t != "" {
				roles = append(roles, t)
			}
		}
		detail = nonBlank(strings.Join(roles, ", "))
	default:
		_ = json.Unmarshal(d.Name, &name)
		var addr struct {
			Line       []string `json:"line"`
			City       string   `json:"city"`
			PostalCode string   `json:"postalCode"`
		}
		if json.Unmarshal(d.Address, &addr) != nil {
			var list []struct {
				Line       []string `json:"line"`
				City       string   `json:"city"`
				PostalCode string   `json:"postalCode"`
			}
			if json.Unmarshal(d.Address, &list) == nil && len(list) > 0 {
				addr = list[0]
			}
		}
		detail = nonBlank(strings.Join(slices.DeleteFunc(slices.Concat(addr.Line, []string{addr.City, addr.PostalCode}),
			func(s string) bool { return strings.TrimSpace(s) == "" }), ", "))
	}
	name = strings.TrimSpace(name)
	typ := directoryentry.ResourceType(it.head.ResourceType)
	e, err := r.tx.DirectoryEntry.Query().Where(
		directoryentry.OrganisationID(r.org.ID), directoryentry.ResourceTypeEQ(typ), directoryentry.Source(src),
	).Only(r.ctx)
	if ent.IsNotFound(err) {
		c := r.tx.DirectoryEntry.Create().SetOrganisationID(r.org.ID).SetResourceType(typ).SetSource(src).
			SetName(name).SetNillableDetail(detail).SetIdentifiers(identifiers)
		if it.head.ID != "" {
			c.SetFhirID(it.head.ID)
		}
		if e, err = c.Save(r.ctx); err != nil {
			return nil, err
		}
		it.target = e.ID
		return &stored{Type: it.head.ResourceType, ID: e.ID, change: created}, nil
	}
	if err != nil {
		return nil, err
	}
	it.target = e.ID
	res := &stored{Type: it.head.ResourceType, ID: e.ID, change: unchanged}
	// Two resources with one identifier are one entry: the first id stays,
	// so that sending both again changes nothing.
	newID := it.head.ID != "" && e.FhirID == nil
	same := e.Name == name && equalPtr(e.Detail, detail) && slices.Equal(e.Identifiers, identifiers) && !newID
	if same {
		return res, nil
	}
	up := e.Update().SetName(name).SetNillableDetail(detail).SetIdentifiers(identifiers)
	if detail == nil {
		up.ClearDetail()
	}
	if newID {
		up.SetFhirID(it.head.ID)
	}
	if err := up.Exec(r.ctx); err != nil {
		return nil, err
	}
	res.change = updated
	return res, nil
}

// equalPtr compares two optional values.
func equalPtr[T comparable](a, b *T) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
