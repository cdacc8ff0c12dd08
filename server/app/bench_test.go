package app_test

import (
	"testing"
	"time"
)

// BenchmarkDashboard measures the dashboard query as the owner, end to end
// over HTTP on loopback, with 20 items in each list.
func BenchmarkDashboard(b *testing.B) {
	e := newEnv(b)
	now := e.clock.Now()
	f := seed(b, e.store.Client, 20, now)
	token := e.signIn(f.Alice.Email, fixturePassword)
	vars := map[string]any{"patient": string(f.Alice.PatientID), "now": now.Add(-365 * 24 * time.Hour).Format(time.RFC3339)}
	e.post(token, dashboardQuery, vars)
	e.counter.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res := e.post(token, dashboardQuery, vars); len(res.Errors) > 0 {
			b.Fatal(string(res.raw))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(e.counter.Count())/float64(b.N), "stmts/op")
}
