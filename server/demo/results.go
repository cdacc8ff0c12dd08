package demo

import (
	"context"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
)

// component is one value of a demo result: numeric with a reference range,
// or text.
type component struct {
	name, code, unit string
	value, low, high float64
	text             string
}

// demoResult is a test with its components.
type demoResult struct {
	origin
	name, code, lab, conclusion string
	taken, reported             time.Time
	// releaseAt is when a held-back result is released; releasedAt when it
	// was. Both zero would mean never released.
	releaseAt, releasedAt time.Time
	components            []component
}

// labResults are the patient's tests: a released full blood count with an
// abnormal value, an HbA1c still held back until its release time, and a
// sexual health screen.
func (l *loader) labResults() []demoResult {
	return []demoResult{
		{
			origin: from(firstTrust, category.General),
			name:   "Full blood count", code: "58410-2", lab: "Northbridge Pathology",
			conclusion: "Mild microcytic anaemia. Suggest checking ferritin.",
			taken:      l.day(-10, 9, 15), reported: l.day(-10, 14, 40), releasedAt: l.day(-9, 9, 0),
			components: []component{
				{name: "Haemoglobin", code: "718-7", unit: "g/L", value: 109, low: 115, high: 165},
				{name: "White cell count", code: "6690-2", unit: "10*9/L", value: 6.8, low: 4.0, high: 11.0},
				{name: "Platelets", code: "777-3", unit: "10*9/L", value: 262, low: 150, high: 400},
				{name: "Red cell count", code: "789-8", unit: "10*12/L", value: 4.05, low: 3.8, high: 5.8},
				{name: "Haematocrit", code: "4544-3", unit: "L/L", value: 0.37, low: 0.37, high: 0.47},
				{name: "Mean cell volume (MCV)", code: "787-2", unit: "fL", value: 78, low: 80, high: 100},
				{name: "Neutrophils", code: "751-8", unit: "10*9/L", value: 4.1, low: 2.0, high: 7.5},
				{name: "Lymphocytes", code: "731-0", unit: "10*9/L", value: 1.9, low: 1.0, high: 4.0},
			},
		},
		{
			origin: from(firstTrust, category.General),
			name:   "HbA1c", code: "59261-8", lab: "Northbridge Pathology",
			taken: l.day(-1, 8, 50), reported: l.ago(3 * time.Hour), releaseAt: l.day(6, 9, 0),
			components: []component{
				{name: "HbA1c (IFCC)", code: "59261-8", unit: "mmol/mol", value: 58, low: 20, high: 41},
			},
		},
		{
			origin: from(secondTrust, category.SexualHealth),
			name:   "Chlamydia and gonorrhoea NAAT", lab: "Fenwick Microbiology",
			taken: l.day(-21, 10, 20), reported: l.day(-18, 11, 0), releasedAt: l.day(-18, 16, 30),
			components: []component{
				{name: "Chlamydia trachomatis", code: "21613-5", text: "Not detected"},
				{name: "Neisseria gonorrhoeae", code: "24111-7", text: "Not detected"},
			},
		},
	}
}

// results writes the results and their components; each component carries
// the patient, labels and source of its result, so that the same row filter
// applies to it.
func (l *loader) results(ctx context.Context) error {
	for _, r := range l.labResults() {
		saved, err := record(l, l.tx.Result.Create(), r.origin).
			SetName(r.name).SetNillableCode(opt(r.code)).SetStatus(result.StatusFINAL).
			SetTakenAt(r.taken).SetReportedAt(r.reported).
			SetNillableReleaseAt(optTime(r.releaseAt)).SetNillableReleasedAt(optTime(r.releasedAt)).
			SetNillableConclusion(opt(r.conclusion)).SetPerformingLaboratory(r.lab).
			Save(ctx)
		if err != nil {
			return err
		}
		err = l.tx.ResultComponent.MapCreateBulk(r.components, func(c *ent.ResultComponentCreate, i int) {
			setComponent(record(l, c, r.origin).SetResultID(saved.ID), r.components[i])
		}).Exec(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// setComponent sets the value of one component: a text value, or a number
// with its reference range and the flag that range gives it.
func setComponent(c *ent.ResultComponentCreate, v component) {
	c.SetName(v.name).SetNillableCode(opt(v.code))
	if v.text != "" {
		c.SetValueText(v.text)
		return
	}
	c.SetValueNumeric(v.value).SetUnit(v.unit).
		SetReferenceLow(v.low).SetReferenceHigh(v.high).SetFlag(flag(v.value, v.low, v.high))
}

// flag is the abnormal flag of value against its reference range.
func flag(value, low, high float64) resultcomponent.Flag {
	switch {
	case value < low:
		return resultcomponent.FlagLOW
	case value > high:
		return resultcomponent.FlagHIGH
	default:
		return resultcomponent.FlagNORMAL
	}
}
