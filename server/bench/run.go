package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patientportal/portal/server/config"
)

// Options is what a run measures.
type Options struct {
	// Rates are the arrival rates of the ramp, requests/s.
	Rates []int
	// StepDuration is how long each rate is held.
	StepDuration time.Duration
	// P99 is the latency a sustained rate stays under at the 99th percentile.
	P99 time.Duration
	// Retry runs a failed rate once more before the ramp ends.
	Retry bool
	// Load is how long the mixed load test runs (0: not at all) and
	// LoadRate its arrival rate.
	Load     time.Duration
	LoadRate int
	// Warmup is how long each handler is loaded at the first rate before
	// its ramp.
	Warmup time.Duration
	// ReportRate is the rate whose p50 and p99 the summary gives.
	ReportRate int
}

// Measure is one handler and viewer kind measured.
type Measure struct {
	Name string
	// Steps is the ramp; Sustained the highest rate held.
	Steps     []Step
	Sustained int
	// Statements is SQL statements per request.
	Statements float64
}

// At is the step at rate, if the ramp reached it.
func (m Measure) At(rate int) (Step, bool) {
	for _, s := range m.Steps {
		if s.Rate == rate {
			return s, true
		}
	}
	return Step{}, false
}

// Report is everything one run measured.
type Report struct {
	Measures []Measure
	// Overhead is allocations per request of the load generator alone,
	// against a handler that writes a fixed answer.
	Overhead Step
	Load     *LoadResult
}

// Verify checks the dashboard answers: each viewer's GraphQL answer
// equals the baseline's, carries the record asked for, and a carer's has
// no item outside GENERAL.
func Verify(ctx context.Context, h *Harness) error {
	for _, vs := range [][]Viewer{h.Owners, h.Carers} {
		for _, v := range vs {
			body := h.DashboardBody(v)
			got, err := h.Post(ctx, h.URL+"/query", v, body)
			if err != nil {
				return err
			}
			want, err := h.Post(ctx, h.BaselineURL+"/dashboard", v, body)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			var a, b any
			if err := errors.Join(json.Unmarshal(got, &a), json.Unmarshal(want, &b)); err != nil {
				return err
			}
			if !reflect.DeepEqual(a, b) {
				return fmt.Errorf("bench: GraphQL and baseline answers differ for %s:\n%s\n%s", v.AccountID, got, want)
			}
			if err := checkDashboard(got, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkDashboard checks the answer is the viewer's and the record's, and
// that a carer sees GENERAL items only.
func checkDashboard(answer []byte, v Viewer) error {
	var d bDashboard
	if err := json.Unmarshal(answer, &d); err != nil {
		return err
	}
	if d.Data.Viewer == nil || d.Data.Viewer.Account.ID != string(v.AccountID) {
		return fmt.Errorf("bench: dashboard of %s names another viewer", v.AccountID)
	}
	p := d.Data.Patient
	if p == nil || p.ID != string(v.PatientID) || p.InvitedBy == nil {
		return fmt.Errorf("bench: dashboard of %s lacks the record %s", v.AccountID, v.PatientID)
	}
	if len(p.Appointments.Edges) == 0 || len(p.Allergies.Edges) == 0 || len(p.Results.Edges) == 0 ||
		len(p.Results.Edges[0].Node.Components) == 0 {
		return fmt.Errorf("bench: dashboard of %s is missing items: %s", v.AccountID, answer)
	}
	var cats []string
	for _, e := range p.Appointments.Edges {
		cats = append(cats, e.Node.Category)
	}
	for _, e := range p.Allergies.Edges {
		cats = append(cats, e.Node.Category)
	}
	for _, e := range p.Results.Edges {
		cats = append(cats, e.Node.Category)
	}
	general := true
	for _, c := range cats {
		general = general && c == "GENERAL"
	}
	if v.Carer && !general {
		return fmt.Errorf("bench: carer %s sees an item outside GENERAL: %v", v.AccountID, cats)
	}
	if !v.Carer && general {
		return fmt.Errorf("bench: owner %s sees GENERAL items only: %v", v.AccountID, cats)
	}
	return nil
}

// Dashboard measures the dashboard as the patient and as a carer, through
// the portal and the baseline, reporting each step to out.
func Dashboard(ctx context.Context, h *Harness, o Options, out io.Writer) (*Report, error) {
	if err := Verify(ctx, h); err != nil {
		return nil, err
	}
	rep := &Report{}
	type target struct {
		name    string
		url     string
		viewers []Viewer
		count   func() int64
	}
	targets := []target{
		{"GraphQL, patient", h.URL + "/query", h.Owners, h.Counter.Count},
		{"GraphQL, carer", h.URL + "/query", h.Carers, h.Counter.Count},
		{"baseline, patient", h.BaselineURL + "/dashboard", h.Owners, h.Baseline.Statements},
		{"baseline, carer", h.BaselineURL + "/dashboard", h.Carers, h.Baseline.Statements},
	}
	// The load generator's own allocations, against a fixed answer.
	fixed, err := h.Post(ctx, h.URL+"/query", h.Owners[0], h.DashboardBody(h.Owners[0]))
	if err != nil {
		return nil, err
	}
	static, err := h.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixed)
	}))
	if err != nil {
		return nil, err
	}
	body := h.DashboardBody(h.Owners[0])
	rep.Overhead = Open(ctx, o.Rates[0], o.StepDuration, func(ctx context.Context, i int) error {
		_, err := h.Post(ctx, static, h.Owners[0], body)
		return err
	}, nil)
	fmt.Fprintf(out, "load generator alone (fixed answer): %s\n", rep.Overhead)
	for _, t := range targets {
		if len(t.viewers) == 0 {
			continue
		}
		bodies := make([][]byte, len(t.viewers))
		for i, v := range t.viewers {
			bodies[i] = h.DashboardBody(v)
		}
		send := func(ctx context.Context, i int) error {
			k := i % len(t.viewers)
			_, err := h.Post(ctx, t.url, t.viewers[k], bodies[k])
			return err
		}
		// Warm caches and connections at the first rate.
		Open(ctx, o.Rates[0], o.Warmup, send, nil)
		fmt.Fprintf(out, "%s:\n", t.name)
		steps, best := Ramp(ctx, o.Rates, o.StepDuration, o.P99, o.Retry, send, t.count,
			func(s Step) { fmt.Fprintf(out, "  %s\n", s) })
		m := Measure{Name: t.name, Steps: steps, Sustained: best}
		if len(steps) > 0 {
			m.Statements = steps[0].Statements
		}
		rep.Measures = append(rep.Measures, m)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

// Summary writes the report's table (Markdown, as in the README).
func (r *Report) Summary(out io.Writer, o Options) {
	first := o.ReportRate
	if first == 0 {
		first = o.Rates[0]
	}
	fmt.Fprintf(out, "\n| | sustained req/s (p99 < %v) | p50 at %d req/s | p99 at %d req/s | SQL statements/req | allocs/req (process) | allocs/req (less load generator) | CPU ms/req (process) |\n",
		o.P99, first, first)
	fmt.Fprintln(out, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, m := range r.Measures {
		s, ok := m.At(first)
		if !ok {
			// The ramp ended below it: the allocations of its first step.
			fmt.Fprintf(out, "| %s | %d | not reached | not reached | %.1f | %.0f | %.0f | %.2f |\n", m.Name, m.Sustained,
				m.Statements, m.Steps[0].Mallocs, m.Steps[0].Mallocs-r.Overhead.Mallocs, ms(m.Steps[0].CPU))
			continue
		}
		errs := ""
		if s.Errors > 0 {
			errs = fmt.Sprintf(" (%d errors)", s.Errors)
		}
		fmt.Fprintf(out, "| %s | %d | %.2f ms | %.2f ms%s | %.1f | %.0f | %.0f | %.2f |\n", m.Name, m.Sustained, ms(s.P50), ms(s.P99), errs,
			m.Statements, s.Mallocs, s.Mallocs-r.Overhead.Mallocs, ms(s.CPU))
	}
	for _, kind := range []string{"patient", "carer"} {
		var gql, base Measure
		for _, m := range r.Measures {
			switch m.Name {
			case "GraphQL, " + kind:
				gql = m
			case "baseline, " + kind:
				base = m
			}
		}
		if base.Sustained > 0 {
			fmt.Fprintf(out, "\nratio to baseline, %s: %d / %d = %.2f", kind, gql.Sustained, base.Sustained,
				float64(gql.Sustained)/float64(base.Sustained))
		}
	}
	fmt.Fprintf(out, "\nload generator alone: %.2f ms CPU/req, %.0f allocs/req\n", ms(r.Overhead.CPU), r.Overhead.Mallocs)
	fmt.Fprintf(out, "GOGC %d; peak resident memory of the process %d MB, peak heap goal %d MB\n", gcPercent(),
		peakRSS()>>20, r.peakHeapGoal()>>20)
	if r.Load != nil {
		fmt.Fprintf(out, "\nmixed load: %s\n", r.Load)
	}
}

// peakHeapGoal is the largest heap goal at the end of a step.
func (r *Report) peakHeapGoal() int64 {
	var peak int64
	for _, m := range r.Measures {
		for _, s := range m.Steps {
			peak = max(peak, s.HeapGoal)
		}
	}
	return peak
}

// Main is `server bench`: it parses args (bench flags, then optionally
// `--` and the server's own flags) and runs the harness.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := DefaultSizes
	file := fs.String("file", "portal-bench.db", "SQLite file for the dataset, kept between runs (regenerated when the sizes differ)")
	fs.IntVar(&sizes.Patients, "patients", sizes.Patients, "patients")
	fs.IntVar(&sizes.Items, "items", sizes.Items, "items in each of a patient's lists")
	fs.IntVar(&sizes.Components, "components", sizes.Components, "components of each result")
	fs.IntVar(&sizes.ReadingPatients, "reading-patients", sizes.ReadingPatients, "patients with glucose readings")
	fs.IntVar(&sizes.Readings, "readings", sizes.Readings, "5-minute glucose readings of each of them (105120: a year)")
	fs.IntVar(&sizes.Carers, "carers", sizes.Carers, "carers, each with a GENERAL share of one patient")
	fs.IntVar(&sizes.Notifications, "notifications", sizes.Notifications, "notifications of each patient")
	viewers := fs.Int("viewers", 50, "patients and carers the load is sent as (each)")
	rates := fs.String("rates", "50,100,200,300,400,500,600,800,1000,1200,1400,1600,1800,2000,2400,2800,3200,3600,4000",
		"arrival rates of the ramp, req/s")
	reportRate := fs.Int("report-rate", 200, "the rate whose p50 and p99 the summary gives")
	step := fs.Duration("step", 5*time.Second, "how long each rate is held")
	p99 := fs.Duration("p99", 25*time.Millisecond, "p99 latency a sustained rate stays under")
	retry := fs.Bool("retry", true, "run a failed rate once more before ending the ramp")
	load := fs.Duration("load", 60*time.Second, "duration of the mixed read/write load test (0: skip)")
	loadRate := fs.Int("load-rate", 50, "arrival rate of the mixed load test, req/s")
	dashboard := fs.Bool("dashboard", true, "measure the dashboard")
	smoke := fs.Bool("smoke", false, "a quick check: a tiny dataset, 1 s steps at 200 and 400 req/s, 3 s of mixed load")
	printSQL := fs.Bool("sql", false, "print the SQL of one patient's and one carer's dashboard request, and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// After `--`: the server's flags (and PORTAL_* variables). Every
	// request of the load comes from 127.0.0.1, so the per-address limit,
	// a guard against one abusive client, would measure itself (100
	// req/s) rather than the portal: it is off unless a flag after `--`
	// sets it again.
	cfg, err := config.Load("serve", append([]string{"--rate-limit-address=0"}, fs.Args()...), getenv, stderr)
	if err != nil {
		return err
	}
	o := Options{StepDuration: *step, P99: *p99, Retry: *retry, Load: *load, LoadRate: *loadRate, Warmup: 2 * time.Second,
		ReportRate: *reportRate}
	for _, r := range strings.Split(*rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n <= 0 {
			return fmt.Errorf("bench: -rates: %q is not a rate", r)
		}
		o.Rates = append(o.Rates, n)
	}
	if *smoke {
		sizes = SmokeSizes
		o.Rates, o.StepDuration, o.Load, o.Warmup, o.ReportRate = []int{100, 200}, time.Second, 3*time.Second, 0, 200
		if *file == "portal-bench.db" {
			*file = "portal-bench-smoke.db"
		}
	}
	setup := Setup{File: *file, Sizes: sizes, Viewers: *viewers, Config: cfg,
		Progress: func(s string) { fmt.Fprintln(stderr, "bench:", s) }}
	var capture *sqlCapture
	if *printSQL {
		capture = &sqlCapture{}
		setup.Debug = capture.add
	}
	h, err := Start(ctx, setup)
	if err != nil {
		return err
	}
	defer h.Close()
	if capture != nil {
		return capture.print(ctx, h, stdout)
	}
	fmt.Fprintf(stdout, "dataset %s: %+v, anchored at %s\n", *file, sizes, h.Dataset.Anchor.Format(time.RFC3339))
	rep := &Report{}
	if *dashboard {
		if rep, err = Dashboard(ctx, h, o, stdout); err != nil {
			return err
		}
	}
	if o.Load > 0 {
		res, err := Mixed(ctx, h, o.LoadRate, o.Load)
		if err != nil {
			return err
		}
		rep.Load = res
		if err := res.Err(); err != nil {
			rep.Summary(stdout, o)
			return err
		}
	}
	rep.Summary(stdout, o)
	return nil
}

// sqlCapture collects the statements of the requests it is switched on for.
type sqlCapture struct {
	mu    sync.Mutex
	on    bool
	lines []string
}

func (c *sqlCapture) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.lines = append(c.lines, s)
	}
}

func (c *sqlCapture) switchTo(on bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines := c.lines
	c.on, c.lines = on, nil
	return lines
}

func (c *sqlCapture) print(ctx context.Context, h *Harness, out io.Writer) error {
	for _, v := range []Viewer{h.Owners[0], h.Carers[0]} {
		c.switchTo(true)
		_, err := h.Post(ctx, h.URL+"/query", v, h.DashboardBody(v))
		lines := c.switchTo(false)
		if err != nil {
			return err
		}
		kind := "patient"
		if v.Carer {
			kind = "carer"
		}
		fmt.Fprintf(out, "-- %s: %d statements\n", kind, len(lines))
		for _, l := range lines {
			fmt.Fprintln(out, l)
		}
	}
	return nil
}
