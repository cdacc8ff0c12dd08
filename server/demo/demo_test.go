package demo

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/appointment"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/journalentry"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/membership"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/researchstudy"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/symptom"
	"github.com/patientportal/portal/server/store/storetest"
)

// testNow is a fixed clock in summer time, so the test also checks that
// Load stores UTC.
var testNow = time.Date(2026, time.June, 14, 10, 7, 33, 0, time.FixedZone("BST", 3600))

// openStore returns a client on a fresh, migrated store (MySQL when
// PORTAL_TEST_MYSQL_DSN is set).
func openStore(t *testing.T) *ent.Client {
	t.Helper()
	return storetest.Open(t).Client
}

// load runs Load on a fresh store and returns the client, read as the
// system, and the credentials.
func load(t *testing.T) (context.Context, *ent.Client, *Credentials) {
	t.Helper()
	client := openStore(t)
	start := time.Now()
	creds, err := Load(context.Background(), client, testNow)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	t.Logf("Load took %v", time.Since(start))
	return access.SystemContext(context.Background()), client, creds
}

func TestLoadWritesWhatAUserWouldNotice(t *testing.T) {
	ctx, c, _ := load(t)
	now := testNow.UTC()
	counts := []struct {
		name string
		got  func(context.Context) (int, error)
		want int
	}{
		{"two trusts", c.Organisation.Query().Where(organisation.KindEQ(organisation.KindTRUST)).Count, 2},
		{"eight accounts", c.Account.Query().Count, 8},
		{"one patient linked to both trusts", c.PatientOrganisation.Query().Count, 2},
		{"a month of glucose readings every five minutes",
			c.Measurement.Query().Where(measurement.TypeEQ(measurement.TypeGLUCOSE)).Count, 8640},
		{"one result not yet released", c.Result.Query().
			Where(result.ReleasedAtIsNil(), result.ReleaseAtGT(now)).Count, 1},
		{"one ED attendance not yet seen", c.Encounter.Query().Where(
			encounter.KindEQ(encounter.KindEMERGENCY), encounter.StatusEQ(encounter.StatusARRIVED),
			encounter.SeenAtIsNil(), encounter.PresentingComplaintNotNil(),
			encounter.CategoryEQ(category.General), encounter.AssignedCategoryEQ(category.MentalHealth)).Count, 1},
		{"one ED attendance seen and discharged", c.Encounter.Query().Where(
			encounter.KindEQ(encounter.KindEMERGENCY), encounter.StatusEQ(encounter.StatusDISCHARGED)).Count, 1},
		{"one inpatient stay on a ward", c.Encounter.Query().Where(
			encounter.KindEQ(encounter.KindINPATIENT), encounter.WardNotNil()).Count, 1},
		{"a psychiatry appointment", c.Appointment.Query().Where(
			appointment.CategoryEQ(category.MentalHealth)).Count, 1},
		{"a sexual health appointment", c.Appointment.Query().Where(
			appointment.CategoryEQ(category.SexualHealth)).Count, 1},
		{"a clinician, an admin and a paramedic", c.Membership.Query().Where(
			membership.RoleIn(membership.RoleCLINICIAN, membership.RoleADMIN)).Count, 3},
		{"a privacy officer", c.Membership.Query().Where(
			membership.RoleEQ(membership.RolePRIVACY_OFFICER)).Count, 1},
		{"an ambulance service that may break the glass", c.Organisation.Query().Where(
			organisation.KindEQ(organisation.KindAMBULANCE_SERVICE), organisation.EmergencyCare(true)).Count, 1},
		{"one share", c.Share.Query().Count, 1},
		{"an analyst at the first trust", c.Membership.Query().Where(
			membership.RoleEQ(membership.RoleANALYST)).Count, 1},
		{"a researcher at a research unit, without emergency access", c.Membership.Query().Where(
			membership.RoleEQ(membership.RoleRESEARCHER), membership.HasOrganisationWith(
				organisation.KindEQ(organisation.KindRESEARCH), organisation.EmergencyCare(false))).Count, 1},
		{"an open research study", c.ResearchStudy.Query().Where(researchstudy.Open(true)).Count, 1},
	}
	for _, tc := range counts {
		n, err := tc.got(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, n, tc.want)
		}
	}

	atLeastOne := []struct {
		name  string
		exist func(context.Context) (bool, error)
	}{
		{"an upcoming booked appointment", c.Appointment.Query().Where(
			appointment.StartsAtGT(now), appointment.StatusEQ(appointment.StatusBOOKED)).Exist},
		{"a past attended appointment", c.Appointment.Query().Where(
			appointment.StartsAtLT(now), appointment.StatusEQ(appointment.StatusATTENDED)).Exist},
		{"a cancelled appointment", c.Appointment.Query().Where(
			appointment.StatusEQ(appointment.StatusCANCELLED)).Exist},
		{"a trust-recorded allergy", c.Allergy.Query().Where(
			allergy.RecordedByEQ(allergy.RecordedByTRUST), allergy.SourceOrganisationIDNotNil()).Exist},
		{"a patient-recorded allergy", c.Allergy.Query().Where(
			allergy.RecordedByEQ(allergy.RecordedByPATIENT), allergy.SourceOrganisationIDIsNil()).Exist},
		{"a read letter", c.Letter.Query().Where(letter.ReadAtNotNil()).Exist},
		{"an unread letter", c.Letter.Query().Where(letter.ReadAtIsNil()).Exist},
		{"an abnormal blood count value", c.ResultComponent.Query().Where(
			resultcomponent.FlagIn(resultcomponent.FlagLOW, resultcomponent.FlagHIGH)).Exist},
		{"a PRIVATE journal entry", c.JournalEntry.Query().Where(
			journalentry.CategoryEQ(category.Private)).Exist},
		{"a MENTAL_HEALTH journal entry", c.JournalEntry.Query().Where(
			journalentry.CategoryEQ(category.MentalHealth)).Exist},
		{"a MENTAL_HEALTH symptom", c.Symptom.Query().Where(symptom.CategoryEQ(category.MentalHealth)).Exist},
		{"a care resource", c.CareResource.Query().Exist},
	}
	for _, tc := range atLeastOne {
		ok, err := tc.exist(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !ok {
			t.Errorf("no %s", tc.name)
		}
	}
}

func TestLoadKeepsTheRecordConsistent(t *testing.T) {
	ctx, c, creds := load(t)
	p := c.Patient.Query().OnlyX(ctx)
	if p.NhsNumber == nil || !validNHSNumber(*p.NhsNumber) {
		t.Errorf("patient NHS number %v fails the Modulus 11 check", p.NhsNumber)
	}
	if p.DateOfBirth.AddDate(16, 0, 0).After(testNow) {
		t.Errorf("patient born %v is under 16", p.DateOfBirth)
	}
	for _, a := range c.Account.Query().AllX(ctx) {
		if a.Email != strings.ToLower(a.Email) || a.PasswordHash == nil {
			t.Errorf("account %s: email not lower-case or no password", a.Email)
		}
	}
	if p.AccountID == nil || c.Account.GetX(ctx, *p.AccountID).Email != creds.Patient.Email {
		t.Error("the patient's record is not owned by the patient's account")
	}
	first := c.Organisation.Query().Where(organisation.OdsCode(creds.Organisation.ODSCode)).OnlyX(ctx)
	if p.InvitedByOrganisationID == nil || *p.InvitedByOrganisationID != first.ID {
		t.Error("the patient was not invited by the organisation printed at start")
	}

	sh := c.Share.Query().OnlyX(ctx)
	if sh.AcceptedAt == nil || sh.MentalHealth || sh.SexualHealth || sh.SocialCare {
		t.Errorf("carer share is not an accepted share of GENERAL only: %+v", sh)
	}

	for _, r := range c.Result.Query().WithComponents().AllX(ctx) {
		for _, co := range r.Edges.Components {
			if co.PatientID != r.PatientID || co.Category != r.Category ||
				*co.SourceOrganisationID != *r.SourceOrganisationID {
				t.Errorf("component %s does not carry its result's patient, category and source", co.Name)
			}
		}
	}
	for _, j := range c.JournalEntry.Query().AllX(ctx) {
		if j.SourceOrganisationID != nil {
			t.Errorf("patient's journal entry %q has a source organisation", j.Title)
		}
	}

	readings := c.Measurement.Query().Order(ent.Asc(measurement.FieldMeasuredAt)).AllX(ctx)
	for i, m := range readings {
		if _, off := m.MeasuredAt.Zone(); off != 0 {
			t.Fatalf("reading stored at %v, not UTC", m.MeasuredAt)
		}
		if m.MeasuredAt.After(testNow) || m.Value < 2.2 || m.Value > 27.8 || m.Unit != "mmol/L" {
			t.Fatalf("implausible reading %v %v %s", m.MeasuredAt, m.Value, m.Unit)
		}
		if i > 0 && m.MeasuredAt.Sub(readings[i-1].MeasuredAt) != 5*time.Minute {
			t.Fatalf("readings %d and %d are not five minutes apart", i-1, i)
		}
	}
}

func TestLinesPrintEverySignIn(t *testing.T) {
	_, _, creds := load(t)
	want := []*regexp.Regexp{
		regexp.MustCompile(`^demo organisation .+ ODS code: [A-Z0-9]{3,5}$`),
		regexp.MustCompile(`^demo patient [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo carer [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo clinician [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo admin [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo privacy-officer [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo paramedic [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo analyst [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
		regexp.MustCompile(`^demo researcher [a-z0-9.]+@[a-z0-9.]+ password: \S{10,}$`),
	}
	lines := Lines(creds)
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d: %q", len(lines), len(want), lines)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %q does not match %s", lines[i], re)
		}
	}
}

func TestSecondLoadReturnsErrNotEmpty(t *testing.T) {
	ctx, c, _ := load(t)
	before := c.Measurement.Query().CountX(ctx)
	if _, err := Load(context.Background(), c, testNow); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second Load: got %v, want ErrNotEmpty", err)
	}
	if after := c.Measurement.Query().CountX(ctx); after != before {
		t.Errorf("second Load changed the store: %d readings, then %d", before, after)
	}
}

func TestFailedLoadLeavesNothing(t *testing.T) {
	c := openStore(t)
	failLetters := errors.New("letters refused")
	c.Letter.Use(func(ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(context.Context, ent.Mutation) (ent.Value, error) {
			return nil, failLetters
		})
	})
	if _, err := Load(context.Background(), c, testNow); !errors.Is(err, failLetters) {
		t.Fatalf("Load: got %v, want the letters failure", err)
	}
	ctx := access.SystemContext(context.Background())
	if n := c.Organisation.Query().CountX(ctx) + c.Account.Query().CountX(ctx) + c.Patient.Query().CountX(ctx); n != 0 {
		t.Errorf("a failed load left %d rows behind", n)
	}
}
