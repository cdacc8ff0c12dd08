package report

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/London on machines without a zoneinfo database

	"github.com/patientportal/portal/graph"
	"github.com/patientportal/portal/graph/model"
)

// Years a period may fall in.
const (
	firstYear = 2000
	lastYear  = 2100
)

// london is where calendar periods begin and end.
var london = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// period is a calendar period in UK time, its bounds in UTC: start
// inclusive, end exclusive.
type period struct {
	kind       model.ReportingPeriodKind
	start, end time.Time
}

// periodOf checks in and returns its period. A period may be over or under
// way at now, but not yet to come. A year ignores the number.
func periodOf(in model.ReportingPeriodInput, now time.Time) (period, error) {
	if in.Year < firstYear || in.Year > lastYear {
		return period{}, badInput("year must be from %d to %d", firstYear, lastYear)
	}
	number := func(max int) (int, error) {
		if in.Number == nil || *in.Number < 1 || *in.Number > max {
			return 0, badInput("a %s needs a number from 1 to %d", in.Kind, max)
		}
		return *in.Number, nil
	}
	var first time.Month
	var months int
	switch in.Kind {
	case model.ReportingPeriodKindMonth:
		n, err := number(12)
		if err != nil {
			return period{}, err
		}
		first, months = time.Month(n), 1
	case model.ReportingPeriodKindQuarter:
		n, err := number(4)
		if err != nil {
			return period{}, err
		}
		first, months = time.Month(3*(n-1)+1), 3
	case model.ReportingPeriodKindYear:
		first, months = time.January, 12
	default:
		return period{}, badInput("unknown period kind %q", in.Kind)
	}
	start := time.Date(in.Year, first, 1, 0, 0, 0, 0, london)
	end := start.AddDate(0, months, 0)
	if now.Before(start) {
		return period{}, badInput("the period has not started yet")
	}
	return period{kind: in.Kind, start: start.UTC(), end: end.UTC()}, nil
}

// model is the period as the API shows it.
func (p period) model() *model.ReportingPeriod {
	return &model.ReportingPeriod{Kind: p.kind, Start: p.start, End: p.end}
}

// badInput is an error about the request that the API reports as
// BAD_USER_INPUT.
func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{graph.ErrBadInput}, args...)...)
}
