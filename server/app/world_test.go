package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/account"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/ent/share"
)

// This file holds the fixture builders the visibility and property tests
// share. Every row is written directly with the Ent client as the service
// itself, so the tests depend on no mutation but the sign-in.

// recordTypes are the GraphQL types of the items of a patient record, in
// a fixed order.
var recordTypes = []string{
	"Appointment", "Allergy", "Result", "ResultComponent", "Encounter",
	"Letter", "Measurement", "Symptom", "JournalEntry", "CareResource",
}

// connectionOf names the connection on Patient that lists a type; a
// ResultComponent has none (it is reached through its result).
var connectionOf = map[string]string{
	"Appointment":  "appointments",
	"Allergy":      "allergies",
	"Result":       "results",
	"Encounter":    "encounters",
	"Letter":       "letters",
	"Measurement":  "measurements",
	"Symptom":      "symptoms",
	"JournalEntry": "journalEntries",
	"CareResource": "careResources",
}

// releaseState is the state of a result's content (and its components').
type releaseState int

const (
	// relReleased: visible_from is in the past (every item that is not a
	// result counts as released).
	relReleased releaseState = iota
	// relHeld: not yet released (visible_from null or in the future).
	relHeld
	// relNever: never released to the patient.
	relNever
)

func (r releaseState) String() string {
	return [...]string{"released", "held", "never released"}[r]
}

// recItem is one clinical or patient-recorded item as the tests know it.
type recItem struct {
	Type     string
	ID       pulid.ID
	Patient  pulid.ID
	Category category.Category
	// Source is the organisation that produced it; nil for what the
	// patient recorded.
	Source *pulid.ID
	// Release is a result's or component's release state.
	Release releaseState
	// UnseenED marks an emergency attendance whose patient has not been
	// seen yet.
	UnseenED bool
	// Parent is a component's result.
	Parent pulid.ID
	// Protected holds the values of the fields @sensitive can hide, by
	// GraphQL name, as normalised by fieldValue.
	Protected map[string]string
}

func (it recItem) String() string {
	src := "patient-recorded"
	if it.Source != nil {
		src = "from " + string(*it.Source)
	}
	s := fmt.Sprintf("%s %s (%s, %s", it.Type, it.ID, it.Category, src)
	if it.Type == "Result" || it.Type == "ResultComponent" {
		s += ", " + it.Release.String()
	}
	if it.UnseenED {
		s += ", ED not yet seen"
	}
	return s + ")"
}

// worldBuilder writes fixture rows as the service itself (access.SystemContext).
type worldBuilder struct {
	t      testing.TB
	ctx    context.Context
	client *ent.Client
	now    time.Time
	seq    int
}

func newBuilder(t testing.TB, client *ent.Client, now time.Time) *worldBuilder {
	return &worldBuilder{t: t, ctx: access.SystemContext(context.Background()), client: client, now: now.UTC()}
}

func (b *worldBuilder) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// next returns a number unique within the builder.
func (b *worldBuilder) next() int {
	b.seq++
	return b.seq
}

func (b *worldBuilder) organisation(ods, name string, kind organisation.Kind, emergencyCare bool) pulid.ID {
	b.t.Helper()
	o, err := b.client.Organisation.Create().SetOdsCode(ods).SetName(name).SetKind(kind).
		SetEmergencyCare(emergencyCare).Save(b.ctx)
	b.must(err)
	return o.ID
}

// account creates an account with the fixture password.
func (b *worldBuilder) account(email, name string) pulid.ID {
	b.t.Helper()
	a, err := b.client.Account.Create().SetEmail(email).SetDisplayName(name).
		SetPasswordHash(fixtureHash(b.t)).Save(b.ctx)
	b.must(err)
	return a.ID
}

func (b *worldBuilder) member(acc, org pulid.ID, role membership.Role) {
	b.t.Helper()
	b.must(b.client.Membership.Create().SetAccountID(acc).SetOrganisationID(org).SetRole(role).Exec(b.ctx))
}

// patient creates a record owned by owner (who is then verified to P9),
// linked to the organisations given, the first of which invited it.
func (b *worldBuilder) patient(owner pulid.ID, given string, linked ...pulid.ID) pulid.ID {
	b.t.Helper()
	b.must(b.client.Account.UpdateOneID(owner).SetIdentityLevel(account.IdentityLevelP9).Exec(b.ctx))
	c := b.client.Patient.Create().SetAccountID(owner).SetGivenName(given).SetFamilyName("Example").
		SetNhsNumber(nhsNumber(b.next())).SetDateOfBirth(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC))
	if len(linked) > 0 {
		c.SetInvitedByID(linked[0])
	}
	p, err := c.Save(b.ctx)
	b.must(err)
	for _, org := range linked {
		b.must(b.client.PatientOrganisation.Create().SetPatientID(p.ID).SetOrganisationID(org).Exec(b.ctx))
	}
	return p.ID
}

// shareSpec is how a share is set up.
type shareSpec struct {
	Account, Organisation              pulid.ID // one of the two
	Relationship                       share.Relationship
	MentalHealth, SexualHealth, Social bool
	AcceptedAt, ExpiresAt, RevokedAt   *time.Time
}

func (b *worldBuilder) share(patient pulid.ID, g shareSpec) pulid.ID {
	b.t.Helper()
	c := b.client.Share.Create().SetPatientID(patient).SetRelationship(g.Relationship).
		SetMentalHealth(g.MentalHealth).SetSexualHealth(g.SexualHealth).SetSocialCare(g.Social).
		SetNillableAcceptedAt(g.AcceptedAt).SetNillableExpiresAt(g.ExpiresAt).SetNillableRevokedAt(g.RevokedAt)
	if g.Account != "" {
		c.SetGranteeAccountID(g.Account)
	}
	if g.Organisation != "" {
		c.SetGranteeOrganisationID(g.Organisation)
	}
	s, err := c.Save(b.ctx)
	b.must(err)
	return s.ID
}

// breakGlass opens a 30-minute window that ends at expires.
func (b *worldBuilder) breakGlass(patient, acc, org pulid.ID, expires time.Time) {
	b.t.Helper()
	b.must(b.client.BreakGlass.Create().SetPatientID(patient).SetAccountID(acc).SetOrganisationID(org).
		SetReason("Unconscious in the emergency department").
		SetStartedAt(expires.Add(-30 * time.Minute)).SetExpiresAt(expires).Exec(b.ctx))
}

// when returns a distinct time in the past for an item's date fields.
func (b *worldBuilder) when() time.Time {
	return b.now.Add(-time.Duration(b.next()) * time.Hour)
}

// record creates one item of a type that is neither a result nor an
// encounter, with its assigned and effective category c. An Allergy with
// no source is recorded by the patient.
func (b *worldBuilder) record(typ string, patient pulid.ID, c category.Category, src *pulid.ID) recItem {
	b.t.Helper()
	at := b.when()
	it := recItem{Type: typ, Patient: patient, Category: c, Source: src}
	var err error
	switch typ {
	case "Appointment":
		var r *ent.Appointment
		r, err = b.client.Appointment.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetTitle("Clinic").SetStartsAt(at).Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	case "Allergy":
		by := allergy.RecordedByPATIENT
		if src != nil {
			by = allergy.RecordedByTRUST
		}
		var r *ent.Allergy
		r, err = b.client.Allergy.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetSubstance("Penicillin").SetRecordedBy(by).SetRecordedAt(at).Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	case "Letter":
		var r *ent.Letter
		r, err = b.client.Letter.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetTitle("Clinic letter").SetSentAt(at).Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	case "Measurement":
		var r *ent.Measurement
		r, err = b.client.Measurement.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetType(measurement.TypeHEART_RATE).SetMeasuredAt(at).
			SetValue(72).SetUnit("/min").Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	case "Symptom":
		var r *ent.Symptom
		r, err = b.client.Symptom.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetName("Low mood").SetSeverity(4).SetOccurredAt(at).Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	case "JournalEntry":
		var r *ent.JournalEntry
		r, err = b.client.JournalEntry.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetTitle("Today").SetBody("A day").SetWrittenAt(at).Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	case "CareResource":
		var r *ent.CareResource
		r, err = b.client.CareResource.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
			SetCategory(c).SetAssignedCategory(c).SetTitle("Leaflet").SetAssignedAt(at).Save(b.ctx)
		if r != nil {
			it.ID = r.ID
		}
	default:
		b.t.Fatalf("record: no worldBuilder for %s", typ)
	}
	b.must(err)
	return it
}

// result creates a result in the release state r with one component of
// the same category; it returns the result, then the component.
func (b *worldBuilder) result(patient pulid.ID, c category.Category, src *pulid.ID, r releaseState) []recItem {
	b.t.Helper()
	at := b.when()
	n := b.next()
	code, conclusion, lab := fmt.Sprintf("LOINC-%06d", n), fmt.Sprintf("conclusion-%06d", n), fmt.Sprintf("laboratory-%06d", n)
	cr := b.client.Result.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
		SetCategory(c).SetAssignedCategory(c).SetName("Full blood count").SetTakenAt(at).SetReportedAt(at).
		SetCode(code).SetConclusion(conclusion).SetPerformingLaboratory(lab)
	switch r {
	case relReleased:
		cr.SetReleasedAt(at).SetVisibleFrom(at)
	case relHeld:
		release := b.now.Add(7 * 24 * time.Hour)
		cr.SetReleaseAt(release).SetVisibleFrom(release)
	case relNever:
		cr.SetNeverRelease(true)
	}
	res, err := cr.Save(b.ctx)
	b.must(err)
	co, err := b.client.ResultComponent.Create().SetPatientID(patient).SetResultID(res.ID).
		SetNillableSourceOrganisationID(src).SetCategory(c).SetAssignedCategory(c).
		SetName("Haemoglobin").SetValueNumeric(131).SetUnit("g/L").Save(b.ctx)
	b.must(err)
	return []recItem{
		{Type: "Result", ID: res.ID, Patient: patient, Category: c, Source: src, Release: r,
			Protected: map[string]string{"code": code, "conclusion": conclusion, "performingLaboratory": lab,
				"components": string(co.ID)}},
		{Type: "ResultComponent", ID: co.ID, Patient: patient, Category: c, Source: src, Release: r, Parent: res.ID},
	}
}

// encounter creates an inpatient stay with category c, or, when unseen,
// an ED attendance not yet seen whose clinician assigned c: its effective
// category is GENERAL until the patient is seen.
func (b *worldBuilder) encounter(patient pulid.ID, c category.Category, src *pulid.ID, unseen bool) recItem {
	b.t.Helper()
	n := b.next()
	complaint, summary := fmt.Sprintf("complaint-%06d", n), fmt.Sprintf("summary-%06d", n)
	cr := b.client.Encounter.Create().SetPatientID(patient).SetNillableSourceOrganisationID(src).
		SetAssignedCategory(c).SetStartedAt(b.when()).SetSite("Royal Infirmary").
		SetPresentingComplaint(complaint).SetSummary(summary)
	effective := c
	if unseen {
		effective = category.General
		cr.SetKind(encounter.KindEMERGENCY).SetStatus(encounter.StatusARRIVED)
	} else {
		cr.SetKind(encounter.KindINPATIENT).SetStatus(encounter.StatusDISCHARGED)
	}
	en, err := cr.SetCategory(effective).Save(b.ctx)
	b.must(err)
	return recItem{Type: "Encounter", ID: en.ID, Patient: patient, Category: effective, Source: src, UnseenED: unseen,
		Protected: map[string]string{"presentingComplaint": complaint, "summary": summary}}
}

// nhsNumber returns a valid (Modulus 11) NHS number in the 999 test range.
func nhsNumber(n int) string {
	for ; ; n++ {
		s := fmt.Sprintf("999%06d", n%1000000)
		sum := 0
		for i := range 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check != 10 {
			return s + fmt.Sprint(check)
		}
	}
}

// missingLike returns a well-formed ID of the same type that names nothing.
func missingLike(id pulid.ID) pulid.ID { return pulid.New(id.Prefix()) }

// in returns a copy of e whose helpers report to t, for use in subtests.
func (e *testEnv) in(t testing.TB) *testEnv {
	c := *e
	c.t = t
	return &c
}

// fieldValue normalises a field's JSON value for comparison: null is
// "null", a string is itself, a list of objects with ids is the sorted ids
// joined by commas.
func fieldValue(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "unparseable " + string(raw)
	}
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case []any:
		var ids []string
		for _, o := range v {
			m, _ := o.(map[string]any)
			id, _ := m["id"].(string)
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return strings.Join(ids, ",")
	}
	return string(raw)
}

// connectionIDs decodes `patient { list: conn { totalCount edges { node { id } } } }`.
// A null patient is an empty list.
func connectionIDs(t testing.TB, res gqlResponse) (ids []string, total int) {
	t.Helper()
	if len(res.Data) == 0 || string(res.Data) == "null" {
		return nil, 0
	}
	var data struct {
		Patient *struct {
			List struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID string } }
			}
		}
	}
	res.decode(t, &data)
	if data.Patient == nil {
		return nil, 0
	}
	for _, e := range data.Patient.List.Edges {
		ids = append(ids, e.Node.ID)
	}
	slices.Sort(ids)
	return ids, data.Patient.List.TotalCount
}
