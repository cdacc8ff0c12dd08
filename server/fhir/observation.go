package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/tracking"
)

func init() { mappers["Observation"] = storeObservation }

// An Observation becomes a measurement (vital signs the portal charts), a
// result (laboratory values, surveys, social history, examinations), or a
// component of a result when a DiagnosticReport or a group lists it.

// Code systems and the categories an Observation's kind depends on.
const (
	observationCategory = "http://terminology.hl7.org/CodeSystem/observation-category"
	ucum                = "http://unitsofmeasure.org"
)

// interpretationSystems carry the v3 ObservationInterpretation codes (and
// their v2 table 0078 ancestors, which share them).
var interpretationSystems = map[string]bool{
	"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": true,
	"http://hl7.org/fhir/v3/ObservationInterpretation":                   true,
	"http://terminology.hl7.org/CodeSystem/v2-0078":                      true,
	"http://hl7.org/fhir/v2/0078":                                        true,
}

// interpretationFlags maps interpretation codes to a component's flag.
var interpretationFlags = map[string]resultcomponent.Flag{
	"N":  resultcomponent.FlagNORMAL,
	"L":  resultcomponent.FlagLOW,
	"H":  resultcomponent.FlagHIGH,
	"LL": resultcomponent.FlagCRITICAL_LOW,
	"HH": resultcomponent.FlagCRITICAL_HIGH,
	"A":  resultcomponent.FlagABNORMAL,
	"AA": resultcomponent.FlagABNORMAL,
}

// comparators maps Quantity.comparator to a component's.
var comparators = map[string]resultcomponent.Comparator{
	"<":  resultcomponent.ComparatorLT,
	"<=": resultcomponent.ComparatorLE,
	">=": resultcomponent.ComparatorGE,
	">":  resultcomponent.ComparatorGT,
}

// observationValue is an Observation's or a component entry's value and
// how to read it.
type observationValue struct {
	ValueQuantity        *Quantity         `json:"valueQuantity,omitempty"`
	ValueString          *string           `json:"valueString,omitempty"`
	ValueCodeableConcept *CodeableConcept  `json:"valueCodeableConcept,omitempty"`
	ValueBoolean         *bool             `json:"valueBoolean,omitempty"`
	ValueInteger         *int64            `json:"valueInteger,omitempty"`
	ValueDateTime        *string           `json:"valueDateTime,omitempty"`
	ValueTime            *string           `json:"valueTime,omitempty"`
	Interpretation       []CodeableConcept `json:"interpretation,omitempty"`
	ReferenceRange       []struct {
		Low  *Quantity `json:"low,omitempty"`
		High *Quantity `json:"high,omitempty"`
		Text string    `json:"text,omitempty"`
	} `json:"referenceRange,omitempty"`
}

// observationResource is what the portal reads of an Observation.
type observationResource struct {
	observationValue
	Status            string            `json:"status"`
	Category          []CodeableConcept `json:"category,omitempty"`
	Code              CodeableConcept   `json:"code"`
	Subject           *Reference        `json:"subject,omitempty"`
	EffectiveDateTime string            `json:"effectiveDateTime,omitempty"`
	EffectiveInstant  string            `json:"effectiveInstant,omitempty"`
	EffectivePeriod   *Period           `json:"effectivePeriod,omitempty"`
	Issued            string            `json:"issued,omitempty"`
	Performer         []Reference       `json:"performer,omitempty"`
	HasMember         []Reference       `json:"hasMember,omitempty"`
	Component         []struct {
		observationValue
		Code CodeableConcept `json:"code"`
	} `json:"component,omitempty"`
	Extension []Extension `json:"extension,omitempty"`
}

// effective is when it was taken: effectiveDateTime, else the start of
// effectivePeriod, else effectiveInstant.
func (o *observationResource) effective() string {
	switch {
	case o.EffectiveDateTime != "":
		return o.EffectiveDateTime
	case o.EffectivePeriod != nil && o.EffectivePeriod.Start != "":
		return o.EffectivePeriod.Start
	}
	return o.EffectiveInstant
}

// categories are its observation-category codes.
func (o *observationResource) categories() []string {
	var out []string
	for _, cc := range o.Category {
		for _, c := range cc.Coding {
			if (c.System == observationCategory || c.System == "") && c.Code != "" {
				out = append(out, c.Code)
			}
		}
	}
	return out
}

// decodeObservation reads an Observation item.
func decodeObservation(it *item) (*observationResource, error) {
	var o observationResource
	if err := json.Unmarshal(it.raw, &o); err != nil {
		return nil, refuse("the Observation is not valid FHIR JSON")
	}
	return &o, nil
}

// storeObservation stores an Observation that no DiagnosticReport or group
// of this request took in: vital signs as measurements, anything else with
// a value as a result.
func storeObservation(r *run, it *item) (*stored, error) {
	o, err := decodeObservation(it)
	if err != nil {
		return nil, err
	}
	switch o.Status {
	case "cancelled":
		r.takeMembers(it, o.HasMember).skipAll(it)
		return nil, skip("the Observation was cancelled")
	case "entered-in-error":
		system, value, err := source(it)
		if err != nil {
			return nil, err
		}
		return removeObservation(r, it, o, system, value)
	}
	// A member listed before its group or report goes in with it. The
	// group's refusal is its own: this one is then stored alone.
	if parent := observationParent(r, it); parent != nil {
		if err := r.store(parent); err != nil {
			if _, refused := asRefusal(err); !refused {
				return nil, err
			}
		}
		if it.within != nil && it.result != nil {
			return it.result, nil
		}
		if isSkip(parent.err) {
			// The importer answers an item stored already with its error,
			// and a skip so answered fails a transaction: the group is
			// stored (and skipped) again in its turn, which writes nothing.
			listed := it.within == parent
			parent.done, parent.err = false, nil
			if listed {
				return nil, skip("the %s that lists it is not stored either", parent.head.ResourceType)
			}
		}
	}
	// Listed by a report or group that was cancelled, withdrawn or kept
	// out.
	if w := it.within; w != nil && isSkip(w.err) {
		return nil, skip("the %s that lists it is not stored either", w.head.ResourceType)
	}
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	status, err := resultStatus(o.Status, "Observation.status")
	if err != nil {
		return nil, err
	}
	if err := r.excluded(append(slices.Clone(o.Category), o.Code)...); err != nil {
		r.takeMembers(it, o.HasMember).skipAll(it)
		return nil, err
	}
	cats := o.categories()
	typ, vital := vitalSignType(o.Code, cats)
	switch {
	case slices.Contains(cats, "vital-signs") && !vital:
		return nil, skip("the vital sign %s is not a measurement the portal keeps", safeName(firstCode(o.Code)))
	case vital:
		return storeVitalSign(r, it, o, typ, system, value)
	}
	def := category.General
	if slices.Contains(cats, "survey") || slices.Contains(cats, "social-history") {
		def = category.Restricted
	}
	return storeObservationResult(r, it, o, status, system, value, def)
}

// observationParent is the group or report of this request, not stored
// yet, that lists it as a member.
func observationParent(r *run, it *item) *item {
	for _, p := range r.items {
		if p == it || p.done {
			continue
		}
		var refs []Reference
		switch p.head.ResourceType {
		case "Observation":
			if !bytes.Contains(p.raw, []byte(`"hasMember"`)) {
				continue
			}
			var g struct {
				HasMember []Reference `json:"hasMember"`
			}
			if json.Unmarshal(p.raw, &g) != nil {
				continue
			}
			refs = g.HasMember
		case "DiagnosticReport":
			var d struct {
				Result []Reference `json:"result"`
			}
			if json.Unmarshal(p.raw, &d) != nil {
				continue
			}
			refs = d.Result
		default:
			continue
		}
		for _, ref := range refs {
			if t, ok := r.parseReference(ref, "Observation"); ok && t.item == it {
				return p
			}
		}
	}
	return nil
}

// storeObservationResult stores an Observation as a result: one component
// for its value, one for each component entry, and its group's members.
func storeObservationResult(r *run, it *item, o *observationResource, status result.Status, system, value string, def category.Category) (*stored, error) {
	name := oneLine(o.Code.text())
	if name == "" {
		return nil, refuse("Observation.code has no text, display or code")
	}
	patientID, err := r.patient(o.Subject)
	if err != nil {
		return nil, err
	}
	taken, reported, err := takenAndReported(o.effective(), o.Issued, "Observation")
	if err != nil {
		return nil, err
	}
	var parts []resultPart
	if p, ok := newPart(o.Code, o.observationValue); ok {
		parts = append(parts, p)
	}
	for _, c := range o.Component {
		if p, ok := newPart(c.Code, c.observationValue); ok {
			parts = append(parts, p)
		}
	}
	members := r.takeMembers(it, o.HasMember)
	offset := len(parts)
	parts = append(parts, members.parts...)
	if len(parts) == 0 {
		return nil, skip("the Observation has no value")
	}
	// Sent again on its own after a report took it in: it is that
	// report's component.
	if len(parts) == 1 && len(members.taken) == 0 {
		res, err := updateComponentAlone(r, it, o, parts[0], patientID, system, value)
		if res != nil || err != nil {
			return res, err
		}
	}
	concepts := []CodeableConcept{o.Code}
	if o.ValueCodeableConcept != nil {
		concepts = append(concepts, *o.ValueCodeableConcept)
	}
	for _, p := range parts {
		concepts = append(concepts, p.concepts...)
	}
	from := labelSource(append([]*item{it}, members.items()...)...)
	lab, err := r.name(firstRef(o.Performer))
	if err != nil {
		return nil, err
	}
	release, err := releaseTime(r, o.Extension, reported)
	if err != nil {
		return nil, err
	}
	in := resultInput{
		patient: patientID, system: system, value: value,
		name: name, code: optionalLine(o.Code.code(loinc, snomed)), status: status,
		takenAt: taken, reportedAt: reported, releaseAt: release, lab: optionalLine(lab),
		category: labelOr(from, def, concepts...), assigned: assigned(from, concepts...),
		parts: parts,
	}
	id, ch, partIDs, err := putResult(r, in)
	if err != nil {
		return nil, err
	}
	members.markDone(it, id, ch, partIDs[offset:], "stored as part of its group's result")
	return &stored{Type: "Observation", ID: id, change: ch}, nil
}

// updateComponentAlone updates the component a report made of the
// Observation, when there is one; nil, nil when there is none.
func updateComponentAlone(r *run, it *item, o *observationResource, p resultPart, patientID pulid.ID, system, value string) (*stored, error) {
	c, err := r.tx.ResultComponent.Query().Where(
		resultcomponent.SourceOrganisationID(r.org.ID),
		resultcomponent.ExternalSystem(system), resultcomponent.ExternalValue(value)).
		Only(r.ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := samePatient(c.PatientID, patientID); err != nil {
		return nil, err
	}
	p.extSystem, p.extValue = &system, &value
	res := &stored{Type: "Observation", ID: c.ID, change: unchanged, note: "stored as part of a DiagnosticReport"}
	// Its own label joins the result's: one sensitive component labels
	// the whole result.
	concepts := []CodeableConcept{o.Code}
	if o.ValueCodeableConcept != nil {
		concepts = append(concepts, *o.ValueCodeableConcept)
	}
	own := assigned(it, concepts...)
	parent, err := r.tx.Result.Get(r.ctx, c.ResultID)
	if err != nil {
		return nil, err
	}
	cat, assignedCat := parent.Category, parent.AssignedCategory
	if own != nil {
		cat = combineLabels(cat, *own)
		a := *own
		if assignedCat != nil {
			a = combineLabels(*assignedCat, *own)
		}
		assignedCat = &a
	}
	if partKey(p) == componentKey(c) && cat == parent.Category && equalPtr(assignedCat, parent.AssignedCategory) {
		return res, nil
	}
	res.change = updated
	if partKey(p) != componentKey(c) {
		up := c.Update()
		setPart(up.Mutation(), p)
		if err := up.Exec(r.ctx); err != nil {
			return nil, err
		}
	}
	if cat != parent.Category || !equalPtr(assignedCat, parent.AssignedCategory) {
		if err := r.tx.Result.UpdateOne(parent).SetCategory(cat).SetNillableAssignedCategory(assignedCat).Exec(r.ctx); err != nil {
			return nil, err
		}
		if _, err := r.tx.ResultComponent.Update().Where(resultcomponent.ResultID(parent.ID)).
			SetCategory(cat).SetNillableAssignedCategory(assignedCat).Save(r.ctx); err != nil {
			return nil, err
		}
		if err := relabelNotes(r, parent.ID, cat); err != nil {
			return nil, err
		}
	}
	return res, r.linked(parent.PatientID)
}

// combineLabels is the label of a record holding items of both labels:
// two different sensitive labels make it RESTRICTED.
func combineLabels(a, b category.Category) category.Category {
	switch {
	case a == b || b == category.General:
		return a
	case a == category.General:
		return b
	}
	return category.Restricted
}

// removeObservation removes what an Observation entered in error became:
// a measurement, a component of a result, or a result (a group's, whose
// members in this request go with it).
func removeObservation(r *run, it *item, o *observationResource, system, value string) (*stored, error) {
	id, found, err := tracking.DeleteExternalReading(r.ctx, r.tx, r.org.ID, system, value)
	if err != nil {
		return nil, err
	}
	if found {
		return &stored{Type: "Observation", ID: id, change: deleted}, nil
	}
	c, err := r.tx.ResultComponent.Query().Where(
		resultcomponent.SourceOrganisationID(r.org.ID),
		resultcomponent.ExternalSystem(system), resultcomponent.ExternalValue(value)).
		Only(r.ctx)
	switch {
	case err == nil:
		if err := r.tx.ResultComponent.DeleteOne(c).Exec(r.ctx); err != nil {
			return nil, err
		}
		return &stored{Type: "Observation", ID: c.ID, change: deleted}, nil
	case !ent.IsNotFound(err):
		return nil, err
	}
	id, found, err = removeResult(r, system, value)
	if err != nil {
		return nil, err
	}
	members := r.takeMembers(it, o.HasMember)
	if !found {
		members.skipAll(it)
		return nil, skip("the Observation was entered in error and is not in the portal")
	}
	members.markDone(it, "", deleted, nil, "")
	return &stored{Type: "Observation", ID: id, change: deleted}, nil
}

// resultPart is one component of a result on its way in.
type resultPart struct {
	name                string
	code                *string
	valueNumeric        *float64
	valueText           *string
	comparator          *resultcomponent.Comparator
	unit                *string
	low, high           *float64
	referenceText       *string
	flag                *resultcomponent.Flag
	extSystem, extValue *string // the Observation it is, at its source
	concepts            []CodeableConcept
}

// newPart reads one value; false when there is no name or no value.
func newPart(code CodeableConcept, v observationValue) (resultPart, bool) {
	// One-line columns hold 255 characters on every engine.
	p := resultPart{name: oneLine(code.text()), code: optionalLine(code.code(loinc, snomed)), concepts: []CodeableConcept{code}}
	switch {
	case v.ValueQuantity != nil && v.ValueQuantity.Value != nil:
		q := v.ValueQuantity
		n := *q.Value
		p.valueNumeric = &n
		p.unit = optionalLine(quantityUnit(q))
		if c, ok := comparators[q.Comparator]; ok {
			p.comparator = &c
		}
	case v.ValueString != nil:
		p.valueText = optionalLine(v.ValueString)
	case v.ValueCodeableConcept != nil:
		p.valueText = optionalLine(nonBlank(v.ValueCodeableConcept.text()))
		p.concepts = append(p.concepts, *v.ValueCodeableConcept)
	case v.ValueBoolean != nil:
		t := "No"
		if *v.ValueBoolean {
			t = "Yes"
		}
		p.valueText = &t
	case v.ValueInteger != nil:
		n := float64(*v.ValueInteger)
		p.valueNumeric = &n
	case v.ValueDateTime != nil:
		p.valueText = optionalLine(v.ValueDateTime)
	case v.ValueTime != nil:
		p.valueText = optionalLine(v.ValueTime)
	}
	if p.name == "" || p.valueNumeric == nil && p.valueText == nil {
		return resultPart{}, false
	}
	if len(v.ReferenceRange) > 0 {
		rr := v.ReferenceRange[0]
		if rr.Low != nil {
			p.low = rr.Low.Value
		}
		if rr.High != nil {
			p.high = rr.High.Value
		}
		p.referenceText = optionalLine(&rr.Text)
	}
	for _, cc := range v.Interpretation {
		for _, c := range cc.Coding {
			if f, ok := interpretationFlags[c.Code]; ok && interpretationSystems[c.System] && p.flag == nil {
				p.flag = &f
			}
		}
	}
	return p, true
}

// quantityUnit is a quantity's UCUM code, else its human unit.
func quantityUnit(q *Quantity) *string {
	if q.System == ucum && strings.TrimSpace(q.Code) != "" {
		return nonBlank(q.Code)
	}
	if u := nonBlank(q.Unit); u != nil {
		return u
	}
	return nonBlank(q.Code)
}

// firstCode is a concept's first code, for diagnostics.
func firstCode(cc CodeableConcept) string {
	for _, c := range cc.Coding {
		if c.Code != "" {
			return c.Code
		}
	}
	return ""
}

// firstRef is the first of refs, or nil.
func firstRef(refs []Reference) *Reference {
	if len(refs) == 0 {
		return nil
	}
	return &refs[0]
}

// vitalSigns are the LOINC codes of the vital signs the portal charts.
var vitalSigns = map[string]measurement.Type{
	"8867-4":  measurement.TypeHEART_RATE,
	"29463-7": measurement.TypeWEIGHT,
	"8302-2":  measurement.TypeHEIGHT,
	"39156-5": measurement.TypeBMI,
	"85354-9": measurement.TypeBLOOD_PRESSURE,
	"55284-4": measurement.TypeBLOOD_PRESSURE,
	"2708-6":  measurement.TypeSPO2,
	"59408-5": measurement.TypeSPO2,
	"8310-5":  measurement.TypeTEMPERATURE,
	"9279-1":  measurement.TypeRESPIRATORY_RATE,
	// Glucose is a vital sign only when the sender says so; otherwise it
	// is a laboratory result.
	"2339-0":  measurement.TypeGLUCOSE,
	"2345-7":  measurement.TypeGLUCOSE,
	"15074-8": measurement.TypeGLUCOSE,
}

// Blood pressure's component codes.
const (
	systolicCode  = "8480-6"
	diastolicCode = "8462-4"
)

// vitalSignType is the measurement an Observation is: one with the
// vital-signs category and a code above, or one with no category and such
// a code (glucose aside).
func vitalSignType(code CodeableConcept, cats []string) (measurement.Type, bool) {
	vital := slices.Contains(cats, "vital-signs")
	if !vital && len(cats) > 0 {
		return "", false
	}
	for _, c := range code.Coding {
		if c.System != loinc {
			continue
		}
		if t, ok := vitalSigns[c.Code]; ok && (vital || t != measurement.TypeGLUCOSE) {
			return t, true
		}
	}
	return "", false
}

// storeVitalSign stores a vital sign as a measurement, converted to the
// unit the portal charts it in.
func storeVitalSign(r *run, it *item, o *observationResource, typ measurement.Type, system, value string) (*stored, error) {
	patientID, err := r.patient(o.Subject)
	if err != nil {
		return nil, err
	}
	at, err := needTime(o.effective(), "Observation.effective[x]")
	if err != nil {
		return nil, err
	}
	in := tracking.ExternalReading{
		Patient: patientID, Organisation: r.org.ID, ExternalSystem: system, ExternalValue: value,
		Type: typ, MeasuredAt: at, Unit: measurementUnits[typ],
		Category: labelOr(it, category.General, o.Code), AssignedCategory: assigned(it, o.Code),
		Now: r.now,
	}
	if typ == measurement.TypeBLOOD_PRESSURE {
		var sys, dia *float64
		for _, c := range o.Component {
			v, ok := vitalValue(typ, c.ValueQuantity)
			switch {
			case !ok:
			case c.Code.has(loinc, systolicCode):
				sys = &v
			case c.Code.has(loinc, diastolicCode):
				dia = &v
			}
		}
		if sys == nil || dia == nil {
			return nil, skip("the blood pressure has no systolic or no diastolic value in mm[Hg]")
		}
		in.Value, in.Value2 = *sys, dia
	} else {
		v, ok := vitalValue(typ, o.ValueQuantity)
		if !ok {
			return nil, skip("the %s has no value in a unit the portal converts", strings.ToLower(string(typ)))
		}
		in.Value = v
	}
	id, ch, err := tracking.PutExternalReading(r.ctx, r.tx, in)
	switch {
	case errors.Is(err, tracking.ErrImplausible):
		return nil, skip("the %s is not one the portal charts: %s", strings.ToLower(string(typ)),
			strings.TrimPrefix(err.Error(), tracking.ErrImplausible.Error()+": "))
	case errors.Is(err, tracking.ErrOccupied):
		return nil, skip("another %s reading is stored for the same time", strings.ToLower(string(typ)))
	case errors.Is(err, tracking.ErrOtherPatient):
		return nil, refuse("the Observation's identifier was sent before for another patient")
	case err != nil:
		return nil, err
	}
	if err := r.linked(patientID); err != nil {
		return nil, err
	}
	res := &stored{Type: "Observation", ID: id, change: unchanged}
	switch ch {
	case tracking.ExternalCreated:
		res.change = created
	case tracking.ExternalUpdated:
		res.change = updated
	}
	return res, nil
}

// measurementUnits are the units the portal charts each type in (those
// the patient's own readings take).
var measurementUnits = map[measurement.Type]string{
	measurement.TypeGLUCOSE:          "mmol/L",
	measurement.TypeHEART_RATE:       "/min",
	measurement.TypeWEIGHT:           "kg",
	measurement.TypeHEIGHT:           "cm",
	measurement.TypeBMI:              "kg/m2",
	measurement.TypeBLOOD_PRESSURE:   "mmHg",
	measurement.TypeSPO2:             "%",
	measurement.TypeTEMPERATURE:      "Cel",
	measurement.TypeRESPIRATORY_RATE: "/min",
}

// unitFactors convert a quantity to the type's unit: value × factor.
var unitFactors = map[measurement.Type]map[string]float64{
	measurement.TypeWEIGHT:         {"kg": 1, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237},
	measurement.TypeHEIGHT:         {"cm": 1, "m": 100, "mm": 0.1, "[in_i]": 2.54, "in": 2.54},
	measurement.TypeGLUCOSE:        {"mmol/L": 1, "mmol/l": 1, "mg/dL": 1 / 18.0, "mg/dl": 1 / 18.0},
	measurement.TypeBMI:            {"kg/m2": 1, "kg/m^2": 1, "kg/m²": 1},
	measurement.TypeSPO2:           {"%": 1},
	measurement.TypeBLOOD_PRESSURE: {"mm[Hg]": 1, "mmHg": 1, "mm Hg": 1},
	measurement.TypeHEART_RATE: {"/min": 1, "{beats}/min": 1, "{Beats}/min": 1, "beats/min": 1,
		"beats/minute": 1, "bpm": 1},
	measurement.TypeRESPIRATORY_RATE: {"/min": 1, "{breaths}/min": 1, "{Breaths}/min": 1, "breaths/min": 1,
		"breaths/minute": 1},
	measurement.TypeTEMPERATURE: {"Cel": 1, "°C": 1, "degC": 1, "C": 1},
}

// vitalValue is a quantity in the type's unit. Converted values keep two
// decimals; a quantity without a unit is taken to be in the type's.
func vitalValue(typ measurement.Type, q *Quantity) (float64, bool) {
	if q == nil || q.Value == nil || q.Comparator != "" {
		return 0, false
	}
	v := *q.Value
	unit := ""
	if u := quantityUnit(q); u != nil {
		unit = *u
	}
	if unit == "" {
		return v, true
	}
	if typ == measurement.TypeTEMPERATURE && (unit == "[degF]" || unit == "°F" || unit == "degF" || unit == "F") {
		return math.Round((v-32)*5/9*100) / 100, true
	}
	f, ok := unitFactors[typ][unit]
	if !ok {
		return 0, false
	}
	if f == 1 {
		return v, true
	}
	return math.Round(v*f*100) / 100, true
}

// takenAndReported are when a result was taken (its effective time) and
// reported (issued). Either stands in for the other when it is missing
// (the HL7 examples have reports with only an issued time); a result with
// neither is refused.
func takenAndReported(effective, issued, typ string) (taken, reported time.Time, err error) {
	taken, okTaken := parseTime(effective)
	reported, okReported := parseTime(issued)
	switch {
	case okTaken && okReported:
	case okTaken:
		reported = taken
	case okReported:
		taken = reported
	default:
		return taken, reported, refuse("%s.effective[x] is missing or not a FHIR dateTime, and so is %s.issued", typ, typ)
	}
	return taken, reported, nil
}

// releaseAtURL is the extension that says when a result is released.
const releaseAtURL = "https://fhir.patientportal.example/StructureDefinition/release-at"

// releaseTime is when a result is released to the patient: the release-at
// extension, else its report time plus the organisation's delay.
func releaseTime(r *run, exts []Extension, reported time.Time) (time.Time, error) {
	for _, e := range exts {
		if e.URL != releaseAtURL {
			continue
		}
		t, ok := parseTime(e.ValueDateTime)
		if !ok {
			return time.Time{}, refuse("the release-at extension has no valueDateTime")
		}
		return t, nil
	}
	return reported.Add(time.Duration(r.org.ResultReleaseDelayHours) * time.Hour), nil
}

// resultStatus maps a report's or an Observation's status.
func resultStatus(s, element string) (result.Status, error) {
	switch s {
	case "registered", "partial", "preliminary":
		return result.StatusPRELIMINARY, nil
	case "final":
		return result.StatusFINAL, nil
	case "amended", "corrected", "appended":
		return result.StatusAMENDED, nil
	case "":
		return "", refuse("%s is missing", element)
	case "unknown":
		return "", skip("%s is unknown", element)
	}
	return "", refuse("%s is not a FHIR status", element)
}

// labelSource is an item carrying the meta.security of all of items, so
// that one labelled member labels the record they make up.
func labelSource(items ...*item) *item {
	var sec []Coding
	for _, x := range items {
		if x.head.Meta != nil {
			sec = append(sec, x.head.Meta.Security...)
		}
	}
	return &item{head: Head{Meta: &Meta{Security: sec}}}
}
