package research_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/research"
	"github.com/patientportal/portal/server/store/storetest"
)

// world is a research unit with a researcher, a trust with a clinician,
// and patients with records of every exported kind.
type world struct {
	t      *testing.T
	client *ent.Client
	svc    *research.Service
	now    time.Time
	unit   pulid.ID // a RESEARCH organisation
	trust  pulid.ID // a TRUST
	other  pulid.ID // another RESEARCH organisation
}

// fixtureText is the free text and the identifiers written into every
// fixture patient's record: none of it may appear in an export.
var fixtureText = []string{"Zebedee", "Quixote", "Haemoglobin", "Serum sodium", "Peanut", "Hives",
	"Dr Recorder", "Libre Sensor 3", "Ward 7B", "Northbridge General", "chest pain after a fall",
	"discharged home with advice", "free text value", "conclusion: see the clinic",
	"1 Acacia Avenue", "Flat 2", "Northbridge", "NB1 2CD", "07700900123", "zebedee@example.org",
	"Psychiatry", "Northbridge Laboratory", "1980-05-17", "2026-01-20"}

func newWorld(t *testing.T) *world {
	t.Helper()
	st := storetest.Open(t)
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	w := &world{t: t, client: st.Client, now: now}
	w.svc = research.New(st.Client, research.Config{PublicURL: "https://portal.example/", Now: func() time.Time { return w.now }})
	w.unit = w.org("RU1", organisation.KindRESEARCH)
	w.trust = w.org("RXX", organisation.KindTRUST)
	w.other = w.org("RU2", organisation.KindRESEARCH)
	return w
}

func (w *world) sys() context.Context { return access.SystemContext(context.Background()) }

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) org(ods string, kind organisation.Kind) pulid.ID {
	w.t.Helper()
	o, err := w.client.Organisation.Create().SetOdsCode(ods).SetName("Org " + ods).SetKind(kind).Save(w.sys())
	w.must(err)
	return o.ID
}

// as returns a context with v as its viewer, at the world's time.
func (w *world) as(v *access.Viewer) context.Context {
	if v.AccountID == "" {
		v.AccountID = pulid.New("ac")
	}
	v.Now = w.now
	return access.NewContext(context.Background(), v)
}

// member is a viewer holding role at org.
func (w *world) member(org pulid.ID, role string) context.Context {
	return w.as(&access.Viewer{Memberships: []access.Membership{{OrganisationID: org, Role: role}}})
}

func (w *world) researcher() context.Context { return w.member(w.unit, access.RoleResearcher) }

// ownerOf is the patient signed in at level.
func (w *world) ownerOf(p pulid.ID, level string) context.Context {
	return w.as(&access.Viewer{Grants: []access.Grant{{PatientID: p, Owner: true}}, IdentityLevel: level})
}

func (w *world) patientCtx(p pulid.ID) context.Context { return w.ownerOf(p, access.IdentityVerified) }

// carerOf holds a share of every label but PRIVATE.
func (w *world) carerOf(p pulid.ID) context.Context {
	return w.as(&access.Viewer{Grants: []access.Grant{access.ShareGrant(p, pulid.New("sh"), true, true, true)}, IdentityLevel: access.IdentityVerified})
}

// patient writes a patient, born in 1980, with one item of each exported
// kind in each of the given labels, every one full of free text.
func (w *world) patient(nhs string, cats ...category.Category) pulid.ID {
	w.t.Helper()
	ctx := w.sys()
	p, err := w.client.Patient.Create().
		SetGivenName("Zebedee").SetFamilyName("Quixote").SetNhsNumber(nhs).
		SetDateOfBirth(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)).
		SetAddressLine1("1 Acacia Avenue").SetAddressLine2("Flat 2").SetTown("Northbridge").
		SetPostcode("NB1 2CD").SetPhone("07700900123").SetEmail("zebedee@example.org").
		Save(ctx)
	w.must(err)
	taken := time.Date(2026, 1, 20, 9, 30, 0, 0, time.UTC)
	for i, c := range cats {
		taken := taken.Add(time.Duration(i) * time.Hour)
		rs, err := w.client.Result.Create().SetPatientID(p.ID).SetSourceOrganisationID(w.trust).
			SetCategory(c).SetName("Haemoglobin").SetCode("718-7").SetTakenAt(taken).SetReportedAt(taken).
			SetReleasedAt(w.now.Add(-time.Hour)).SetConclusion("conclusion: see the clinic").
			SetPerformingLaboratory("Northbridge Laboratory").Save(ctx)
		w.must(err)
		w.must(w.client.ResultComponent.Create().SetPatientID(p.ID).SetResultID(rs.ID).SetCategory(c).
			SetSourceOrganisationID(w.trust).SetName("Haemoglobin").SetCode("718-7").SetValueNumeric(131).
			SetUnit("g/L").SetFlag(resultcomponent.FlagNORMAL).SetReferenceText("free text value").Exec(ctx))
		w.must(w.client.ResultComponent.Create().SetPatientID(p.ID).SetResultID(rs.ID).SetCategory(c).
			SetSourceOrganisationID(w.trust).SetName("Serum sodium").SetValueText("free text value").Exec(ctx))
		w.must(w.client.Measurement.Create().SetPatientID(p.ID).SetCategory(c).
			SetType(measurement.TypeBLOOD_PRESSURE).SetMeasuredAt(taken).SetValue(120).SetValue2(80).
			SetUnit("mm[Hg]").SetDevice("Libre Sensor 3").Exec(ctx))
		w.must(w.client.Encounter.Create().SetPatientID(p.ID).SetCategory(c).SetSourceOrganisationID(w.trust).
			SetKind(encounter.KindEMERGENCY).SetStatus(encounter.StatusDISCHARGED).SetStartedAt(taken).
			SetSite("Northbridge General").SetWard("Ward 7B").SetSpecialty("Psychiatry").
			SetPresentingComplaint("chest pain after a fall").SetSummary("discharged home with advice").Exec(ctx))
		w.must(w.client.Allergy.Create().SetPatientID(p.ID).SetCategory(c).SetSubstance("Peanut").
			SetReaction("Hives").SetRecordedBy(allergy.RecordedByTRUST).SetRecorder("Dr Recorder").
			SetRecordedAt(taken).Exec(ctx))
	}
	return p.ID
}

// bare writes a patient without records.
func (w *world) bare(i int) pulid.ID {
	w.t.Helper()
	p, err := w.client.Patient.Create().SetGivenName("Zebedee").SetFamilyName(fmt.Sprintf("Quixote%d", i)).
		SetDateOfBirth(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)).Save(w.sys())
	w.must(err)
	return p.ID
}

// study creates an open study of the research unit as its researcher.
func (w *world) study(title string) *ent.ResearchStudy {
	w.t.Helper()
	st, err := w.svc.CreateStudy(w.researcher(), model.CreateResearchStudyInput{OrganisationID: w.unit, Title: title})
	w.must(err)
	return st
}

// consent joins p to the study for cats, as p.
func (w *world) consent(p, study pulid.ID, cats ...category.Category) *model.PatientStudy {
	w.t.Helper()
	ps, err := w.svc.Consent(w.patientCtx(p), p, study, cats)
	w.must(err)
	return ps
}

// patientOf is the patient entity a resolver would pass.
func patientOf(id pulid.ID) *ent.Patient { return &ent.Patient{ID: id} }

// storedKey reads a study's key as the system, for tests only.
func (w *world) storedKey(id pulid.ID) []byte {
	w.t.Helper()
	st, err := w.client.ResearchStudy.Get(w.sys(), id)
	w.must(err)
	return st.PseudonymKey
}

// errNotFound stands for Ent's not-found, which the API maps to NOT_FOUND.
var errNotFound = errors.New("not found")

// check checks err against the sentinel want (nil: no error).
func check(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == errNotFound:
		if !ent.IsNotFound(err) {
			t.Fatalf("error %v, want not found", err)
		}
	case want == nil && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("error %v, want %v", err, want)
	}
}
