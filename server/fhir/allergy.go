package fhir

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/schema/category"
)

func init() { mappers["AllergyIntolerance"] = storeAllergy }

// allergyResource is the part of a FHIR AllergyIntolerance the portal keeps.
type allergyResource struct {
	ClinicalStatus     *CodeableConcept `json:"clinicalStatus"`
	VerificationStatus *CodeableConcept `json:"verificationStatus"`
	Criticality        string           `json:"criticality"`
	Code               *CodeableConcept `json:"code"`
	Patient            *Reference       `json:"patient"`
	OnsetDateTime      string           `json:"onsetDateTime"`
	OnsetPeriod        *Period          `json:"onsetPeriod"`
	RecordedDate       string           `json:"recordedDate"`
	Recorder           *Reference       `json:"recorder"`
	Asserter           *Reference       `json:"asserter"`
	Reaction           []struct {
		Manifestation []CodeableConcept `json:"manifestation"`
		Severity      string            `json:"severity"`
	} `json:"reaction"`
}

// noKnownAllergy are the SNOMED CT situations that state the patient has
// no known allergy (of a kind): a statement, unlike an empty list.
var noKnownAllergy = []string{
	"716186003", // No known allergy
	"409137002", // No known history of drug allergy
	"429625007", // No known food allergy
	"428607008", // No known environmental allergy
	"428197003", // No known insect allergy
}

// reactionSeverity maps FHIR reaction severities; the worst reaction wins.
var reactionSeverity = map[string]allergy.Severity{
	"mild": allergy.SeverityMILD, "moderate": allergy.SeverityMODERATE, "severe": allergy.SeveritySEVERE,
}

// storeAllergy keeps an allergy or a "no known allergies" statement.
// Entered in error or refuted, it is taken out again.
func storeAllergy(r *run, it *item) (*stored, error) {
	var a allergyResource
	if err := json.Unmarshal(it.raw, &a); err != nil {
		return nil, refuse("the AllergyIntolerance is not valid FHIR JSON")
	}
	switch allergyStatusCode(a.VerificationStatus) {
	case "entered-in-error", "refuted":
		return removeAllergy(r, it)
	}
	patientID, err := r.patient(a.Patient)
	if err != nil {
		return nil, err
	}
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	var code CodeableConcept
	if a.Code != nil {
		code = *a.Code
	}
	substance := oneLine(code.text())
	if substance == "" {
		return nil, refuse("AllergyIntolerance.code is missing")
	}
	kind := allergy.KindALLERGY
	for _, c := range noKnownAllergy {
		if code.has(snomed, c) {
			kind = allergy.KindNO_KNOWN_ALLERGIES
		}
	}
	var reactions []string
	var severity *allergy.Severity
	for _, re := range a.Reaction {
		for _, m := range re.Manifestation {
			if t := strings.TrimSpace(m.text()); t != "" && !slices.Contains(reactions, t) {
				reactions = append(reactions, t)
			}
		}
		if s, ok := reactionSeverity[re.Severity]; ok && (severity == nil || worseSeverity(s, *severity)) {
			severity = &s
		}
	}
	reaction := nonBlank(oneLine(strings.Join(reactions, "; ")))
	var criticality *allergy.Criticality
	switch a.Criticality {
	case "low":
		criticality = pointerTo(allergy.CriticalityLOW)
	case "high":
		criticality = pointerTo(allergy.CriticalityHIGH)
	case "unable-to-assess":
		criticality = pointerTo(allergy.CriticalityUNABLE_TO_ASSESS)
	}
	status := allergy.StatusACTIVE
	switch allergyStatusCode(a.ClinicalStatus) {
	case "inactive":
		status = allergy.StatusINACTIVE
	case "resolved":
		status = allergy.StatusRESOLVED
	}
	recorder, err := r.name(a.Recorder)
	if err != nil {
		return nil, err
	}
	if recorder == nil {
		if recorder, err = r.name(a.Asserter); err != nil {
			return nil, err
		}
	}
	recorder = optionalLine(recorder)
	recordedAt, dated := parseTime(a.RecordedDate)
	if !dated {
		recordedAt, dated = parseTime(a.OnsetDateTime)
	}
	if !dated && a.OnsetPeriod != nil {
		recordedAt, dated = parseTime(a.OnsetPeriod.Start)
	}
	assignedCat := assigned(it, code)
	cat := labelOr(it, category.General, code)

	old, err := r.tx.Allergy.Query().Where(allergy.SourceOrganisationID(r.org.ID),
		allergy.ExternalSystem(system), allergy.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		if !dated {
			recordedAt = r.now
		}
		al, err := r.tx.Allergy.Create().
			SetPatientID(patientID).SetSourceOrganisationID(r.org.ID).
			SetExternalSystem(system).SetExternalValue(value).
			SetCategory(cat).SetNillableAssignedCategory(assignedCat).
			SetKind(kind).SetSubstance(substance).SetNillableReaction(reaction).
			SetNillableSeverity(severity).SetNillableCriticality(criticality).SetStatus(status).
			SetRecordedBy(allergy.RecordedByTRUST).SetNillableRecorder(recorder).
			SetRecordedAt(dbTime(recordedAt)).
			Save(r.ctx)
		if err != nil {
			return nil, err
		}
		if err := r.linked(patientID); err != nil {
			return nil, err
		}
		return &stored{Type: it.head.ResourceType, ID: al.ID, change: created}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := samePatient(old.PatientID, patientID); err != nil {
		return nil, err
	}
	if dated {
		recordedAt = dbTime(recordedAt)
	} else {
		recordedAt = old.RecordedAt
	}
	res := &stored{Type: it.head.ResourceType, ID: old.ID, change: unchanged}
	if old.Kind == kind && old.Substance == substance && equalPtr(old.Reaction, reaction) &&
		equalPtr(old.Severity, severity) && equalPtr(old.Criticality, criticality) && old.Status == status &&
		old.RecordedBy == allergy.RecordedByTRUST && equalPtr(old.Recorder, recorder) &&
		old.RecordedAt.Equal(recordedAt) && old.Category == cat && equalPtr(old.AssignedCategory, assignedCat) {
		return res, r.linked(patientID)
	}
	up := old.Update().SetCategory(cat).SetKind(kind).SetSubstance(substance).SetStatus(status).
		SetRecordedBy(allergy.RecordedByTRUST).SetRecordedAt(recordedAt)
	setOrClear(up.SetAssignedCategory, up.ClearAssignedCategory, assignedCat)
	setOrClear(up.SetReaction, up.ClearReaction, reaction)
	setOrClear(up.SetSeverity, up.ClearSeverity, severity)
	setOrClear(up.SetCriticality, up.ClearCriticality, criticality)
	setOrClear(up.SetRecorder, up.ClearRecorder, recorder)
	if err := up.Exec(r.ctx); err != nil {
		return nil, err
	}
	res.change = updated
	return res, r.linked(patientID)
}

// removeAllergy takes out the allergy an entered-in-error or refuted item
// became; one never stored is skipped.
func removeAllergy(r *run, it *item) (*stored, error) {
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	old, err := r.tx.Allergy.Query().Where(allergy.SourceOrganisationID(r.org.ID),
		allergy.ExternalSystem(system), allergy.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		return nil, errNeverStored
	}
	if err != nil {
		return nil, err
	}
	if err := forgetNotes(r, old.ID); err != nil {
		return nil, err
	}
	if err := r.tx.Allergy.DeleteOneID(old.ID).Exec(r.ctx); err != nil {
		return nil, err
	}
	return &stored{Type: it.head.ResourceType, ID: old.ID, change: deleted}, nil
}

// worseSeverity reports whether severity a is worse than b.
func worseSeverity(a, b allergy.Severity) bool {
	order := []allergy.Severity{allergy.SeverityMILD, allergy.SeverityMODERATE, allergy.SeveritySEVERE}
	return slices.Index(order, a) > slices.Index(order, b)
}

// allergyStatusCode is a status concept's code (FHIR's status value sets have one
// system each), "" when there is none.
func allergyStatusCode(cc *CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.Code != "" {
			return strings.ToLower(strings.TrimSpace(c.Code))
		}
	}
	return ""
}

// pointerTo is a pointer to v.
func pointerTo[T any](v T) *T { return &v }
