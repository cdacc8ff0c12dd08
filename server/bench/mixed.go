package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// LoadResult is what the mixed load test did, and what it found after.
type LoadResult struct {
	Duration time.Duration
	Rate     int
	// Requests by kind, and errors among them.
	Dashboards, Symptoms, Journals, Uploads, MarkRead int
	Errors                                            int
	FirstError                                        string
	// Readings acknowledged by uploads.
	Readings int
	// Missing is acknowledged writes not found afterwards; RollupMismatch
	// is readings the hourly rollups do not count (or count twice).
	Missing, RollupMismatch int
	P50, P99                time.Duration
}

// Err is non-nil when the test failed: an error, or a lost write.
func (r *LoadResult) Err() error {
	if r.Errors > 0 || r.Missing > 0 {
		return fmt.Errorf("bench: mixed load: %d errors (first: %s), %d acknowledged writes missing", r.Errors, r.FirstError, r.Missing)
	}
	return nil
}

// String is the report's line.
func (r *LoadResult) String() string {
	total := r.Dashboards + r.Symptoms + r.Journals + r.Uploads + r.MarkRead
	return fmt.Sprintf("%v at %d req/s: %d requests (%d dashboards, %d symptoms, %d journal entries, %d uploads of %d readings in all, "+
		"%d mark-read), %d errors, %d acknowledged writes missing afterwards, p50 %.2f ms, p99 %.2f ms",
		r.Duration, r.Rate, total, r.Dashboards, r.Symptoms, r.Journals, r.Uploads, r.Readings, r.MarkRead,
		r.Errors, r.Missing, ms(r.P50), ms(r.P99))
}

const (
	recordSymptom = `mutation($input: RecordSymptomInput!) { recordSymptom(input: $input) { id } }`
	addJournal    = `mutation($input: AddJournalEntryInput!) { addJournalEntry(input: $input) { id } }`
	markRead      = `mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) }`
	uploadSize    = 12 // readings per upload: an hour of a sensor
)

// Mixed runs the bounded load test: for d, at rate requests/s (open
// loop), patients' and carers' dashboards (half the requests), symptoms
// and journal entries recorded, CSV reading uploads and notifications
// marked read, all as the patients. Afterwards it reads back every write
// that was acknowledged.
func Mixed(ctx context.Context, h *Harness, rate int, d time.Duration) (*LoadResult, error) {
	res := &LoadResult{Duration: d, Rate: rate}
	var (
		mu         sync.Mutex
		symptoms   []pulid.ID
		journals   []pulid.ID
		readings   = map[pulid.ID]int{}
		notes      []pulid.ID
		counts     [5]atomic.Int64
		errs       atomic.Int64
		firstError sync.Once
	)
	// Notifications to mark read: each owner's, handed out in turn.
	unread, err := h.unreadNotifications(ctx)
	if err != nil {
		return nil, err
	}
	var nextNote atomic.Int64
	// Readings go after the dataset's, a minute apart per owner, so none
	// is a duplicate and none is in the future.
	var uploadSeq [1 << 10]atomic.Int64
	base := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Minute)
	device := fmt.Sprintf("Load test %d", base.Unix())
	post := func(ctx context.Context, v Viewer, query string, vars map[string]any) ([]byte, error) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		return h.Post(ctx, h.URL+"/query", v, body)
	}
	send := func(ctx context.Context, i int) error {
		owner := h.Owners[i%len(h.Owners)]
		switch k := i % 20; {
		case k < 10: // dashboards, patients and carers in turn
			counts[0].Add(1)
			v := owner
			if k%2 == 1 && len(h.Carers) > 0 {
				v = h.Carers[i%len(h.Carers)]
			}
			_, err := h.Post(ctx, h.URL+"/query", v, h.DashboardBody(v))
			return err
		case k < 13:
			counts[1].Add(1)
			out, err := post(ctx, owner, recordSymptom, map[string]any{"input": map[string]any{
				"patientId": owner.PatientID, "name": "Tiredness", "severity": i % 11, "occurredAt": time.Now().UTC().Format(time.RFC3339)}})
			if err != nil {
				return err
			}
			var r struct {
				Data struct{ RecordSymptom struct{ ID pulid.ID } }
			}
			if err := json.Unmarshal(out, &r); err != nil || r.Data.RecordSymptom.ID == "" {
				return fmt.Errorf("recordSymptom: %s", out)
			}
			mu.Lock()
			symptoms = append(symptoms, r.Data.RecordSymptom.ID)
			mu.Unlock()
		case k < 16:
			counts[2].Add(1)
			out, err := post(ctx, owner, addJournal, map[string]any{"input": map[string]any{
				"patientId": owner.PatientID, "title": "Today", "body": "Walked to the shops."}})
			if err != nil {
				return err
			}
			var r struct {
				Data struct{ AddJournalEntry struct{ ID pulid.ID } }
			}
			if err := json.Unmarshal(out, &r); err != nil || r.Data.AddJournalEntry.ID == "" {
				return fmt.Errorf("addJournalEntry: %s", out)
			}
			mu.Lock()
			journals = append(journals, r.Data.AddJournalEntry.ID)
			mu.Unlock()
		case k < 18:
			counts[3].Add(1)
			oi := i % len(h.Owners) % len(uploadSeq)
			seq := uploadSeq[oi].Add(1) - 1
			var csv strings.Builder
			csv.WriteString("type,time,value,unit,device\n")
			for j := range uploadSize {
				at := base.Add(time.Duration(seq*uploadSize+int64(j)) * time.Second)
				fmt.Fprintf(&csv, "GLUCOSE,%s,%.1f,mmol/L,%s\n", at.Format(time.RFC3339), 5+float64(j%30)/10, device)
			}
			n, err := h.upload(ctx, owner, "text/csv", strings.NewReader(csv.String()))
			if err != nil {
				return err
			}
			if n != uploadSize {
				return fmt.Errorf("upload: %d of %d accepted", n, uploadSize)
			}
			mu.Lock()
			readings[owner.PatientID] += n
			mu.Unlock()
		default:
			counts[4].Add(1)
			j := int(nextNote.Add(1) - 1)
			if j >= len(unread) {
				// Every notification is read: read the dashboard instead.
				_, err := h.Post(ctx, h.URL+"/query", owner, h.DashboardBody(owner))
				return err
			}
			n := unread[j]
			out, err := post(ctx, n.viewer, markRead, map[string]any{"ids": []pulid.ID{n.id}})
			if err != nil {
				return err
			}
			if !bytes.Contains(out, []byte(`"markNotificationsRead":1`)) {
				return fmt.Errorf("markNotificationsRead: %s", out)
			}
			mu.Lock()
			notes = append(notes, n.id)
			mu.Unlock()
		}
		return nil
	}
	step := Open(ctx, rate, d, func(ctx context.Context, i int) error {
		err := send(ctx, i)
		if err != nil {
			errs.Add(1)
			firstError.Do(func() { res.FirstError = err.Error() })
		}
		return err
	}, nil)
	res.P50, res.P99 = step.P50, step.P99
	res.Errors = int(errs.Load())
	res.Dashboards, res.Symptoms, res.Journals = int(counts[0].Load()), int(counts[1].Load()), int(counts[2].Load())
	res.Uploads, res.MarkRead = int(counts[3].Load()), int(counts[4].Load())
	for _, n := range readings {
		res.Readings += n
	}

	// Every acknowledged write, read back.
	db := h.Store.DB
	count := func(q string, ids []pulid.ID) (int, error) {
		total := 0
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			var n int
			if err := db.QueryRowContext(ctx, fmt.Sprintf(q, placeholders(len(chunk))), args...).Scan(&n); err != nil {
				return 0, err
			}
			total += n
		}
		return total, nil
	}
	found, err := count("SELECT COUNT(*) FROM `symptoms` WHERE `id` IN (%s)", symptoms)
	if err != nil {
		return nil, err
	}
	res.Missing += len(symptoms) - found
	if found, err = count("SELECT COUNT(*) FROM `journal_entries` WHERE `id` IN (%s)", journals); err != nil {
		return nil, err
	}
	res.Missing += len(journals) - found
	if found, err = count("SELECT COUNT(*) FROM `notifications` WHERE `read_at` IS NOT NULL AND `id` IN (%s)", notes); err != nil {
		return nil, err
	}
	res.Missing += len(notes) - found
	for patient, n := range readings {
		// The readings themselves, and the rollups still counting every
		// reading of the patient once.
		var stored, all, rolled int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `measurements` WHERE `patient_id` = ? AND `device` = ?",
			patient, device).Scan(&stored); err != nil {
			return nil, err
		}
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `measurements` WHERE `patient_id` = ?", patient).Scan(&all); err != nil {
			return nil, err
		}
		if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(`count`), 0) FROM `measurement_rollups` WHERE `patient_id` = ?",
			patient).Scan(&rolled); err != nil {
			return nil, err
		}
		if stored != n || rolled != all {
			res.Missing += max(n-stored, 0) + max(all-rolled, 0)
			res.RollupMismatch += all - rolled
		}
	}
	return res, nil
}

// note is a notification and the viewer it belongs to.
type note struct {
	id     pulid.ID
	viewer Viewer
}

// unreadNotifications lists the owners' unread notifications.
func (h *Harness) unreadNotifications(ctx context.Context) ([]note, error) {
	var out []note
	for _, v := range h.Owners {
		rows, err := h.Store.DB.QueryContext(ctx, "SELECT `id` FROM `notifications` WHERE `recipient_account_id` = ? AND `read_at` IS NULL", v.AccountID)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id pulid.ID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, note{id: id, viewer: v})
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// upload sends a reading upload as v and returns how many were accepted.
func (h *Harness) upload(ctx context.Context, v Viewer, contentType string, body io.Reader) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/measurements/upload?patientId="+string(v.PatientID), body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+v.Token)
	res, err := h.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: upload: status %d: %.300s", ErrAnswer, res.StatusCode, out)
	}
	var rep struct{ Accepted int }
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, errors.Join(ErrAnswer, err)
	}
	return rep.Accepted, nil
}
