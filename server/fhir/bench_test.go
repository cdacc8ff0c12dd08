package fhir_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/fhir"
	"github.com/patientportal/portal/server/store/storetest"
)

const blaze = "../../../shared/fhir-samples/synthea/samply-blaze/"

// largest is the biggest Synthea patient bundle of the samples: 1,155
// entries.
const largest = blaze + "76f217df-3176-7627-8fef-e60a9b3574c2.json"

func readBundle(tb testing.TB, path string) *fhir.Bundle {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Skipf("the shared FHIR samples are absent (a user's clone): %v", err)
	}
	var b fhir.Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		tb.Fatal(err)
	}
	return &b
}

// freshImporter returns an importer over a new store with the hospital
// and practitioner reference data loaded, as a trust would have them.
func freshImporter(tb testing.TB) (*fhir.Importer, *ent.Organisation) {
	tb.Helper()
	st := storetest.Open(tb)
	ctx := access.SystemContext(context.Background())
	org, err := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Synthea Trust").SetKind(organisation.KindTRUST).Save(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	imp := &fhir.Importer{Client: st.Client, Blobs: blob.NewDir(tb.TempDir())}
	for _, ref := range []string{"0-hospitalInformation1625911868739.json", "0-practitionerInformation1625911868739.json"} {
		if _, err := imp.ImportBundle(ctx, org, readBundle(tb, blaze+ref)); err != nil {
			tb.Fatal(err)
		}
	}
	return imp, org
}

// BenchmarkImportLargestSyntheaBundle stores the largest Synthea patient
// transaction into a store that does not hold it yet (first), and sends it
// again (again: every entry unchanged). Figures: resources/s and ms per
// bundle. Set PORTAL_TEST_MYSQL_DSN for MariaDB.
func BenchmarkImportLargestSyntheaBundle(b *testing.B) {
	bundle := readBundle(b, largest)
	ctx := context.Background()
	b.Run("first", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			imp, org := freshImporter(b)
			b.StartTimer()
			start := time.Now()
			a, err := imp.ImportBundle(ctx, org, bundle)
			total += time.Since(start)
			if err != nil || a.Status != 200 {
				b.Fatalf("%v %+v", err, a)
			}
		}
		report(b, total, len(bundle.Entry))
	})
	b.Run("again", func(b *testing.B) {
		imp, org := freshImporter(b)
		if _, err := imp.ImportBundle(ctx, org, bundle); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for b.Loop() {
			a, err := imp.ImportBundle(ctx, org, bundle)
			if err != nil || a.Status != 200 || a.Stored != 0 {
				b.Fatalf("%v %+v", err, a)
			}
		}
		report(b, time.Since(start), len(bundle.Entry))
	})
}

func report(b *testing.B, total time.Duration, entries int) {
	per := total.Seconds() / float64(b.N)
	b.ReportMetric(float64(entries)/per, "resources/s")
	b.ReportMetric(per*1000, "ms/bundle")
}
