package app_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

const seriesQuery = `query($id: ID!, $from: Time!, $to: Time!, $bucket: SeriesBucket!) {
  patient(id: $id) {
    measurementSeries(type: GLUCOSE, from: $from, to: $to, bucket: $bucket) {
      points { value measuredAt }
      buckets { start count min max mean }
      timeInRange { low high belowPercent inRangePercent abovePercent readings }
    }
  }
}`

type seriesBucket struct {
	Start          time.Time
	Count          int
	Min, Max, Mean float64
}

type seriesAnswer struct {
	Patient struct {
		MeasurementSeries struct {
			Points []struct {
				Value      float64
				MeasuredAt time.Time
			}
			Buckets     []seriesBucket
			TimeInRange *tirAnswer
		}
	}
}

type tirAnswer struct {
	Low, High                                  float64
	BelowPercent, InRangePercent, AbovePercent float64
	Readings                                   int
}

// seriesReading is one glucose reading a test writes.
type seriesReading struct {
	at    time.Time
	mmol  float64
	label category.Category
}

// writeGlucose writes readings and the hourly rollups ingest keeps for
// them (default range 3.9 to 10.0), as the system.
func writeGlucose(t *testing.T, client *ent.Client, patient pulid.ID, readings []seriesReading) {
	t.Helper()
	ctx := access.SystemContext(context.Background())
	type key struct {
		hour  time.Time
		label category.Category
	}
	rollups := map[key]*ent.MeasurementRollup{}
	for _, r := range readings {
		err := client.Measurement.Create().SetPatientID(patient).SetCategory(r.label).
			SetType(measurement.TypeGLUCOSE).SetMeasuredAt(r.at).SetValue(r.mmol).SetUnit("mmol/L").Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
		k := key{r.at.Truncate(time.Hour), r.label}
		ru := rollups[k]
		if ru == nil {
			ru = &ent.MeasurementRollup{Min: math.Inf(1), Max: math.Inf(-1)}
			rollups[k] = ru
		}
		ru.Count++
		ru.Sum += r.mmol
		ru.Min, ru.Max = min(ru.Min, r.mmol), max(ru.Max, r.mmol)
		if r.mmol < 3.9 {
			ru.Below++
		} else if r.mmol > 10 {
			ru.Above++
		}
	}
	for k, ru := range rollups {
		err := client.MeasurementRollup.Create().SetPatientID(patient).SetType(measurementrollup.TypeGLUCOSE).
			SetCategory(k.label).SetHour(k.hour).SetCount(ru.Count).SetSum(ru.Sum).SetMin(ru.Min).
			SetMax(ru.Max).SetBelow(ru.Below).SetAbove(ru.Above).Exec(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// glucoseSeries asks for Alice's glucose series.
func (w *sharingWorld) glucoseSeries(token string, from, to time.Time, bucket string) seriesAnswer {
	w.t.Helper()
	res := w.e.post(token, seriesQuery, map[string]any{"id": string(w.f.Alice.PatientID),
		"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "bucket": bucket})
	if len(res.Errors) > 0 {
		w.t.Fatalf("measurementSeries: %s", res.raw)
	}
	var out seriesAnswer
	res.decode(w.t, &out)
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func sameBuckets(t *testing.T, what string, got, want []seriesBucket) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d buckets %+v, want %+v", what, len(got), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || g.Count != w.Count || !near(g.Min, w.Min) || !near(g.Max, w.Max) || !near(g.Mean, w.Mean) {
			t.Errorf("%s bucket %d: got %+v, want %+v", what, i, g, w)
		}
	}
}

func TestAKnownDayOfGlucoseGivesItsHoursDayAndTimeInRange(t *testing.T) {
	w := newSharingWorld(t)
	day := time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC) // winter: UK time is UTC
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	writeGlucose(t, w.db(), w.f.Alice.PatientID, []seriesReading{
		{at(8, 0), 3.0, category.General}, {at(8, 30), 5.0, category.General},
		{at(12, 10), 12.0, category.General}, {at(12, 20), 8.0, category.General}, {at(12, 40), 10.0, category.General},
		{at(20, 0), 7.0, category.General},
	})
	next := day.AddDate(0, 0, 1)

	hours := w.glucoseSeries(w.alice, day, next, "HOUR").Patient.MeasurementSeries
	sameBuckets(t, "HOUR", hours.Buckets, []seriesBucket{
		{at(8, 0), 2, 3, 5, 4}, {at(12, 0), 3, 8, 12, 10}, {at(20, 0), 1, 7, 7, 7},
	})
	days := w.glucoseSeries(w.alice, day, next, "DAY").Patient.MeasurementSeries
	sameBuckets(t, "DAY", days.Buckets, []seriesBucket{{day, 6, 3, 12, 7.5}})

	raw := w.glucoseSeries(w.alice, day, next, "RAW").Patient.MeasurementSeries
	if len(raw.Points) != 6 || raw.Points[0].Value != 3.0 || !raw.Points[5].MeasuredAt.Equal(at(20, 0)) {
		t.Errorf("RAW points: %+v", raw.Points)
	}
	// One below (3.0), one above (12.0); 10.0 sits on the bound: in range.
	for name, tir := range map[string]*tirAnswer{"DAY": days.TimeInRange, "RAW": raw.TimeInRange} {
		if tir == nil || tir.Readings != 6 || tir.Low != 3.9 || tir.High != 10 ||
			!near(tir.BelowPercent, 100.0/6) || !near(tir.AbovePercent, 100.0/6) || !near(tir.InRangePercent, 400.0/6) {
			t.Errorf("%s time in range: %+v", name, tir)
		}
	}
}

func TestAUKClockChangeDayHas23Hours(t *testing.T) {
	w := newSharingWorld(t)
	from := time.Date(2025, 3, 29, 0, 0, 0, 0, time.UTC) // a Saturday; clocks go forward on Sunday 30th
	var readings []seriesReading
	for h := range 72 {
		readings = append(readings, seriesReading{from.Add(time.Duration(h)*time.Hour + 30*time.Minute), 6, category.General})
	}
	writeGlucose(t, w.db(), w.f.Alice.PatientID, readings)
	to := from.AddDate(0, 0, 3)
	bst := func(d int) time.Time { return time.Date(2025, 3, d, 23, 0, 0, 0, time.UTC) } // UK midnight in summer time

	days := w.glucoseSeries(w.alice, from, to, "DAY").Patient.MeasurementSeries
	sameBuckets(t, "DAY", days.Buckets, []seriesBucket{
		{from, 24, 6, 6, 6},
		{from.AddDate(0, 0, 1), 23, 6, 6, 6},
		{bst(30), 24, 6, 6, 6},
		{bst(31), 1, 6, 6, 6},
	})
	weeks := w.glucoseSeries(w.alice, from, to, "WEEK").Patient.MeasurementSeries
	sameBuckets(t, "WEEK", weeks.Buckets, []seriesBucket{
		{time.Date(2025, 3, 24, 0, 0, 0, 0, time.UTC), 47, 6, 6, 6},
		{bst(30), 25, 6, 6, 6},
	})
}

func TestACarerWithoutTheReadingsCategorySeesNoSeries(t *testing.T) {
	w := newSharingWorld(t)
	day := time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC)
	writeGlucose(t, w.db(), w.f.Alice.PatientID, []seriesReading{
		{day.Add(9 * time.Hour), 2.5, category.MentalHealth}, {day.Add(10 * time.Hour), 14, category.MentalHealth},
	})
	next := day.AddDate(0, 0, 1)
	if own := w.glucoseSeries(w.alice, day, next, "DAY").Patient.MeasurementSeries; len(own.Buckets) != 1 {
		t.Fatalf("the patient's own DAY buckets: %+v", own.Buckets)
	}
	for _, bucket := range []string{"RAW", "HOUR", "DAY", "WEEK"} {
		s := w.glucoseSeries(w.carer, day, next, bucket).Patient.MeasurementSeries
		if len(s.Points) != 0 || len(s.Buckets) != 0 {
			t.Errorf("%s: the carer sees %+v %+v", bucket, s.Points, s.Buckets)
		}
		if tir := s.TimeInRange; tir != nil && (tir.Readings != 0 || tir.BelowPercent != 0 || tir.AbovePercent != 0 || tir.InRangePercent != 0) {
			t.Errorf("%s: the carer sees time in range %+v", bucket, tir)
		}
	}
}

func TestASeriesRangeMustRunForwardAndAtMost400Days(t *testing.T) {
	w := newSharingWorld(t)
	day := time.Date(2025, 2, 10, 0, 0, 0, 0, time.UTC)
	for name, r := range map[string][2]time.Time{
		"empty":    {day, day},
		"reversed": {day, day.Add(-time.Hour)},
		"too long": {day, day.AddDate(0, 0, 401)},
	} {
		res := w.e.post(w.alice, seriesQuery, map[string]any{"id": string(w.f.Alice.PatientID),
			"from": r[0].Format(time.RFC3339), "to": r[1].Format(time.RFC3339), "bucket": "DAY"})
		wantCode(t, name, res, "BAD_USER_INPUT")
	}
}
