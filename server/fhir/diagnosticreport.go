package fhir

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/notify"
)

func init() { mappers["DiagnosticReport"] = storeDiagnosticReport }

// A DiagnosticReport becomes a result whose components are the
// Observations of the request it lists, or, when it is a clinical note,
// a letter.

// reportResource is what the portal reads of a DiagnosticReport.
type reportResource struct {
	Status            string            `json:"status"`
	Category          []CodeableConcept `json:"category,omitempty"`
	Code              CodeableConcept   `json:"code"`
	Subject           *Reference        `json:"subject,omitempty"`
	EffectiveDateTime string            `json:"effectiveDateTime,omitempty"`
	EffectivePeriod   *Period           `json:"effectivePeriod,omitempty"`
	Issued            string            `json:"issued,omitempty"`
	Performer         []Reference       `json:"performer,omitempty"`
	Result            []Reference       `json:"result,omitempty"`
	Conclusion        string            `json:"conclusion,omitempty"`
	PresentedForm     []Attachment      `json:"presentedForm,omitempty"`
	Extension         []Extension       `json:"extension,omitempty"`
}

// noteCodes are the LOINC codes of reports that are clinical notes:
// history and physical, clinical note, progress note, discharge summary.
var noteCodes = []string{"34117-2", "51847-2", "11506-3", "18842-5"}

// isNote reports whether the report is a note to keep as a letter: a note
// code, or a presented form with no results.
func (d *reportResource) isNote() bool {
	for _, c := range noteCodes {
		if d.Code.has(loinc, c) {
			return true
		}
	}
	return len(d.PresentedForm) > 0 && len(d.Result) == 0
}

// effective is when the specimen was taken or the report made.
func (d *reportResource) effective() string {
	if d.EffectiveDateTime != "" || d.EffectivePeriod == nil {
		return d.EffectiveDateTime
	}
	return d.EffectivePeriod.Start
}

// storeDiagnosticReport stores a report as a result, taking in the
// Observations of this request it lists so that they are not stored again
// on their own.
func storeDiagnosticReport(r *run, it *item) (*stored, error) {
	var d reportResource
	if err := json.Unmarshal(it.raw, &d); err != nil {
		return nil, refuse("the DiagnosticReport is not valid FHIR JSON")
	}
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	if d.isNote() {
		return storeReportNote(r, it, &d)
	}
	switch d.Status {
	case "cancelled":
		// Its Observations are not results either.
		r.takeMembers(it, d.Result).skipAll(it)
		return nil, skip("the DiagnosticReport was cancelled")
	case "entered-in-error":
		id, found, err := removeResult(r, system, value)
		if err != nil {
			return nil, err
		}
		members := r.takeMembers(it, d.Result)
		if !found {
			members.skipAll(it)
			return nil, skip("the DiagnosticReport was entered in error and is not in the portal")
		}
		// Its Observations went with it.
		members.markDone(it, "", deleted, nil, "")
		return &stored{Type: "DiagnosticReport", ID: id, change: deleted}, nil
	}
	status, err := resultStatus(d.Status, "DiagnosticReport.status")
	if err == nil {
		err = r.excluded(append(slices.Clone(d.Category), d.Code)...)
	}
	if isSkip(err) {
		// What the report keeps out, its Observations do not let in.
		r.takeMembers(it, d.Result).skipAll(it)
	}
	if err != nil {
		return nil, err
	}
	name := oneLine(d.Code.text())
	if name == "" {
		return nil, refuse("DiagnosticReport.code has no text, display or code")
	}
	patientID, err := r.patient(d.Subject)
	if err != nil {
		return nil, err
	}
	taken, reported, err := takenAndReported(d.effective(), d.Issued, "DiagnosticReport")
	if err != nil {
		return nil, err
	}
	lab, err := r.name(firstRef(d.Performer))
	if err != nil {
		return nil, err
	}
	release, err := releaseTime(r, d.Extension, reported)
	if err != nil {
		return nil, err
	}
	members := r.takeMembers(it, d.Result)
	concepts := []CodeableConcept{d.Code}
	for _, p := range members.parts {
		concepts = append(concepts, p.concepts...)
	}
	from := labelSource(append([]*item{it}, members.items()...)...)
	in := resultInput{
		patient: patientID, system: system, value: value,
		name: name, code: optionalLine(d.Code.code(loinc, snomed)), status: status,
		takenAt: taken, reportedAt: reported, releaseAt: release,
		conclusion: nonBlank(d.Conclusion), lab: optionalLine(lab),
		category: labelOr(from, category.General, concepts...), assigned: assigned(from, concepts...),
		parts: members.parts,
	}
	id, ch, partIDs, err := putResult(r, in)
	if err != nil {
		return nil, err
	}
	members.markDone(it, id, ch, partIDs, "stored as part of a DiagnosticReport")
	res := &stored{Type: "DiagnosticReport", ID: id, change: ch}
	var notes []string
	if members.absent > 0 {
		notes = append(notes, fmt.Sprintf("%d of its results are not Observations of this request and are not shown", members.absent))
	}
	if members.elsewhere > 0 {
		notes = append(notes, fmt.Sprintf("%d of its results were stored with another report", members.elsewhere))
	}
	res.note = strings.Join(notes, "; ")
	return res, nil
}

// storeReportNote keeps a clinical note as a letter.
func storeReportNote(r *run, it *item, d *reportResource) (*stored, error) {
	switch d.Status {
	case "cancelled":
		return nil, skip("the DiagnosticReport was cancelled")
	case "entered-in-error":
		return removeLetter(r, it)
	case "":
		return nil, refuse("DiagnosticReport.status is missing")
	}
	if err := r.excluded(append(slices.Clone(d.Category), d.Code)...); err != nil {
		return nil, err
	}
	patientID, err := r.patient(d.Subject)
	if err != nil {
		return nil, err
	}
	title := d.Code.text()
	if title == "" {
		return nil, refuse("DiagnosticReport.code has no text, display or code")
	}
	author, err := r.name(firstRef(d.Performer))
	if err != nil {
		return nil, err
	}
	when := d.Issued
	if _, ok := parseTime(when); !ok {
		when = d.effective()
	}
	sent, err := needTime(when, "DiagnosticReport.issued")
	if err != nil {
		return nil, err
	}
	in := letterInput{Patient: patientID, Title: title, Author: author, SentAt: sent}
	for i, a := range d.PresentedForm {
		mediaType, _, _ := strings.Cut(a.ContentType, ";")
		mediaType = strings.ToLower(strings.TrimSpace(mediaType))
		switch {
		case mediaType == "application/pdf" && in.Document == nil:
			doc := a
			in.Document = &doc
		case (mediaType == "text/plain" && in.Text == nil || mediaType == "text/html" && in.HTML == nil) && a.Data != "":
			data, err := base64.StdEncoding.DecodeString(a.Data)
			if err != nil {
				return nil, refuse("DiagnosticReport.presentedForm[%d].data is not base64", i)
			}
			text := string(data)
			if mediaType == "text/plain" {
				in.Text = &text
			} else {
				in.HTML = &text
			}
		}
	}
	return storeLetter(r, it, in)
}

// memberSet is what a report or a group took in of the Observations it
// lists.
type memberSet struct {
	parts []resultPart
	taken []takenMember
	// absent counts references to Observations not in this request;
	// elsewhere those another report of the request took first.
	absent, elsewhere int
}

// takenMember is an Observation taken in: part is its component's index
// in parts, or -1 for a group whose members are the components.
type takenMember struct {
	it   *item
	part int
}

func (m *memberSet) items() []*item {
	out := make([]*item, len(m.taken))
	for i, t := range m.taken {
		out[i] = t.it
	}
	return out
}

// available reports whether a report may take the item in: not stored,
// or being stored right now, which is the member that asked for its group
// to be stored first.
func available(it *item) bool {
	return !it.done || it.result == nil && it.err == nil && it.within == nil
}

// takeMembers reads the Observations of this request that refs name, and
// the members of those that are groups, as components. An Observation
// that cannot be one (no code, no value, cancelled or entered in error) is
// left to be stored, or refused, on its own.
func (r *run) takeMembers(owner *item, refs []Reference) *memberSet {
	m := &memberSet{}
	seen := map[*item]bool{owner: true}
	var walk func(refs []Reference, top bool)
	walk = func(refs []Reference, top bool) {
		for _, ref := range refs {
			t, ok := r.parseReference(ref, "Observation")
			switch {
			case !ok || t.item == nil || t.item.head.ResourceType != "Observation":
				if top {
					m.absent++
				}
				continue
			case seen[t.item]:
				continue
			case !available(t.item):
				if t.item.within != nil && t.item.within != owner {
					m.elsewhere++
				}
				continue
			}
			seen[t.item] = true
			o, err := decodeObservation(t.item)
			if err != nil || o.Status == "cancelled" || o.Status == "entered-in-error" {
				continue
			}
			first := len(m.parts)
			if p, ok := newPart(o.Code, o.observationValue); ok {
				m.parts = append(m.parts, p)
			}
			for _, c := range o.Component {
				if p, ok := newPart(c.Code, c.observationValue); ok {
					m.parts = append(m.parts, p)
				}
			}
			own := len(m.parts) > first
			if own {
				// The Observation's first component carries its identity,
				// so that sending it again alone finds it.
				if system, value, err := source(t.item); err == nil {
					m.parts[first].extSystem, m.parts[first].extValue = &system, &value
				}
			}
			before := len(m.taken)
			walk(o.HasMember, false)
			switch {
			case own:
				m.taken = append(m.taken, takenMember{it: t.item, part: first})
			case len(m.taken) > before:
				m.taken = append(m.taken, takenMember{it: t.item, part: -1})
			}
		}
	}
	walk(refs, true)
	return m
}

// markDone records the members as stored with the record within made of
// them, so that the importer does not store them again. partIDs are the
// components' IDs in the order of m.parts.
func (m *memberSet) markDone(within *item, resultID pulid.ID, ch change, partIDs []pulid.ID, note string) {
	for _, t := range m.taken {
		id := resultID
		if t.part >= 0 && t.part < len(partIDs) {
			id = partIDs[t.part]
		}
		if ch == deleted {
			id = ""
		}
		t.it.done, t.it.err, t.it.within, t.it.target = true, nil, within, id
		t.it.result = &stored{Type: "Observation", ID: id, change: ch, note: note}
	}
}

// skipAll records that the members belong to a report that is not
// stored, so that their own mapping skips them too. They stay to be
// stored (as skipped): the importer takes an item done with an error as
// a failure.
func (m *memberSet) skipAll(within *item) {
	for _, t := range m.taken {
		if !t.it.done || available(t.it) {
			t.it.within = within
		}
	}
}

// resultInput is a result on its way in.
type resultInput struct {
	patient                        pulid.ID
	system, value                  string
	name                           string
	code                           *string
	status                         result.Status
	takenAt, reportedAt, releaseAt time.Time
	conclusion, lab                *string
	category                       category.Category
	assigned                       *category.Category
	parts                          []resultPart
}

// putResult stores a result and its components by its identity at the
// source: created and announced (now, or at its release time), updated
// with its components replaced, or left alone when nothing changed. It
// returns the components' IDs in the order of in.parts.
func putResult(r *run, in resultInput) (pulid.ID, change, []pulid.ID, error) {
	in.takenAt = in.takenAt.UTC().Truncate(time.Microsecond)
	in.reportedAt = in.reportedAt.UTC().Truncate(time.Microsecond)
	in.releaseAt = in.releaseAt.UTC().Truncate(time.Microsecond)
	old, err := r.tx.Result.Query().Where(result.SourceOrganisationID(r.org.ID),
		result.ExternalSystem(in.system), result.ExternalValue(in.value)).
		WithComponents().Only(r.ctx)
	if ent.IsNotFound(err) {
		return createResult(r, in)
	}
	if err != nil {
		return "", 0, nil, err
	}
	if old.PatientID != in.patient {
		return "", 0, nil, samePatient(old.PatientID, in.patient)
	}
	if err := r.linked(in.patient); err != nil {
		return "", 0, nil, err
	}
	if sameResult(old, in) {
		byKey := map[string][]pulid.ID{}
		for _, c := range old.Edges.Components {
			byKey[componentKey(c)] = append(byKey[componentKey(c)], c.ID)
		}
		ids := make([]pulid.ID, len(in.parts))
		for i, p := range in.parts {
			k := partKey(p)
			ids[i], byKey[k] = byKey[k][0], byKey[k][1:]
		}
		return old.ID, unchanged, ids, nil
	}
	up := r.tx.Result.UpdateOneID(old.ID).
		SetName(in.name).SetStatus(in.status).SetTakenAt(in.takenAt).SetReportedAt(in.reportedAt).
		SetReleaseAt(in.releaseAt).SetCategory(in.category)
	if in.code != nil {
		up.SetCode(*in.code)
	} else {
		up.ClearCode()
	}
	if in.conclusion != nil {
		up.SetConclusion(*in.conclusion)
	} else {
		up.ClearConclusion()
	}
	if in.lab != nil {
		up.SetPerformingLaboratory(*in.lab)
	} else {
		up.ClearPerformingLaboratory()
	}
	if in.assigned != nil {
		up.SetAssignedCategory(*in.assigned)
	} else {
		up.ClearAssignedCategory()
	}
	res, err := up.Save(r.ctx)
	if err != nil {
		return "", 0, nil, err
	}
	if old.Category != in.category {
		if err := relabelNotes(r, old.ID, in.category); err != nil {
			return "", 0, nil, err
		}
	}
	// Not announced yet: announce it at its new release time instead.
	if old.NotifyAt != nil && res.VisibleFrom != nil && !res.VisibleFrom.Equal(*old.NotifyAt) {
		if err := r.tx.Result.UpdateOneID(res.ID).SetNotifyAt(*res.VisibleFrom).Exec(r.ctx); err != nil {
			return "", 0, nil, err
		}
	}
	if _, err := r.tx.ResultComponent.Delete().Where(resultcomponent.ResultID(old.ID)).Exec(r.ctx); err != nil {
		return "", 0, nil, err
	}
	ids, err := createParts(r, res, in.parts)
	if err != nil {
		return "", 0, nil, err
	}
	return res.ID, updated, ids, nil
}

// createResult stores a new result and tells its readers: now when its
// content is visible already, else at its release time.
func createResult(r *run, in resultInput) (pulid.ID, change, []pulid.ID, error) {
	res, err := r.tx.Result.Create().
		SetPatientID(in.patient).
		SetCategory(in.category).
		SetNillableAssignedCategory(in.assigned).
		SetSourceOrganisationID(r.org.ID).
		SetExternalSystem(in.system).
		SetExternalValue(in.value).
		SetName(in.name).
		SetNillableCode(in.code).
		SetStatus(in.status).
		SetTakenAt(in.takenAt).
		SetReportedAt(in.reportedAt).
		SetReleaseAt(in.releaseAt).
		SetNillableConclusion(in.conclusion).
		SetNillablePerformingLaboratory(in.lab).
		Save(r.ctx)
	if err != nil {
		return "", 0, nil, err
	}
	ids, err := createParts(r, res, in.parts)
	if err != nil {
		return "", 0, nil, err
	}
	if err := r.linked(in.patient); err != nil {
		return "", 0, nil, err
	}
	switch {
	case res.VisibleFrom == nil:
	case res.VisibleFrom.After(r.now):
		if err := r.tx.Result.UpdateOneID(res.ID).SetNotifyAt(*res.VisibleFrom).Exec(r.ctx); err != nil {
			return "", 0, nil, err
		}
	default:
		n := notify.Note{Kind: notification.KindRESULT_RELEASED, Patient: in.patient, Category: res.Category, Subject: &res.ID}
		if err := notify.Record(r.ctx, r.tx, n, r.now); err != nil {
			return "", 0, nil, err
		}
	}
	return res.ID, created, ids, nil
}

// createParts writes a result's components, with its patient and label.
// An Observation stored before on its own, or in another result, moves
// into this one.
func createParts(r *run, res *ent.Result, parts []resultPart) ([]pulid.ID, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	for _, p := range parts {
		if p.extSystem == nil {
			continue
		}
		if _, err := r.tx.ResultComponent.Delete().Where(
			resultcomponent.SourceOrganisationID(r.org.ID),
			resultcomponent.ExternalSystem(*p.extSystem), resultcomponent.ExternalValue(*p.extValue)).
			Exec(r.ctx); err != nil {
			return nil, err
		}
		alone, err := r.tx.Result.Query().Where(result.SourceOrganisationID(r.org.ID),
			result.ExternalSystem(*p.extSystem), result.ExternalValue(*p.extValue), result.IDNEQ(res.ID)).
			Only(r.ctx)
		switch {
		case err == nil && alone.PatientID == res.PatientID:
			if _, _, err := removeResult(r, *p.extSystem, *p.extValue); err != nil {
				return nil, err
			}
		case err != nil && !ent.IsNotFound(err):
			return nil, err
		}
	}
	cs, err := r.tx.ResultComponent.MapCreateBulk(parts, func(c *ent.ResultComponentCreate, i int) {
		p := parts[i]
		c.SetResultID(res.ID).
			SetPatientID(res.PatientID).
			SetCategory(res.Category).
			SetNillableAssignedCategory(res.AssignedCategory).
			SetSourceOrganisationID(r.org.ID).
			SetNillableExternalSystem(p.extSystem).
			SetNillableExternalValue(p.extValue).
			SetName(p.name).
			SetNillableCode(p.code).
			SetNillableValueNumeric(p.valueNumeric).
			SetNillableValueText(p.valueText).
			SetNillableComparator(p.comparator).
			SetNillableUnit(p.unit).
			SetNillableReferenceLow(p.low).
			SetNillableReferenceHigh(p.high).
			SetNillableReferenceText(p.referenceText).
			SetNillableFlag(p.flag)
	}).Save(r.ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]pulid.ID, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids, nil
}

// setPart sets a stored component's content to p's.
func setPart(m *ent.ResultComponentMutation, p resultPart) {
	m.SetName(p.name)
	setOrClearPart(p.code, m.SetCode, m.ClearCode)
	setOrClearPart(p.valueNumeric, m.SetValueNumeric, m.ClearValueNumeric)
	setOrClearPart(p.valueText, m.SetValueText, m.ClearValueText)
	setOrClearPart(p.comparator, m.SetComparator, m.ClearComparator)
	setOrClearPart(p.unit, m.SetUnit, m.ClearUnit)
	setOrClearPart(p.low, m.SetReferenceLow, m.ClearReferenceLow)
	setOrClearPart(p.high, m.SetReferenceHigh, m.ClearReferenceHigh)
	setOrClearPart(p.referenceText, m.SetReferenceText, m.ClearReferenceText)
	setOrClearPart(p.flag, m.SetFlag, m.ClearFlag)
	setOrClearPart(p.extSystem, m.SetExternalSystem, m.ClearExternalSystem)
	setOrClearPart(p.extValue, m.SetExternalValue, m.ClearExternalValue)
}

func setOrClearPart[T any](v *T, set func(T), clear func()) {
	if v != nil {
		set(*v)
	} else {
		clear()
	}
}

// removeResult deletes the result the organisation sent under an
// identifier, with its components.
func removeResult(r *run, system, value string) (pulid.ID, bool, error) {
	old, err := r.tx.Result.Query().Where(result.SourceOrganisationID(r.org.ID),
		result.ExternalSystem(system), result.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if _, err := r.tx.ResultComponent.Delete().Where(resultcomponent.ResultID(old.ID)).Exec(r.ctx); err != nil {
		return "", false, err
	}
	if err := forgetNotes(r, old.ID); err != nil {
		return "", false, err
	}
	if err := r.tx.Result.DeleteOne(old).Exec(r.ctx); err != nil {
		return "", false, err
	}
	return old.ID, true, nil
}

// sameResult reports whether the stored result already says what in says,
// components included.
func sameResult(old *ent.Result, in resultInput) bool {
	same := old.Name == in.name && equalPtr(old.Code, in.code) && old.Status == in.status &&
		old.TakenAt.Equal(in.takenAt) && old.ReportedAt.Equal(in.reportedAt) &&
		old.ReleaseAt != nil && old.ReleaseAt.Equal(in.releaseAt) &&
		equalPtr(old.Conclusion, in.conclusion) && equalPtr(old.PerformingLaboratory, in.lab) &&
		old.Category == in.category && equalPtr(old.AssignedCategory, in.assigned)
	if !same || len(old.Edges.Components) != len(in.parts) {
		return false
	}
	stored := make([]string, len(old.Edges.Components))
	for i, c := range old.Edges.Components {
		if c.Category != in.category || !equalPtr(c.AssignedCategory, in.assigned) {
			return false
		}
		stored[i] = componentKey(c)
	}
	sent := make([]string, len(in.parts))
	for i, p := range in.parts {
		sent[i] = partKey(p)
	}
	slices.Sort(stored)
	slices.Sort(sent)
	return slices.Equal(stored, sent)
}

// partKey and componentKey say everything a component holds, so that a
// sent one and a stored one compare.
func partKey(p resultPart) string {
	return contentKey(p.name, p.code, p.valueNumeric, p.valueText, p.unit, p.low, p.high,
		p.referenceText, p.extSystem, p.extValue, str(p.comparator), str(p.flag))
}

func componentKey(c *ent.ResultComponent) string {
	return contentKey(c.Name, c.Code, c.ValueNumeric, c.ValueText, c.Unit, c.ReferenceLow, c.ReferenceHigh,
		c.ReferenceText, c.ExternalSystem, c.ExternalValue, str(c.Comparator), str(c.Flag))
}

func contentKey(name string, code *string, num *float64, text, unit *string, low, high *float64,
	refText, extSystem, extValue, comparator, flag *string) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(name))
	for _, s := range []*string{code, text, unit, refText, extSystem, extValue, comparator, flag} {
		b.WriteByte('|')
		if s != nil {
			b.WriteString(strconv.Quote(*s))
		}
	}
	for _, f := range []*float64{num, low, high} {
		b.WriteByte('|')
		if f != nil {
			b.WriteString(strconv.FormatFloat(*f, 'g', -1, 64))
		}
	}
	return b.String()
}

// str is an optional enum as an optional string.
func str[T ~string](v *T) *string {
	if v == nil {
		return nil
	}
	s := string(*v)
	return &s
}
