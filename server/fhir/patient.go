package fhir

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/patientorganisation"
	"github.com/patientportal/portal/server/auth"
)

func init() { mappers["Patient"] = storePatient }

// patientResource is the part of a FHIR Patient the portal keeps.
type patientResource struct {
	Name []struct {
		Use    string   `json:"use"`
		Family string   `json:"family"`
		Given  []string `json:"given"`
	} `json:"name"`
	BirthDate string `json:"birthDate"`
	Telecom   []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"telecom"`
	Address []struct {
		Line       []string `json:"line"`
		City       string   `json:"city"`
		PostalCode string   `json:"postalCode"`
	} `json:"address"`
}

// storePatient matches the patient to a record: by NHS number, which must
// come with the same date of birth; else by the organisation's own
// identifier or id; else it creates an unregistered record, which the
// organisation may then invite. The answer is the same whether or not
// another organisation already knew the patient: 201 when this
// organisation had not sent them before, 200 after.
func storePatient(r *run, it *item) (*stored, error) {
	var p patientResource
	if err := json.Unmarshal(it.raw, &p); err != nil {
		return nil, refuse("the Patient is not valid FHIR JSON")
	}
	dob, err := time.Parse(time.DateOnly, strings.TrimSpace(p.BirthDate))
	if err != nil {
		return nil, refuse("Patient.birthDate is missing or not a full date")
	}
	var nhs, local string
	for _, id := range it.head.Identifier {
		switch {
		case id.System == NHSNumberSystem && nhs == "":
			nhs = strings.ReplaceAll(id.Value, " ", "")
			if !auth.ValidNHSNumber(nhs) {
				return nil, refuse("the NHS number is not valid")
			}
		case id.System != NHSNumberSystem && id.System != "" && id.Value != "" && local == "":
			local = id.System + "|" + id.Value
		}
	}
	family, given := "", ""
	for _, n := range p.Name {
		if n.Use == "official" || family == "" {
			family, given = strings.TrimSpace(n.Family), strings.TrimSpace(strings.Join(n.Given, " "))
		}
	}

	link, err := r.patientLink(it.head.ID, local)
	if err != nil {
		return nil, err
	}
	var pt *ent.Patient
	if link != nil {
		if pt, err = r.tx.Patient.Get(r.ctx, link.PatientID); err != nil {
			return nil, err
		}
	}
	if pt == nil && nhs != "" {
		pt, err = r.tx.Patient.Query().Where(patient.NhsNumber(nhs)).Only(r.ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
	}
	if pt != nil && nhs != "" {
		if pt.NhsNumber != nil && *pt.NhsNumber != nhs {
			return nil, refuse("this organisation's identifier for the patient belongs to a record with another NHS number")
		}
		if !sameDay(pt.DateOfBirth, dob) {
			return nil, refuse("the NHS number and the date of birth do not match")
		}
	}
	if pt == nil {
		if family == "" || given == "" {
			return nil, refuse("Patient.name needs a family and a given name")
		}
		c := r.tx.Patient.Create().
			SetGivenName(given).SetFamilyName(family).SetDateOfBirth(dob).
			SetInvitedByOrganisationID(r.org.ID)
		if nhs != "" {
			c.SetNhsNumber(nhs)
		}
		for _, t := range p.Telecom {
			switch t.System {
			case "phone":
				if v := strings.TrimSpace(t.Value); v != "" && len(v) <= 32 {
					c.SetPhone(v)
				}
			case "email":
				if v := strings.TrimSpace(t.Value); v != "" && len(v) <= 254 {
					c.SetEmail(v)
				}
			}
		}
		if len(p.Address) > 0 {
			a := p.Address[0]
			if len(a.Line) > 0 {
				c.SetNillableAddressLine1(nonBlank(a.Line[0]))
			}
			if len(a.Line) > 1 {
				c.SetNillableAddressLine2(nonBlank(a.Line[1]))
			}
			c.SetNillableTown(nonBlank(a.City))
			if pc := strings.TrimSpace(a.PostalCode); pc != "" && len(pc) <= 8 {
				c.SetPostcode(pc)
			}
		}
		if pt, err = c.Save(r.ctx); err != nil {
			return nil, err
		}
	}
	it.target = pt.ID
	res := &stored{Type: "Patient", ID: pt.ID, change: unchanged}
	if link == nil {
		link, err = r.tx.PatientOrganisation.Query().
			Where(patientorganisation.PatientID(pt.ID), patientorganisation.OrganisationID(r.org.ID)).
			Only(r.ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
	}
	if link == nil {
		res.change = created
		if err := r.linked(pt.ID); err != nil {
			return nil, err
		}
		link, err = r.tx.PatientOrganisation.Query().
			Where(patientorganisation.PatientID(pt.ID), patientorganisation.OrganisationID(r.org.ID)).
			Only(r.ctx)
		if err != nil {
			return nil, err
		}
	}
	up := link.Update()
	dirty := false
	if it.head.ID != "" && (link.FhirID == nil || *link.FhirID != it.head.ID) {
		up.SetFhirID(it.head.ID)
		dirty = true
	}
	if local != "" && (link.LocalIdentifier == nil || *link.LocalIdentifier != local) {
		up.SetLocalIdentifier(local)
		dirty = true
	}
	if dirty {
		if err := up.Exec(r.ctx); err != nil {
			return nil, err
		}
		if res.change == unchanged {
			res.change = updated
		}
	}
	return res, nil
}

// patientLink finds the organisation's link to a patient by the id its
// FHIR server gives them or by its own identifier.
func (r *run) patientLink(fhirID, local string) (*ent.PatientOrganisation, error) {
	for _, where := range []struct {
		ok bool
		p  func() *ent.PatientOrganisationQuery
	}{
		{fhirID != "", func() *ent.PatientOrganisationQuery {
			return r.tx.PatientOrganisation.Query().Where(patientorganisation.FhirID(fhirID))
		}},
		{local != "", func() *ent.PatientOrganisationQuery {
			return r.tx.PatientOrganisation.Query().Where(patientorganisation.LocalIdentifier(local))
		}},
	} {
		if !where.ok {
			continue
		}
		link, err := where.p().Where(patientorganisation.OrganisationID(r.org.ID)).First(r.ctx)
		if err == nil || !ent.IsNotFound(err) {
			return link, err
		}
	}
	return nil, nil
}

// sameDay compares two dates of birth, both stored as UTC midnight.
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}
