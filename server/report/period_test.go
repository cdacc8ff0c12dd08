package report

import (
	"errors"
	"testing"
	"time"

	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
)

func TestPeriodOf(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	num := func(n int) *int { return &n }
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, tc := range []struct {
		name       string
		in         model.ReportingPeriodInput
		start, end string
	}{
		{"a winter month starts at UK midnight, which is UTC midnight",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(1)},
			"2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{"a summer month starts at UK midnight, an hour before in UTC",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(7)},
			"2026-06-30T23:00:00Z", "2026-07-31T23:00:00Z"},
		{"the month the clocks go forward",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(3)},
			"2026-03-01T00:00:00Z", "2026-03-31T23:00:00Z"},
		{"the month the clocks go back",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(10)},
			"2026-09-30T23:00:00Z", "2026-11-01T00:00:00Z"},
		{"December ends at the next year",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2025, Number: num(12)},
			"2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"},
		{"a quarter is three months",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2026, Number: num(2)},
			"2026-03-31T23:00:00Z", "2026-06-30T23:00:00Z"},
		{"the last quarter",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2025, Number: num(4)},
			"2025-09-30T23:00:00Z", "2026-01-01T00:00:00Z"},
		{"a year ignores the number",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2024, Number: num(99)},
			"2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"},
		{"a year without a number",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2000},
			"2000-01-01T00:00:00Z", "2001-01-01T00:00:00Z"},
		{"the period under way may be asked for",
			model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(11)},
			"2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := periodOf(tc.in, now)
			if err != nil {
				t.Fatal(err)
			}
			if !p.start.Equal(utc(tc.start)) || !p.end.Equal(utc(tc.end)) {
				t.Errorf("got [%s, %s), want [%s, %s)", p.start, p.end, tc.start, tc.end)
			}
			if p.start.Location() != time.UTC || p.end.Location() != time.UTC {
				t.Errorf("bounds not in UTC: %s, %s", p.start.Location(), p.end.Location())
			}
			m := p.model()
			if m.Kind != tc.in.Kind || !m.Start.Equal(p.start) || !m.End.Equal(p.end) {
				t.Errorf("model = %+v", m)
			}
		})
	}
}

func TestPeriodOfRefuses(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	num := func(n int) *int { return &n }
	for _, tc := range []struct {
		name string
		in   model.ReportingPeriodInput
	}{
		{"a month without a number", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026}},
		{"month 0", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(0)}},
		{"month 13", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(13)}},
		{"a quarter without a number", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2026}},
		{"quarter 5", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2026, Number: num(5)}},
		{"quarter -1", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindQuarter, Year: 2026, Number: num(-1)}},
		{"year 1999", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 1999}},
		{"year 2101", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2101}},
		{"an unknown kind", model.ReportingPeriodInput{Kind: "WEEK", Year: 2026, Number: num(1)}},
		{"next month", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: num(12)}},
		{"next year", model.ReportingPeriodInput{Kind: model.ReportingPeriodKindYear, Year: 2027}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := periodOf(tc.in, now); !errors.Is(err, graph.ErrBadInput) {
				t.Errorf("err = %v, want a bad-input error", err)
			}
		})
	}
}

func TestPeriodStartsAtUKMidnight(t *testing.T) {
	// A month that starts in summer time begins at 23:00 UTC the day
	// before: 30 June 23:30 UTC is already 1 July in the UK.
	num := 7
	p, err := periodOf(model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: &num},
		time.Date(2026, 6, 30, 23, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("July is under way at 00:30 on 1 July in the UK: %v", err)
	}
	if got := p.start.In(london).Format("2006-01-02 15:04"); got != "2026-07-01 00:00" {
		t.Errorf("starts at %s UK time", got)
	}
	if _, err := periodOf(model.ReportingPeriodInput{Kind: model.ReportingPeriodKindMonth, Year: 2026, Number: &num},
		time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC)); !errors.Is(err, graph.ErrBadInput) {
		t.Errorf("July asked for at 23:30 on 30 June UK time: err = %v", err)
	}
}
