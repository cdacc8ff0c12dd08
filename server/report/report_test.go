package report_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/report"
	"github.com/patientportal/portal/server/report/reporttest"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// world is a store with the known dataset and a service over it at
// reporttest.Now.
type world struct {
	st      *store.Store
	service *report.Service
	data    *reporttest.Dataset
}

func newWorld(t *testing.T) *world {
	t.Helper()
	st := storetest.Open(t)
	org, err := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Test Hospitals NHS Trust").
		SetKind(organisation.KindTRUST).Save(access.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	data := reporttest.Known(t, st.Client, org.ID)
	svc := report.New(st.Client, report.Config{Now: func() time.Time { return reporttest.Now }})
	return &world{st: st, service: svc, data: data}
}

// as is a context whose viewer holds roles, each at an organisation.
func as(roles ...access.Membership) context.Context {
	return access.NewContext(context.Background(), &access.Viewer{
		AccountID: pulid.New("ac"), Memberships: roles, Now: reporttest.Now,
	})
}

func analystAt(org pulid.ID) context.Context {
	return as(access.Membership{OrganisationID: org, Role: access.RoleAnalyst})
}

func month(n int) model.ReportingPeriodInput {
	return model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: &n}
}

func TestOverviewOfTheKnownDataset(t *testing.T) {
	w := newWorld(t)
	got, err := w.service.Overview(analystAt(w.data.Organisation), w.data.Organisation, reporttest.February())
	if err != nil {
		t.Fatal(err)
	}
	if d := reporttest.Diff(reporttest.Flatten(got), reporttest.Want); d != "" {
		t.Errorf("February on %s:\n%s", storetest.Engine(), d)
	}
}

func TestOverviewOfOtherPeriods(t *testing.T) {
	w := newWorld(t)
	ctx := analystAt(w.data.Organisation)
	for _, tc := range []struct {
		name string
		in   model.ReportingPeriodInput
		want map[string]string
	}{
		{"January's results are of 7 patients: measures suppressed", month(1), reporttest.WantJanuary},
		{"March under way counts results released up to now, not those held", month(3), reporttest.WantMarch},
		{"the first quarter holds all three months", model.ReportingPeriodInput{
			Kind: model.ReportingPeriodKindQuarter, Year: 2026, Number: ptr(1)},
			map[string]string{"resultsReleased": "30", "period": "QUARTER 2026-01-01T00:00:00Z 2026-03-31T23:00:00Z"}},
		{"a year before anything happened is all zeros", model.ReportingPeriodInput{
			Kind: model.ReportingPeriodKindYear, Year: 2020}, map[string]string{
			"registrations": "0", "activePatients": "0", "invitationsSent": "0", "invitationsAccepted": "0",
			"sharesByRelationship": "0 | CARER=0 FAMILY=0 PROFESSIONAL=0 ORGANISATION=0",
			"sharesByCategory":     "0 | MENTAL_HEALTH=0 SEXUAL_HEALTH=0 SOCIAL_CARE=0",
			"resultsReleased":      "0", "releaseDelayMedianHours": "*", "releaseDelayP90Hours": "*",
			"appointmentsByStatus":    "0 | BOOKED=0 CANCELLED=0 ATTENDED=0 DID_NOT_ATTEND=0",
			"appointmentsBySpecialty": "0 | ", "lettersDelivered": "0", "lettersReadInPortal": "0",
			"postageSavedPence": "0", "notificationsByChannel": "0 | IN_APP=0 EMAIL=0",
			"period": "YEAR 2020-01-01T00:00:00Z 2021-01-01T00:00:00Z",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.service.Overview(ctx, w.data.Organisation, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			flat := reporttest.Flatten(got)
			for k, want := range tc.want {
				if flat[k] != want {
					t.Errorf("%s = %q, want %q", k, flat[k], want)
				}
			}
		})
	}
}

func TestOverviewOfTheOtherOrganisation(t *testing.T) {
	// The other organisation's February: one registration, one result,
	// one appointment, one letter read, one emailed notification: each
	// 1, so each suppressed, never shown as a number.
	w := newWorld(t)
	got, err := w.service.Overview(analystAt(w.data.Other), w.data.Other, reporttest.February())
	if err != nil {
		t.Fatal(err)
	}
	flat := reporttest.Flatten(got)
	for k, want := range map[string]string{
		"registrations": "*", "invitationsSent": "*", "invitationsAccepted": "*", "activePatients": "*",
		"sharesByRelationship": "* | CARER=0 FAMILY=0 PROFESSIONAL=0 ORGANISATION=*",
		"sharesByCategory":     "* | MENTAL_HEALTH=* SEXUAL_HEALTH=* SOCIAL_CARE=*",
		"resultsReleased":      "*", "releaseDelayMedianHours": "*",
		"appointmentsByStatus": "* | BOOKED=* CANCELLED=0 ATTENDED=0 DID_NOT_ATTEND=0",
		"lettersDelivered":     "*", "lettersReadInPortal": "*", "postageSavedPence": "*",
		"notificationsByChannel": "* | IN_APP=* EMAIL=*",
	} {
		if flat[k] != want {
			t.Errorf("%s = %q, want %q", k, flat[k], want)
		}
	}
}

func TestOverviewIsForTheOrganisationsAnalystsOnly(t *testing.T) {
	w := newWorld(t)
	org, other := w.data.Organisation, w.data.Other
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"signed out", context.Background(), access.ErrNoViewer},
		{"a patient", as(), access.ErrDenied},
		{"a clinician of the organisation", as(access.Membership{OrganisationID: org, Role: access.RoleClinician}), access.ErrDenied},
		{"an admin of the organisation", as(access.Membership{OrganisationID: org, Role: access.RoleAdmin}), access.ErrDenied},
		{"a privacy officer of the organisation", as(access.Membership{OrganisationID: org, Role: access.RolePrivacyOfficer}), access.ErrDenied},
		{"a researcher of the organisation", as(access.Membership{OrganisationID: org, Role: access.RoleResearcher}), access.ErrDenied},
		{"an analyst of another organisation", analystAt(other), access.ErrDenied},
		{"the system itself, with no viewer", access.SystemContext(context.Background()), access.ErrNoViewer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.service.Overview(tc.ctx, org, reporttest.February())
			if !errors.Is(err, tc.want) || got != nil {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("an analyst of both sees each", func(t *testing.T) {
		ctx := as(access.Membership{OrganisationID: org, Role: access.RoleAnalyst},
			access.Membership{OrganisationID: other, Role: access.RoleAnalyst})
		for _, o := range []pulid.ID{org, other} {
			if _, err := w.service.Overview(ctx, o, reporttest.February()); err != nil {
				t.Error(err)
			}
		}
	})
}

func TestOverviewRefusesPeriods(t *testing.T) {
	w := newWorld(t)
	ctx := analystAt(w.data.Organisation)
	for _, tc := range []struct {
		name string
		in   model.ReportingPeriodInput
	}{
		{"a month that has not started", month(4)},
		{"month 13", month(13)},
		{"a quarter without a number", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2026}},
		{"a year past 2100", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2101}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := w.service.Overview(ctx, w.data.Organisation, tc.in); !errors.Is(err, graph.ErrBadInput) {
				t.Errorf("err = %v, want a bad-input error", err)
			}
		})
	}
	t.Run("a stranger learns nothing from a bad period: denied first", func(t *testing.T) {
		_, err := w.service.Overview(as(), w.data.Organisation, month(13))
		if !errors.Is(err, access.ErrDenied) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPostageIsConfigurable(t *testing.T) {
	w := newWorld(t)
	svc := report.New(w.st.Client, report.Config{PostagePence: 70, Now: func() time.Time { return reporttest.Now }})
	got, err := svc.Overview(analystAt(w.data.Organisation), w.data.Organisation, reporttest.February())
	if err != nil {
		t.Fatal(err)
	}
	if v := got.PostageSavedPence.Value; v == nil || *v != 10*70 {
		t.Errorf("postage saved = %v, want 700", v)
	}
}

func TestOverviewWritesNothing(t *testing.T) {
	w := newWorld(t)
	before := rowCounts(t, w.st.Client)
	if _, err := w.service.Overview(analystAt(w.data.Organisation), w.data.Organisation, reporttest.February()); err != nil {
		t.Fatal(err)
	}
	if after := rowCounts(t, w.st.Client); after != before {
		t.Errorf("rows before %v, after %v", before, after)
	}
}

// rowCounts counts the rows of the tables an overview might be expected
// to write to, if it wrote anything: audit events and notifications.
func rowCounts(t *testing.T, c *ent.Client) [2]int {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	a, err := c.AuditEvent.Query().Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Notification.Query().Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return [2]int{a, n}
}

func ptr[T any](v T) *T { return &v }
