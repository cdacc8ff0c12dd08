package tracking_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/store/storetest"
	"github.com/patientportal/portal/server/tracking"
)

// BenchmarkMeasurementSeries charts a year of 5-minute glucose readings
// (105,120 readings, 8,760 hourly rollups) in UK days with time in range,
// through the Service as the patient: the dashboard's heaviest chart.
func BenchmarkMeasurementSeries(b *testing.B) {
	st := storetest.Open(b)
	sys := access.SystemContext(context.Background())
	start := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	p, err := st.Client.Patient.Create().SetGivenName("Bench").SetFamilyName("Example").
		SetDateOfBirth(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)).Save(sys)
	if err != nil {
		b.Fatal(err)
	}
	writeYearOfRollups(b, sys, st.Client, p.ID, start, end)

	ctx := access.NewContext(context.Background(), &access.Viewer{
		AccountID:     pulid.ID("acbench"),
		Grants:        []access.Grant{{PatientID: p.ID, Owner: true}},
		IdentityLevel: access.IdentityVerified,
		Now:           end,
	})
	svc := tracking.New(st.Client, tracking.Config{})
	for _, bucket := range []model.SeriesBucket{model.SeriesBucketDay, model.SeriesBucketWeek, model.SeriesBucketHour} {
		b.Run(string(bucket), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s, err := svc.MeasurementSeries(ctx, p, measurement.TypeGLUCOSE, start, end, bucket)
				if err != nil {
					b.Fatal(err)
				}
				if s.TimeInRange == nil || s.TimeInRange.Readings != 365*24*12 {
					b.Fatalf("time in range %+v", s.TimeInRange)
				}
			}
		})
	}
}

// writeYearOfRollups writes the hourly rollups of a smooth daily glucose
// curve read every five minutes, as ingest would have kept them.
func writeYearOfRollups(b *testing.B, ctx context.Context, client *ent.Client, patient pulid.ID, start, end time.Time) {
	b.Helper()
	var rows []*ent.MeasurementRollupCreate
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		c := client.MeasurementRollup.Create().SetPatientID(patient).
			SetType(measurementrollup.TypeGLUCOSE).SetCategory(category.General).SetHour(h)
		var n, below, above int
		var sum, lo, hi float64
		for m := range 12 {
			at := h.Add(time.Duration(m) * 5 * time.Minute)
			v := 7 + 5*math.Sin(float64(at.Unix())/86400*2*math.Pi)
			if n == 0 || v < lo {
				lo = v
			}
			if n == 0 || v > hi {
				hi = v
			}
			n++
			sum += v
			if v < 3.9 {
				below++
			} else if v > 10 {
				above++
			}
		}
		rows = append(rows, c.SetCount(n).SetSum(sum).SetMin(lo).SetMax(hi).SetBelow(below).SetAbove(above))
	}
	// Ent binds every column of every row: chunks stay below SQLite's
	// limit on bound variables.
	for chunk := range slices.Chunk(rows, 500) {
		if err := client.MeasurementRollup.CreateBulk(chunk...).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
