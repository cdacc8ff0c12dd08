package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
)

// BenchmarkDashboard measures the dashboard query end to end over HTTP on
// loopback, with 20 items in each list, as the patient and as a carer
// (whose reads also write the access log).
func BenchmarkDashboard(b *testing.B) {
	e := newEnv(b)
	now := e.clock.Now()
	f := seed(b, e.store.Client, 20, now)
	vars := map[string]any{"patient": string(f.Alice.PatientID), "now": now.Add(-365 * 24 * time.Hour).Format(time.RFC3339)}
	for _, viewer := range []struct {
		name      string
		email     string
		allLabels bool
	}{{"owner", f.Alice.Email, false}, {"carer-general", f.Carer.Email, false}, {"carer-all-labels", f.Carer.Email, true}} {
		b.Run(viewer.name, func(b *testing.B) {
			if viewer.allLabels {
				// Sees all but PRIVATE: nearly the owner's data.
				err := e.store.Client.Share.Update().SetMentalHealth(true).SetSexualHealth(true).SetSocialCare(true).
					Exec(access.SystemContext(context.Background()))
				if err != nil {
					b.Fatal(err)
				}
			}
			token := e.signIn(viewer.email, fixturePassword)
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
		})
	}
}
