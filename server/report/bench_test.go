package report_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/report"
	"github.com/patientportal/portal/server/report/reporttest"
	"github.com/patientportal/portal/server/store/storetest"
)

// EnvBenchFile names a SQLite file for BenchmarkOverview to keep its
// generated data in: filled on the first run, reused by later ones with
// the same number of patients. Without it each run generates afresh.
const EnvBenchFile = "PORTAL_BENCH_SQLITE_FILE"

// EnvBenchPatients sets how many patients BenchmarkOverview generates for
// the organisation reported on (default 2,000, quick enough for a smoke
// run); another organisation gets a quarter as many.
const EnvBenchPatients = "PORTAL_BENCH_PATIENTS"

// BenchmarkOverview measures the overview of a month, a quarter and a
// year over a generated year of activity (reporttest.DefaultVolume per
// patient), on SQLite or, with PORTAL_TEST_MYSQL_DSN, on MySQL.
func BenchmarkOverview(b *testing.B) {
	n := 2000
	if s := os.Getenv(EnvBenchPatients); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("%s=%q: want a number of patients", EnvBenchPatients, s)
		}
		n = v
	}
	const year = 2025
	url, org := benchStore(b, n, year)
	st := storetest.OpenEmpty(b, url)
	if err := st.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}

	svc := report.New(st.Client, report.Config{Now: func() time.Time { return time.Date(year+1, 3, 1, 0, 0, 0, 0, time.UTC) }})
	analyst := access.NewContext(context.Background(), &access.Viewer{
		Memberships: []access.Membership{{OrganisationID: org, Role: access.RoleAnalyst}},
	})
	number := func(v int) *int { return &v }
	for _, p := range []struct {
		name string
		in   model.ReportingPeriodInput
	}{
		{"month", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: year, Number: number(6)}},
		{"quarter", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: year, Number: number(3)}},
		{"year", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: year}},
	} {
		b.Run(p.name, func(b *testing.B) {
			o, err := svc.Overview(analyst, org, p.in)
			if err != nil {
				b.Fatal(err)
			}
			if n >= 1000 && (o.Registrations.Suppressed || o.ActivePatients.Suppressed) {
				b.Fatalf("figures suppressed at %d patients: %v", n, reporttest.Flatten(o))
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := svc.Overview(analyst, org, p.in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// benchStore returns the URL of a database holding n generated patients of
// the organisation it returns (and a quarter as many of another), closed
// again so that the benchmark opens it as a server would find it: afresh,
// with SQLite's write-ahead log folded back into the file.
func benchStore(b *testing.B, n, year int) (string, pulid.ID) {
	ctx := access.SystemContext(context.Background())
	url := storetest.URL(b)
	file := os.Getenv(EnvBenchFile)
	if file != "" && storetest.Engine() == "sqlite" {
		url = "sqlite:" + file + "." + strconv.Itoa(n)
		if _, err := os.Stat(strings.TrimPrefix(url, "sqlite:")); err == nil {
			st := storetest.OpenEmpty(b, url)
			defer st.Close()
			org, err := st.Client.Organisation.Query().Where(organisation.OdsCode("RXX")).Only(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("reusing %s", url)
			return url, org.ID
		}
	}
	st := storetest.OpenEmpty(b, url)
	defer st.Close()
	if err := st.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	org, err := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Test Hospitals NHS Trust").
		SetKind(organisation.KindTRUST).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	other, err := st.Client.Organisation.Create().SetOdsCode("RYY").SetName("Other NHS Trust").
		SetKind(organisation.KindTRUST).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	rows, err := reporttest.Fill(ctx, st.DB, org.ID, n, year, reporttest.DefaultVolume, 1)
	if err != nil {
		b.Fatal(err)
	}
	more, err := reporttest.Fill(ctx, st.DB, other.ID, max(n/4, 1), year, reporttest.DefaultVolume, 2)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s: %d patients (+%d at another organisation), %d rows written in %s",
		storetest.Engine(), n, max(n/4, 1), rows+more, time.Since(started).Round(time.Millisecond))
	return url, org.ID
}
