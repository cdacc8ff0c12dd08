package tracking_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/store/storetest"
	"github.com/patientportal/portal/server/tracking"
)

// ingestStart is when the benchmarks' readings begin: one a minute from
// here, a new stretch for each batch, so every reading is new.
var ingestStart = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// ingestGlucose is the n-th reading's value: a daily curve that leaves a
// 3.9–10 range on both sides, so the rollups count below and above.
func ingestGlucose(n int) float64 {
	return 7 + 4*math.Sin(2*math.Pi*float64(n%1440)/1440)
}

// ingestBench is a store with one patient and the patient's context.
func ingestBench(b *testing.B) (*tracking.Service, context.Context, pulid.ID) {
	b.Helper()
	st := storetest.Open(b)
	sys := access.SystemContext(context.Background())
	acc, err := st.Client.Account.Create().SetEmail("bench@example.org").SetDisplayName("Bench").Save(sys)
	if err != nil {
		b.Fatal(err)
	}
	p, err := st.Client.Patient.Create().SetAccountID(acc.ID).SetGivenName("Bench").SetFamilyName("Example").
		SetDateOfBirth(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)).Save(sys)
	if err != nil {
		b.Fatal(err)
	}
	ctx := access.NewContext(context.Background(), &access.Viewer{
		AccountID:     acc.ID,
		Grants:        []access.Grant{{PatientID: p.ID, Owner: true}},
		IdentityLevel: access.IdentityVerified,
		Now:           time.Now(),
	})
	return tracking.New(st.Client, tracking.Config{}), ctx, p.ID
}

// BenchmarkRecordMeasurements stores batches of 10,000 new glucose
// readings, one a minute, through the Service as the patient, rollups
// included; readings/s is the figure to watch (goal: 50,000 on SQLite,
// 20,000 on MariaDB).
func BenchmarkRecordMeasurements(b *testing.B) {
	svc, ctx, patient := ingestBench(b)
	const batch = 10_000
	readings := make([]*model.MeasurementInput, batch)
	device := "Meter"
	for i := range readings {
		readings[i] = &model.MeasurementInput{Type: measurement.TypeGLUCOSE, Unit: "mmol/L", Device: &device}
	}
	total := 0
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		for i, r := range readings {
			n := total + i
			r.MeasuredAt = ingestStart.Add(time.Duration(n) * time.Minute)
			r.Value = ingestGlucose(n)
		}
		rep, err := svc.RecordMeasurements(ctx, model.RecordMeasurementsInput{PatientID: patient, Readings: readings})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Accepted != batch {
			b.Fatalf("accepted %d of %d", rep.Accepted, batch)
		}
		total += batch
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "readings/s")
}

// BenchmarkUploadMemory streams a 1,000,000-line CSV export through the
// upload handler and samples the heap while it runs: peak-heap-MB should
// stay flat whatever the upload's length.
func BenchmarkUploadMemory(b *testing.B) {
	svc, ctx, patient := ingestBench(b)
	handler := svc.UploadHandler()
	const lines = 1_000_000
	offset := 0
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		peak, stop := ingestSampleHeap()
		body := &ingestCSV{n: lines, offset: offset}
		req := httptest.NewRequest(http.MethodPost, "/measurements/upload?patientId="+string(patient), body).WithContext(ctx)
		req.Header.Set("Content-Type", "text/csv")
		res := httptest.NewRecorder()
		started := time.Now()
		handler.ServeHTTP(res, req)
		elapsed := time.Since(started)
		stop()
		var rep struct{ Accepted, RefusedCount int }
		if err := json.Unmarshal(res.Body.Bytes(), &rep); err != nil || res.Code != http.StatusOK || rep.Accepted != lines {
			b.Fatalf("status %d: %s", res.Code, res.Body.Bytes())
		}
		offset += lines
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(base.HeapAlloc)/(1<<20), "base-heap-MB")
		b.ReportMetric(lines/elapsed.Seconds(), "lines/s")
	}
}

// ingestSampleHeap samples the live heap every 10 ms until stop is called
// and keeps the highest figure.
func ingestSampleHeap() (*atomic.Uint64, func()) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return &peak, func() { close(done); wg.Wait() }
}

// ingestCSV is a CSV export of n glucose readings, one a minute from
// offset minutes after ingestStart, written as it is read: the body is
// never in memory either.
type ingestCSV struct {
	n, offset, next int
	pending         []byte
}

func (c *ingestCSV) Read(p []byte) (int, error) {
	for len(c.pending) < len(p) && c.next <= c.n {
		if c.next == 0 {
			c.pending = append(c.pending, "type,time,value,unit,device\n"...)
		} else {
			m := c.offset + c.next - 1
			c.pending = fmt.Appendf(c.pending, "GLUCOSE,%s,%.1f,mmol/L,Meter\n",
				ingestStart.Add(time.Duration(m)*time.Minute).Format(time.RFC3339), ingestGlucose(m))
		}
		c.next++
	}
	if len(c.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.pending)
	c.pending = c.pending[:copy(c.pending, c.pending[n:])]
	return n, nil
}
