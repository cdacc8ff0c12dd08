package demo

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/server/tracking"
)

// A month of readings from a continuous glucose monitor at its five-minute
// interval: the volume the measurement views must cope with.
const (
	glucoseInterval = 5 * time.Minute
	glucoseReadings = 30 * 24 * int(time.Hour/glucoseInterval) // 8,640
	glucoseDevice   = "Libre 2"
	glucoseUnit     = "mmol/L"
	// bulkChunk rows per insert keeps each statement far below SQLite's
	// 32,766 bound variables (Ent binds every column of every row).
	bulkChunk = 500
)

// reading is one glucose value.
type reading struct {
	at   time.Time
	mmol float64
}

// glucose writes the readings, uploaded by the patient from their sensor.
func (l *loader) glucose(ctx context.Context) error {
	readings := glucoseSeries(l.now, glucoseReadings)
	for chunk := range slices.Chunk(readings, bulkChunk) {
		err := l.tx.Measurement.MapCreateBulk(chunk, func(c *ent.MeasurementCreate, i int) {
			record(l, c, from(patientSource, category.General)).
				SetType(measurement.TypeGLUCOSE).SetMeasuredAt(chunk[i].at).
				SetValue(chunk[i].mmol).SetUnit(glucoseUnit).SetDevice(glucoseDevice)
		}).Exec(ctx)
		if err != nil {
			return err
		}
	}
	return l.glucoseRollups(ctx, readings)
}

// glucoseRollups writes the hourly summaries that series are drawn from,
// as ingest keeps them, with the default target range.
func (l *loader) glucoseRollups(ctx context.Context, readings []reading) error {
	type hour struct {
		start                 time.Time
		count, below, above   int
		sum, minimum, maximum float64
	}
	var hours []*hour
	for _, r := range readings {
		start := r.at.Truncate(time.Hour)
		if len(hours) == 0 || !hours[len(hours)-1].start.Equal(start) {
			hours = append(hours, &hour{start: start, minimum: r.mmol, maximum: r.mmol})
		}
		h := hours[len(hours)-1]
		h.count++
		h.sum += r.mmol
		h.minimum, h.maximum = math.Min(h.minimum, r.mmol), math.Max(h.maximum, r.mmol)
		switch {
		case r.mmol < tracking.DefaultGlucoseLow:
			h.below++
		case r.mmol > tracking.DefaultGlucoseHigh:
			h.above++
		}
	}
	for chunk := range slices.Chunk(hours, bulkChunk) {
		err := l.tx.MeasurementRollup.MapCreateBulk(chunk, func(c *ent.MeasurementRollupCreate, i int) {
			h := chunk[i]
			c.SetPatientID(l.patient).SetType(measurementrollup.TypeGLUCOSE).SetCategory(category.General).
				SetHour(h.start).SetCount(h.count).SetSum(h.sum).SetMin(h.minimum).SetMax(h.maximum).
				SetBelow(h.below).SetAbove(h.above)
		}).Exec(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// glucoseSeries returns n readings, oldest first, one every interval up to
// the last interval mark at or before end. The seed is fixed, so the same
// end gives the same month.
func glucoseSeries(end time.Time, n int) []reading {
	end = end.UTC().Truncate(glucoseInterval)
	rng := rand.New(rand.NewPCG(2026, 1))
	out := make([]reading, n)
	var today time.Time
	var plan dayPlan
	noise := 0.0
	for i := range out {
		at := end.Add(-time.Duration(n-1-i) * glucoseInterval)
		if d := at.Truncate(24 * time.Hour); !d.Equal(today) {
			today, plan = d, newDayPlan(rng)
		}
		// A sensor's error drifts rather than jumping, so the trace stays
		// smooth as a real one does.
		noise = 0.8*noise + 0.15*rng.NormFloat64()
		hour := at.Sub(today).Hours()
		out[i] = reading{at: at, mmol: math.Round(clamp(plan.level(hour)+noise, 2.2, 27.8)*10) / 10}
	}
	return out
}

// meal is a rise in glucose after eating.
type meal struct {
	hour, rise float64
}

// dayPlan is one day's shape: a fasting level, a rise before waking, three
// meals, and on some days a fall during evening exercise.
type dayPlan struct {
	fasting, dawn, exercise float64
	meals                   [3]meal
}

// newDayPlan draws a day that differs a little from the others, as real
// days do.
func newDayPlan(rng *rand.Rand) dayPlan {
	jitter := func(mean, spread float64) float64 { return mean + spread*(2*rng.Float64()-1) }
	p := dayPlan{
		fasting: jitter(7.4, 1.4),
		dawn:    jitter(1.2, 0.5),
		meals: [3]meal{
			{hour: jitter(7.5, 0.5), rise: jitter(5.5, 2.0)},
			{hour: jitter(12.75, 0.75), rise: jitter(3.5, 1.5)},
			{hour: jitter(18.5, 0.75), rise: jitter(6.0, 2.5)},
		},
	}
	if rng.Float64() < 0.25 {
		p.exercise = jitter(5.5, 1.5)
	}
	return p
}

// level is the glucose the plan gives at hour (0 to 24) of its day.
func (p dayPlan) level(hour float64) float64 {
	v := p.fasting + p.dawn*bump(hour, 6.5, 1.2) - 0.5*bump(hour, 3, 1.5) - p.exercise*bump(hour, 20, 0.6)
	for _, m := range p.meals {
		v += m.response(hour - m.hour)
	}
	return v
}

// response is the meal's rise dt hours after eating: it peaks about 50
// minutes in and has mostly gone three hours later.
func (m meal) response(dt float64) float64 {
	const peak = 0.85 // hours
	if dt <= 0 {
		return 0
	}
	x := dt / peak
	return m.rise * x * math.Exp(1-x)
}

// bump is a bell curve of height 1 centred on c with width w.
func bump(x, c, w float64) float64 {
	z := (x - c) / w
	return math.Exp(-z * z / 2)
}

// clamp limits v to the range the sensor reports (Libre 2: 2.2 to 27.8).
func clamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}
