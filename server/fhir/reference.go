package fhir

import (
	"net/url"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/directoryentry"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// NHSNumberSystem is the identifier system of NHS numbers.
const NHSNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// target is what a reference names: an item of this request, or a
// resource the organisation sent before, by id or by identifier.
type target struct {
	item *item
	typ  string
	// id is the resource's id at the source (relative or absolute URL).
	id string
	// identifier is "system|value" (a conditional or logical reference).
	identifier string
}

// parseReference reads the forms of reference FHIR allows: urn:uuid and
// other fullUrls within the bundle, relative Type/id, absolute URLs,
// conditional Type?identifier=system|value, and logical identifiers.
// Contained (#id) references name nothing the portal keeps.
func (r *run) parseReference(ref Reference, typ string) (target, bool) {
	s := strings.TrimSpace(ref.Reference)
	switch {
	case s == "" && ref.Identifier != nil && ref.Identifier.Value != "":
		return target{typ: typ, identifier: ref.Identifier.System + "|" + ref.Identifier.Value}, true
	case s == "" || strings.HasPrefix(s, "#"):
		return target{}, false
	}
	if it, ok := r.byRef[s]; ok {
		return target{item: it, typ: it.head.ResourceType}, true
	}
	if t, query, ok := strings.Cut(s, "?"); ok {
		values, err := url.ParseQuery(query)
		if err != nil || values.Get("identifier") == "" {
			return target{}, false
		}
		return target{typ: t, identifier: values.Get("identifier")}, true
	}
	parts := strings.Split(strings.TrimSuffix(s, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 {
		return target{}, false
	}
	if it, ok := r.byRef[parts[n-2]+"/"+parts[n-1]]; ok {
		return target{item: it, typ: it.head.ResourceType}, true
	}
	return target{typ: parts[n-2], id: parts[n-1]}, true
}

// resolveItem stores the item a target names, if it has not been yet, and
// returns its record; "" when it was refused or skipped.
func (r *run) resolveItem(it *item) (pulid.ID, error) {
	if !it.done {
		if err := r.store(it); err != nil {
			return "", nil
		}
	}
	if it.err != nil {
		return "", nil
	}
	return it.target, nil
}

// patient resolves a reference to the record's patient, among those linked
// to the organisation. An entry whose patient is not found is refused.
func (r *run) patient(ref *Reference) (pulid.ID, error) {
	if ref == nil {
		return "", refuse("the resource names no patient")
	}
	t, ok := r.parseReference(*ref, "Patient")
	if !ok || t.typ != "Patient" {
		return "", unresolved("the patient reference cannot be resolved")
	}
	if t.item != nil {
		id, err := r.resolveItem(t.item)
		if err != nil || id == "" {
			return "", unresolved("the patient this entry belongs to was not stored")
		}
		return id, nil
	}
	links := r.tx.PatientOrganisation.Query().Where(patientorganisation.OrganisationID(r.org.ID))
	switch {
	case t.id != "":
		links.Where(patientorganisation.FhirID(t.id))
	case strings.HasPrefix(t.identifier, NHSNumberSystem+"|"):
		links.Where(patientorganisation.HasPatientWith(patient.NhsNumber(strings.TrimPrefix(t.identifier, NHSNumberSystem+"|"))))
	default:
		links.Where(patientorganisation.LocalIdentifier(t.identifier))
	}
	link, err := links.First(r.ctx)
	if ent.IsNotFound(err) {
		return "", unresolved("the patient is not in the portal for this organisation: send the Patient first")
	}
	if err != nil {
		return "", err
	}
	return link.PatientID, nil
}

// directory resolves a reference to reference data the organisation sent;
// nil when it is not known (names then come from the reference's display).
func (r *run) directory(ref *Reference) (*ent.DirectoryEntry, error) {
	if ref == nil {
		return nil, nil
	}
	t, ok := r.parseReference(*ref, "")
	if !ok {
		return nil, nil
	}
	if t.item != nil {
		id, err := r.resolveItem(t.item)
		if err != nil || id == "" || !strings.HasPrefix(string(id), "de") {
			return nil, err
		}
		return r.tx.DirectoryEntry.Get(r.ctx, id)
	}
	if directoryentry.ResourceTypeValidator(directoryentry.ResourceType(t.typ)) != nil {
		return nil, nil
	}
	q := r.tx.DirectoryEntry.Query().Where(
		directoryentry.OrganisationID(r.org.ID),
		directoryentry.ResourceTypeEQ(directoryentry.ResourceType(t.typ)))
	if t.id != "" {
		q.Where(directoryentry.FhirID(t.id))
	} else {
		q.Where(directoryentry.Source(t.identifier))
	}
	e, err := q.First(r.ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return e, err
}

// name is who or where a reference names: the directory's name, else its
// display.
func (r *run) name(ref *Reference) (*string, error) {
	if ref == nil {
		return nil, nil
	}
	e, err := r.directory(ref)
	if err != nil {
		return nil, err
	}
	if e != nil && e.Name != "" {
		return &e.Name, nil
	}
	if d := strings.TrimSpace(ref.Display); d != "" {
		return &d, nil
	}
	return nil, nil
}
