package bench_test

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/server/bench"
	"github.com/patientportal/portal/server/config"
)

// smoke starts the harness over the smoke dataset in the test's own
// directory.
func smoke(t *testing.T) *bench.Harness {
	t.Helper()
	h, err := bench.Start(t.Context(), bench.Setup{File: filepath.Join(t.TempDir(), "bench.db"), Sizes: bench.SmokeSizes,
		Viewers: 4, Config: config.Config{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// The harness's smoke mode: correct answers, not timings.
func TestDashboardAnswersAgreeWithTheBaseline(t *testing.T) {
	h := smoke(t)
	// Every viewer's GraphQL answer equals the hand-written baseline's,
	// carries their record with its items, and a carer's holds GENERAL
	// items only while the patient's holds the other labels too.
	if err := bench.Verify(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := bench.Options{Rates: []int{50}, StepDuration: time.Second, P99: time.Hour}
	rep, err := bench.Dashboard(t.Context(), h, o, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range rep.Measures {
		for _, s := range m.Steps {
			if s.Errors > 0 {
				t.Errorf("%s at %d req/s: %d errors (%s)", m.Name, s.Rate, s.Errors, s.FirstError)
			}
		}
		if m.Statements < 10 {
			t.Errorf("%s: %.1f statements a request: the counter is not counting", m.Name, m.Statements)
		}
	}
	rep.Summary(&out, o)
	if !strings.Contains(out.String(), "ratio to baseline, carer") {
		t.Errorf("the summary lacks the ratio:\n%s", out.String())
	}
	t.Log(out.String())
}

// The bounded load test, a few seconds of it: no errors, and every
// acknowledged write is there afterwards.
func TestMixedLoadLosesNoAcknowledgedWrite(t *testing.T) {
	h := smoke(t)
	res, err := bench.Mixed(t.Context(), h, 50, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	if res.Symptoms == 0 || res.Journals == 0 || res.Uploads == 0 || res.MarkRead == 0 || res.Readings == 0 {
		t.Fatalf("not every kind of request ran: %s", res)
	}
	t.Log(res)
}

// BenchmarkDashboard is the dashboard over HTTP on loopback, closed loop,
// over the smoke dataset: for profiling (-cpuprofile, -memprofile); the
// harness (`go run ./server bench`) gives the figures.
func BenchmarkDashboard(b *testing.B) {
	h, err := bench.Start(b.Context(), bench.Setup{File: filepath.Join(b.TempDir(), "bench.db"), Sizes: bench.SmokeSizes,
		Viewers: 1, Config: config.Config{}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	for _, c := range []struct {
		name string
		url  string
		v    bench.Viewer
	}{
		{"graphql-patient", h.URL + "/query", h.Owners[0]},
		{"graphql-carer", h.URL + "/query", h.Carers[0]},
		{"baseline-patient", h.BaselineURL + "/dashboard", h.Owners[0]},
	} {
		b.Run(c.name, func(b *testing.B) {
			body := h.DashboardBody(c.v)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Post(b.Context(), c.url, c.v, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
