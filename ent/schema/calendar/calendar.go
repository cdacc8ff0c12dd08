// Package calendar says which UK calendar periods a moment falls in, for
// the columns and rollups that reporting counts by. Periods begin at
// midnight UK time on their first day; their starts are kept in UTC.
package calendar

import (
	"time"
	_ "time/tzdata" // Europe/London on machines without a zoneinfo database
)

// London is where calendar periods begin and end.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// Starts are the starts of the UK month, quarter and year t falls in, in
// UTC.
func Starts(t time.Time) (month, quarter, year time.Time) {
	local := t.In(London)
	y, m := local.Year(), local.Month()
	start := func(first time.Month) time.Time { return time.Date(y, first, 1, 0, 0, 0, 0, London).UTC() }
	return start(m), start(3*((m-1)/3) + 1), start(time.January)
}
