package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/tracking"
)

// Sizes is how big a generated dataset is.
type Sizes struct {
	// Patients is the number of patient records, each with an account.
	Patients int `json:"patients"`
	// Items is how many items each of a patient's lists holds
	// (appointments, allergies, results, letters, symptoms, journal).
	Items int `json:"items"`
	// Components is the number of components of each result.
	Components int `json:"components"`
	// ReadingPatients is how many patients (the first ones) carry readings.
	ReadingPatients int `json:"readingPatients"`
	// Readings is how many 5-minute glucose readings each of them has,
	// ending at the dataset's anchor (105,120 is a year).
	Readings int `json:"readings"`
	// Carers is the number of carer accounts; carer i holds a GENERAL-only
	// share of patient i.
	Carers int `json:"carers"`
	// Notifications is how many notifications each patient has.
	Notifications int `json:"notifications"`
}

// DefaultSizes are the sizes of issue 10: 10,000 patients, 100 items per
// list, a year of 5-minute glucose readings for 100 of them.
var DefaultSizes = Sizes{Patients: 10_000, Items: 100, Components: 3, ReadingPatients: 100,
	Readings: 365 * 24 * 12, Carers: 1_000, Notifications: 5}

// SmokeSizes are small enough to generate in well under a second.
var SmokeSizes = Sizes{Patients: 40, Items: 12, Components: 2, ReadingPatients: 2, Readings: 2 * 24 * 12,
	Carers: 4, Notifications: 3}

// Dataset describes a generated store: its sizes and the instant its
// timeline is anchored at. It is kept beside the SQLite file, as
// <file>.json, so a later run reuses the file.
type Dataset struct {
	Sizes  Sizes     `json:"sizes"`
	Anchor time.Time `json:"anchor"`
	// Rows is how many rows generation wrote (readings and rollups apart).
	Rows int `json:"rows"`
	// Took is how long generation took.
	Took Duration `json:"took"`
}

// Duration is a time.Duration that reads and writes as text in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// Emails of generated accounts: the harness finds its viewers by them.
func patientEmail(i int) string { return fmt.Sprintf("patient%07d@bench.example", i) }
func carerEmail(i int) string   { return fmt.Sprintf("carer%07d@bench.example", i) }

// OpenDataset opens the SQLite file at path holding a dataset of sizes,
// generating it when the file is missing or holds other sizes (the file is
// then replaced). progress gets a line per stage.
func OpenDataset(ctx context.Context, path string, sizes Sizes, progress func(string), opts ...store.Option) (*store.Store, *Dataset, error) {
	meta := path + ".json"
	var ds Dataset
	if b, err := os.ReadFile(meta); err == nil && json.Unmarshal(b, &ds) == nil && ds.Sizes == sizes {
		if _, err := os.Stat(path); err == nil {
			st, err := store.Open(ctx, "sqlite:"+path, opts...)
			if err != nil {
				return nil, nil, err
			}
			if err := st.Migrate(ctx); err != nil {
				st.Close()
				return nil, nil, err
			}
			progress(fmt.Sprintf("reusing %s (%d patients, generated in %s)", path, sizes.Patients, time.Duration(ds.Took).Round(time.Second)))
			return st, &ds, nil
		}
	}
	for _, f := range []string{meta, path, path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
	}
	st, err := store.Open(ctx, "sqlite:"+path, opts...)
	if err != nil {
		return nil, nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	start := time.Now()
	ds = Dataset{Sizes: sizes, Anchor: start.UTC().Truncate(time.Hour)}
	if ds.Rows, err = Generate(ctx, st, sizes, ds.Anchor, progress); err != nil {
		st.Close()
		return nil, nil, err
	}
	ds.Took = Duration(time.Since(start))
	b, _ := json.MarshalIndent(ds, "", "  ")
	if err := os.WriteFile(meta, b, 0o644); err != nil {
		st.Close()
		return nil, nil, err
	}
	// Opened afresh, as the portal would open it: Open prepares the
	// planner statistics Generate's ANALYZE wrote (see store.Open).
	st.Close()
	if st, err = store.Open(ctx, "sqlite:"+path, opts...); err != nil {
		return nil, nil, err
	}
	return st, &ds, nil
}

// table is the rows of one table waiting to be written.
type table struct {
	name    string
	columns []string
	rows    [][]any
}

func (t *table) add(values ...any) {
	if len(values) != len(t.columns) {
		panic(fmt.Sprintf("bench: %s: %d values for %d columns", t.name, len(values), len(t.columns)))
	}
	t.rows = append(t.rows, values)
}

// maxVariables is SQLite's limit of bound variables in one statement.
const maxVariables = 32_766

// flush writes t's rows in one transaction, as multi-row INSERTs of as many
// rows as the bound-variable limit allows.
func flush(ctx context.Context, db *sql.DB, t *table) (int, error) {
	if len(t.rows) == 0 {
		return 0, nil
	}
	per := min(maxVariables/len(t.columns), 2000)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.columns)), ",") + ")"
	head := "INSERT INTO `" + t.name + "` (`" + strings.Join(t.columns, "`,`") + "`) VALUES "
	var full *sql.Stmt
	args := make([]any, 0, per*len(t.columns))
	for start := 0; start < len(t.rows); start += per {
		chunk := t.rows[start:min(start+per, len(t.rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if len(chunk) == per {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+",", per), ",")); err != nil {
					return 0, err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+",", len(chunk)), ","), args...)
		}
		if err != nil {
			return 0, fmt.Errorf("bench: inserting into %s: %w", t.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	n := len(t.rows)
	t.rows = t.rows[:0]
	return n, nil
}

// categoryOf is the label of a list's i-th item: seven in ten GENERAL, one
// each MENTAL_HEALTH, SEXUAL_HEALTH and SOCIAL_CARE, so a GENERAL-only
// carer sees 70% of every list.
func categoryOf(i int) string {
	switch i % 10 {
	case 3:
		return "MENTAL_HEALTH"
	case 6:
		return "SEXUAL_HEALTH"
	case 9:
		return "SOCIAL_CARE"
	}
	return "GENERAL"
}

// patientsPerFlush bounds the rows held in memory.
const patientsPerFlush = 500

// Generate writes a dataset of sizes into st, its timeline anchored at
// anchor: a trust; every patient with an account (P9), a link to the trust
// (which invited them), Items appointments (half of them after anchor),
// allergies, results with components, letters (a third unread), symptoms,
// journal entries (a tenth PRIVATE) and notifications; carers with
// GENERAL-only shares; and, through the production ingest path (so the
// hourly rollups are built as in production), glucose readings. Rows
// other than readings are written as bulk INSERTs below Ent, so Generate
// writes the derived columns (category, visible_from) itself, as the hooks
// would. It returns the rows written by bulk.
func Generate(ctx context.Context, st *store.Store, sizes Sizes, anchor time.Time, progress func(string)) (int, error) {
	db := st.DB
	sys := access.SystemContext(ctx)
	org, err := st.Client.Organisation.Create().SetOdsCode("RBN").SetName("Benchmark University Hospitals NHS Trust").
		SetKind("TRUST").SetLogoURL("https://bench.example/logo.png").
		SetWelcomeMessage("Welcome to your record at Benchmark University Hospitals.").Save(sys)
	if err != nil {
		return 0, err
	}
	cols := func(name string, columns ...string) *table { return &table{name: name, columns: columns} }
	accounts := cols("accounts", "id", "created_at", "updated_at", "email", "display_name", "identity_level", "notification_email")
	patients := cols("patients", "id", "created_at", "updated_at", "nhs_number", "given_name", "family_name",
		"date_of_birth", "account_id", "invited_by_organisation_id")
	links := cols("patient_organisations", "patient_id", "organisation_id", "linked_at")
	shares := cols("shares", "id", "created_at", "updated_at", "patient_id", "relationship", "mental_health",
		"sexual_health", "social_care", "accepted_at", "grantee_account_id")
	appointments := cols("appointments", "id", "created_at", "updated_at", "patient_id", "category", "assigned_category",
		"source_organisation_id", "starts_at", "duration_minutes", "status", "title", "specialty", "clinic", "site")
	allergies := cols("allergies", "id", "created_at", "updated_at", "patient_id", "category", "assigned_category",
		"source_organisation_id", "kind", "substance", "reaction", "severity", "status", "recorded_by", "recorded_at")
	results := cols("results", "id", "created_at", "updated_at", "patient_id", "category", "assigned_category",
		"source_organisation_id", "name", "status", "taken_at", "reported_at", "released_at", "never_release", "visible_from")
	components := cols("result_components", "id", "created_at", "updated_at", "patient_id", "result_id", "category",
		"source_organisation_id", "name", "value_numeric", "unit", "reference_low", "reference_high", "flag")
	letters := cols("letters", "id", "created_at", "updated_at", "patient_id", "category", "assigned_category",
		"source_organisation_id", "title", "sent_at", "body", "body_format", "read_at")
	symptoms := cols("symptoms", "id", "created_at", "updated_at", "patient_id", "category", "name", "severity", "occurred_at")
	journal := cols("journal_entries", "id", "created_at", "updated_at", "patient_id", "category", "title", "body", "written_at")
	notifications := cols("notifications", "id", "recipient_account_id", "patient_id", "kind", "category", "created_at")
	// Parents before children, for the foreign keys.
	order := []*table{accounts, patients, links, shares, appointments, allergies, results, components, letters,
		symptoms, journal, notifications}

	type comp struct {
		name, unit  string
		low, high   float64
		numberScale float64
	}
	comps := []comp{{"Haemoglobin", "g/L", 130, 180, 160}, {"White cell count", "10*9/L", 4, 11, 7},
		{"Platelets", "10*9/L", 150, 400, 250}, {"Sodium", "mmol/L", 133, 146, 140}}
	severities := []string{"MILD", "MODERATE", "SEVERE"}
	day := 24 * time.Hour
	rows := 0
	write := func() error {
		for _, t := range order {
			n, err := flush(ctx, db, t)
			if err != nil {
				return err
			}
			rows += n
		}
		return nil
	}
	carerAccounts := make([]pulid.ID, sizes.Carers)
	for i := range carerAccounts {
		carerAccounts[i] = pulid.New("ac")
		accounts.add(carerAccounts[i], anchor, anchor, carerEmail(i), fmt.Sprintf("Carer %d", i), "P9", "OFF")
	}
	readers := make([]owner, 0, sizes.ReadingPatients)
	for i := range sizes.Patients {
		acc, pt := pulid.New("ac"), pulid.New("pt")
		joined := anchor.Add(-2 * 365 * day)
		accounts.add(acc, joined, joined, patientEmail(i), fmt.Sprintf("Patient %d", i), "P9", "OFF")
		patients.add(pt, joined, joined, nhsNumber(i), "Bench", fmt.Sprintf("Patient%07d", i),
			time.Date(1940+i%60, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC), acc, org.ID)
		links.add(pt, org.ID, joined)
		if i < sizes.Carers {
			shares.add(pulid.New("sh"), joined, joined, pt, "CARER", false, false, false, joined, carerAccounts[i])
		}
		if i < sizes.ReadingPatients {
			readers = append(readers, owner{account: acc, patient: pt})
		}
		n := max(sizes.Items, 1)
		for k := range sizes.Items {
			cat := categoryOf(k)
			// Spread over the year before the anchor (appointments: the year
			// either side), newest last, on whole seconds.
			past := anchor.Add(-time.Duration(n-k) * 365 * day / time.Duration(n)).Add(-time.Duration(i%3600) * time.Second)
			starts := anchor.Add(time.Duration(2*k-n) * 365 * day / time.Duration(n)).Add(time.Duration(i%3600+1) * time.Second)
			appointments.add(pulid.New("ap"), past, past, pt, cat, cat, org.ID, starts, 30, "BOOKED",
				fmt.Sprintf("Outpatient appointment %d", k), "Diabetes", "Diabetes clinic", "Main outpatients")
			allergies.add(pulid.New("al"), past, past, pt, cat, cat, org.ID, "ALLERGY", fmt.Sprintf("Substance %d", k),
				"Rash", severities[k%3], "ACTIVE", "TRUST", past)
			rs := pulid.New("rs")
			released := past.Add(time.Hour)
			results.add(rs, past, past, pt, cat, cat, org.ID, "Full blood count", "FINAL", past.Add(-day), past, released, false, released)
			for c := range sizes.Components {
				cp := comps[c%len(comps)]
				v := math.Round(cp.numberScale*(0.8+0.4*float64((i+k+c)%10)/10)*10) / 10
				flag := "NORMAL"
				if v < cp.low {
					flag = "LOW"
				} else if v > cp.high {
					flag = "HIGH"
				}
				components.add(pulid.New("co"), past, past, pt, rs, cat, org.ID, cp.name, v, cp.unit, cp.low, cp.high, flag)
			}
			var read *time.Time
			if k%3 != 0 {
				r := past.Add(2 * day)
				read = &r
			}
			letters.add(pulid.New("lt"), past, past, pt, cat, cat, org.ID, fmt.Sprintf("Clinic letter %d", k), past,
				"Dear patient, this is a letter from the clinic.", "TEXT", read)
			scat := cat
			symptoms.add(pulid.New("sy"), past, past, pt, scat, "Headache", 1+k%10, past)
			if k%10 == 5 {
				scat = "PRIVATE"
			}
			journal.add(pulid.New("jo"), past, past, pt, scat, fmt.Sprintf("Day %d", k), "Felt fine today.", past)
		}
		for k := range sizes.Notifications {
			at := anchor.Add(-time.Duration(k+1) * time.Hour)
			notifications.add(pulid.New("no"), acc, pt, "LETTER_RECEIVED", "GENERAL", at)
		}
		if (i+1)%patientsPerFlush == 0 || i == sizes.Patients-1 {
			if err := write(); err != nil {
				return rows, err
			}
			progress(fmt.Sprintf("patients: %d of %d (%d rows)", i+1, sizes.Patients, rows))
		}
	}
	if err := write(); err != nil { // carers alone, when there are no patients
		return rows, err
	}
	if err := generateReadings(ctx, st, readers, sizes.Readings, anchor, progress); err != nil {
		return rows, err
	}
	// Fresh statistics for the query planner, as after a long life.
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return rows, err
	}
	return rows, nil
}

// owner is a patient's account and record.
type owner struct{ account, patient pulid.ID }

// readingsPerCall is the most readings the ingest path takes in one call.
const readingsPerCall = 10_000

// generateReadings stores n 5-minute glucose readings ending at anchor for
// each patient, through tracking.Service as the patient: the same
// transaction, duplicate check and rollups as an upload.
func generateReadings(ctx context.Context, st *store.Store, patients []owner, n int, anchor time.Time, progress func(string)) error {
	if n == 0 || len(patients) == 0 {
		return nil
	}
	svc := tracking.New(st.Client, tracking.Config{Now: func() time.Time { return anchor }})
	device := "Libre 2"
	batch := make([]*model.MeasurementInput, 0, readingsPerCall)
	start := time.Now()
	for pi, pt := range patients {
		viewer := access.NewContext(ctx, &access.Viewer{
			AccountID:     pt.account,
			Grants:        []access.Grant{{PatientID: pt.patient, Owner: true}},
			IdentityLevel: access.IdentityVerified,
			Now:           anchor,
		})
		first := anchor.Add(-time.Duration(n-1) * 5 * time.Minute)
		for off := 0; off < n; off += readingsPerCall {
			batch = batch[:0]
			for j := off; j < min(off+readingsPerCall, n); j++ {
				batch = append(batch, &model.MeasurementInput{Type: measurement.TypeGLUCOSE, Unit: "mmol/L", Device: &device,
					MeasuredAt: first.Add(time.Duration(j) * 5 * time.Minute), Value: glucose(pi, j)})
			}
			rep, err := svc.RecordMeasurements(viewer, model.RecordMeasurementsInput{PatientID: pt.patient, Readings: batch})
			if err != nil {
				return fmt.Errorf("bench: readings: %w", err)
			}
			if rep.Accepted != len(batch) {
				return fmt.Errorf("bench: readings: %d of %d accepted (%d refused)", rep.Accepted, len(batch), len(rep.Refused))
			}
		}
		if (pi+1)%10 == 0 || pi == len(patients)-1 {
			done := (pi + 1) * n
			progress(fmt.Sprintf("readings: %d patients, %d readings (%.0f/s)", pi+1, done, float64(done)/time.Since(start).Seconds()))
		}
	}
	return nil
}

// glucose is a daily curve that leaves a 3.9–10 mmol/L range on both
// sides, so the rollups count readings below and above.
func glucose(patient, j int) float64 {
	return math.Round((7+4*math.Sin(2*math.Pi*float64(j%288)/288+float64(patient)))*10) / 10
}

// nhsNumber is a valid NHS number (Modulus 11) unique to i, in the 999
// range kept for testing.
func nhsNumber(i int) string {
	for base := i * 10; ; base++ {
		d := fmt.Sprintf("999%06d", base%1_000_000)
		sum := 0
		for k := range 9 {
			sum += int(d[k]-'0') * (10 - k)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check != 10 {
			return d + fmt.Sprint(check)
		}
	}
}
