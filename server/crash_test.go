package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/server/store"
)

// fhirSamples is the shared folder of real FHIR data (not in the
// repository; CI has it).
const fhirSamples = "../../shared/fhir-samples/synthea/samply-blaze"

// rowCounts is every table's row count, apart from what each request
// writes however it ends (sessions, keys, import reports, the access log).
func rowCounts(t *testing.T, db string) map[string]int {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.DB.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'goose%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	counts := map[string]int{}
	for _, table := range tables {
		switch table {
		case "sessions", "api_keys", "import_reports", "audit_events", "sign_in_throttles":
			continue
		}
		var n int
		if err := st.DB.QueryRow("SELECT COUNT(*) FROM `" + table + "`").Scan(&n); err != nil {
			t.Fatal(err)
		}
		counts[table] = n
	}
	return counts
}

// changed lists the tables whose counts differ.
func changed(before, after map[string]int) []string {
	var out []string
	for table, n := range after {
		if before[table] != n {
			out = append(out, fmt.Sprintf("%s %d→%d", table, before[table], n))
		}
	}
	return out
}

// sendAndKill sends req to p in the background and kills p -9 after
// delay, reporting whether the answer came first.
func sendAndKill(t *testing.T, p *process, req *http.Request, delay time.Duration) (answered bool) {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		done <- res.StatusCode
	}()
	time.Sleep(delay)
	p.kill()
	status := <-done
	return status == http.StatusOK
}

// A trust's FHIR transaction is all or nothing even when the server is
// killed -9 while storing it: after a restart every table holds what it
// held before, or what a completed import leaves (sending the bundle again
// then changes nothing).
func TestKillDuringAFHIRTransactionLeavesNoPartialWrite(t *testing.T) {
	if _, err := os.Stat(fhirSamples); err != nil {
		t.Skipf("the shared Synthea bundles are absent (a user's clone; CI has them): %v", err)
	}
	db := "sqlite:" + t.TempDir() + "/portal.db"
	p := spawn(t, nil, "--database", db)
	var key bytes.Buffer
	if err := run(t.Context(), []string{"apikey", "--org", "RTH", "--database", db}, os.Getenv, &key, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(key.String()), "\n")
	apiKey := lines[len(lines)-1]
	post := func(p *process, file string) *http.Request {
		body, err := os.ReadFile(filepath.Join(fhirSamples, file))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, p.url+"/fhir/r4", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		return req
	}
	// The hospitals and practitioners the patient bundles point into.
	for _, f := range []string{"0-hospitalInformation1625911868739.json", "0-practitionerInformation1625911868739.json"} {
		res, err := http.DefaultClient.Do(post(p, f))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", f, res.StatusCode)
		}
	}
	p.kill()
	// The three largest patients' transactions (1–2 MB), each killed at a
	// different point.
	cut := 0
	for i, c := range []struct {
		file  string
		delay time.Duration
	}{
		{"76f217df-3176-7627-8fef-e60a9b3574c2.json", 150 * time.Millisecond},
		{"24d82e9b-4114-f230-4318-60474031ec4d.json", 500 * time.Millisecond},
		{"0ef7a3b5-53ee-e765-10e2-c63a904ad0fd.json", 1500 * time.Millisecond},
	} {
		before := rowCounts(t, db)
		p = spawn(t, nil, "--database", db)
		answered := sendAndKill(t, p, post(p, c.file), c.delay)
		if !answered {
			cut++
		}
		p = spawn(t, nil, "--database", db)
		after := rowCounts(t, db)
		diff := changed(before, after)
		if len(diff) > 0 {
			// Something was stored: all of it, so sending it again adds nothing.
			res, err := http.DefaultClient.Do(post(p, c.file))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if again := changed(after, rowCounts(t, db)); len(again) > 0 || res.StatusCode != http.StatusOK {
				t.Errorf("bundle %d killed after %v: a partial write (%v); sending it again stored %v (status %d)",
					i, c.delay, diff, again, res.StatusCode)
			}
		}
		t.Logf("bundle %d killed after %v: answered %v, stored %v", i, c.delay, answered, diff)
		p.kill()
	}
	if cut == 0 {
		t.Fatal("every import finished before the kill: the test killed nothing mid-request")
	}
}

// A reading upload stores each batch of up to 10,000 readings in one
// transaction with its hourly rollups: a server killed -9 during an
// upload of one batch keeps all of it or none of it, and the rollups
// still count every stored reading once.
func TestKillDuringAReadingUploadLeavesNoPartialWrite(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/portal.db"
	p := spawn(t, nil, "--database", db)
	patient, clinician := p.signIn(t, "patient"), p.signIn(t, "clinician")
	patientID, _ := demoIDs(t, p, patient, clinician)
	p.kill()
	// Readings the rollups do not count to begin with (none, unless the
	// demo data holds other kinds).
	gap := func() int {
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var all, rolled int
		err = st.DB.QueryRow("SELECT COUNT(*) FROM `measurements` WHERE `patient_id` = ?", patientID).Scan(&all)
		if err == nil {
			err = st.DB.QueryRow("SELECT COALESCE(SUM(`count`), 0) FROM `measurement_rollups` WHERE `patient_id` = ?", patientID).Scan(&rolled)
		}
		if err != nil {
			t.Fatal(err)
		}
		return all - rolled
	}
	gap0 := gap()
	const readings = 9_000 // one batch
	cut := 0
	for i, delay := range []time.Duration{0, 200 * time.Millisecond, 700 * time.Millisecond, 2 * time.Second} {
		p = spawn(t, nil, "--database", db)
		token := p.signIn(t, "patient")
		device := fmt.Sprintf("Crash meter %d", i)
		var csv bytes.Buffer
		csv.WriteString("type,time,value,unit,device\n")
		start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 60 * 24 * time.Hour)
		for j := range readings {
			fmt.Fprintf(&csv, "GLUCOSE,%s,%.1f,mmol/L,%s\n", start.Add(time.Duration(j)*5*time.Minute).Format(time.RFC3339), 4+float64(j%80)/10, device)
		}
		req, _ := http.NewRequest(http.MethodPost, p.url+"/measurements/upload?patientId="+patientID, &csv)
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Authorization", "Bearer "+token)
		answered := sendAndKill(t, p, req, delay)
		if !answered {
			cut++
		}
		st, err := store.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		var stored int
		err = st.DB.QueryRow("SELECT COUNT(*) FROM `measurements` WHERE `patient_id` = ? AND `device` = ?", patientID, device).Scan(&stored)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("upload %d killed after %v: answered %v, %d of %d readings stored", i, delay, answered, stored, readings)
		if stored != 0 && stored != readings {
			t.Errorf("upload %d killed after %v: %d of %d readings stored", i, delay, stored, readings)
		}
		if answered && stored != readings {
			t.Errorf("upload %d was acknowledged but %d of %d readings are stored", i, stored, readings)
		}
		if g := gap(); g != gap0 {
			t.Errorf("upload %d killed after %v: the rollups miss %d readings (before: %d)", i, delay, g, gap0)
		}
	}
	if cut == 0 {
		t.Fatal("every upload finished before the kill: the test killed nothing mid-request")
	}
}
