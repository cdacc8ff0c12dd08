package app_test

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkReleaseToReceipt measures, for each result a clinician
// releases, the time from sending the release to the patient's websocket
// receiving its notification: on one server, and with the clinician on one
// server and the patient on another, joined by each real broker. Run
// 1,000 events with -benchtime=1000x; p50 and p99 are reported in ms.
func BenchmarkReleaseToReceipt(b *testing.B) {
	b.Run("one-server", func(b *testing.B) {
		e := newEnv(b)
		f := seed(b, e.store.Client, 1, e.clock.Now())
		releaseToReceipt(b, e, e, f)
	})
	for _, br := range brokers {
		b.Run("two-servers-"+br.name, func(b *testing.B) {
			br.need(b)
			first, second, f := twoServers(b, br.url)
			releaseToReceipt(b, first, second, f)
		})
	}
}

// releaseToReceipt releases results through on and times their arrival
// at Alice's subscription on at.
func releaseToReceipt(b *testing.B, on, at *testEnv, f *fixture) {
	clinician := on.signIn(f.Clinician.Email, fixturePassword)
	s := at.subscribe(b, at.signIn(f.Alice.Email, fixturePassword))
	release := func() {
		now := on.clock.Now()
		res := on.post(clinician, `mutation($in: AddResultInput!) { addResult(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"patientId": f.Alice.PatientID, "organisationId": f.OrgID, "name": "Urea and electrolytes", "releaseNow": true,
			"takenAt": rfc(now.Add(-2 * time.Hour)), "reportedAt": rfc(now.Add(-time.Hour)),
			"components": []any{map[string]any{"name": "Sodium", "valueNumeric": 139, "unit": "mmol/L"}},
		}})
		if len(res.Errors) > 0 {
			b.Fatalf("addResult: %s", res.raw)
		}
	}
	// The subscription starts a moment after the client asks.
	for started := false; !started; {
		release()
		started = delivered(s.next(2*time.Second)) != ""
	}
	for s.next(500*time.Millisecond) != nil {
	}
	var delays []time.Duration
	b.ResetTimer()
	for b.Loop() {
		sent := time.Now()
		release()
		if delivered(s.next(10*time.Second)) == "" {
			b.Fatal("a release was not delivered")
		}
		delays = append(delays, time.Since(sent))
	}
	b.StopTimer()
	slices.Sort(delays)
	at99 := (len(delays)*99 + 99) / 100
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(delays[at99-1].Microseconds())/1000, "p99-ms")
}
