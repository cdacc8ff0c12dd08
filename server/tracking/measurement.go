package tracking

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	"github.com/go-sql-driver/mysql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/clinical"
)

// Limits of ingest.
const (
	// ingestMaxReadings is the most readings one call (one transaction)
	// takes.
	ingestMaxReadings = 10_000
	// ingestChunk is the rows one statement writes: 1,000 rows of at most
	// 11 columns stay well below SQLite's 32,766 bound variables.
	ingestChunk = 1_000
	// ingestClockSkew is how far ahead of the server a device clock may run.
	ingestClockSkew = 5 * time.Minute
	// ingestMaxDevice is the longest device name: a varchar(255) on MySQL.
	ingestMaxDevice = 255
	// Bounds of a glucose target range, mmol/L.
	ingestRangeFloor   = 2.0
	ingestRangeCeiling = 25.0
)

// ingestEarliest is the earliest reading accepted: older ones are a device
// clock that was never set (and MySQL's datetime ends at year 1000).
var ingestEarliest = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// ingestReading is one reading on its way in; pos is where it came from:
// its index in the input, or its line in an upload.
type ingestReading struct {
	typ          measurement.Type
	at           time.Time
	value        float64
	value2       *float64
	unit, device string
	pos          int
}

// ingestKey is what makes a reading unique: the measurements table's
// unique (patient_id, type, measured_at, device) index, for one patient.
type ingestKey struct {
	typ    measurement.Type
	at     int64 // Unix microseconds: the precision both engines store
	device string
}

func (r *ingestReading) key() ingestKey {
	return ingestKey{typ: r.typ, at: r.at.UnixMicro(), device: r.device}
}

// RecordMeasurements stores a batch of readings the patient's devices
// took. Each implausible reading is refused with its reason and the rest
// are stored, so one bad line does not lose a day's export; a reading
// already stored (same type, time and device) counts as a duplicate and
// changes nothing. The hourly rollups are kept in the same transaction.
func (s *Service) RecordMeasurements(ctx context.Context, input model.RecordMeasurementsInput) (*model.MeasurementReport, error) {
	if len(input.Readings) > ingestMaxReadings {
		return nil, &clinical.ValidationError{Fields: []clinical.FieldError{{
			Path: "input.readings", Message: fmt.Sprintf("at most %d readings a call", ingestMaxReadings),
		}}}
	}
	v, err := s.diaryActAsPatient(ctx, input.PatientID)
	if err != nil {
		return nil, err
	}
	rs := make([]ingestReading, len(input.Readings))
	for i, r := range input.Readings {
		rs[i] = ingestReading{typ: r.Type, at: r.MeasuredAt, value: r.Value, value2: r.Value2, unit: r.Unit, pos: i}
		if r.Device != nil {
			rs[i].device = *r.Device
		}
	}
	cat := category.General
	if input.Category != nil {
		cat = *input.Category
	}
	return s.ingest(ctx, v, input.PatientID, cat, rs)
}

// ingest checks and stores up to ingestMaxReadings readings for a patient
// the viewer owns (callers check), in one transaction: the readings, the
// rollups of the new ones and one audit event with no values in it.
func (s *Service) ingest(ctx context.Context, v *access.Viewer, patient pulid.ID, cat category.Category, rs []ingestReading) (*model.MeasurementReport, error) {
	rep := &model.MeasurementReport{Refused: []*model.RefusedReading{}}
	rs = s.ingestCheck(rs, rep)
	if len(rs) == 0 {
		return rep, nil
	}
	dia, err := s.ingestDialect(ctx)
	if err != nil {
		return nil, err
	}
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		// Locking the patient serialises ingests and range changes for
		// one patient, so the duplicate check below is exact and the
		// rollups count every reading once, against the current range.
		low, high, err := ingestLockPatient(ctx, tx, dia, patient)
		if err != nil {
			return err
		}
		fresh, err := ingestFresh(ctx, tx, patient, rs)
		if err != nil {
			return err
		}
		if len(fresh) == 0 {
			return nil
		}
		if err := ingestInsert(ctx, tx, patient, cat, fresh); err != nil {
			return err
		}
		if err := ingestRollup(ctx, tx, dia, patient, cat, fresh, low, high); err != nil {
			return err
		}
		rep.Accepted = len(fresh)
		return diaryAudit(ctx, tx, v, patient, nil, "MEASUREMENTS_RECORDED", "Measurement")
	})
	if err != nil {
		return nil, err
	}
	rep.Duplicates += len(rs) - rep.Accepted
	return rep, nil
}

// ingestCheck normalises the readings (UTC to the microsecond, device
// trimmed), reports the implausible ones and the repeats within the batch
// in rep, and returns the others, reusing rs.
func (s *Service) ingestCheck(rs []ingestReading, rep *model.MeasurementReport) []ingestReading {
	latest := s.now().Add(ingestClockSkew)
	seen := make(map[ingestKey]struct{}, len(rs))
	kept := rs[:0]
	for _, r := range rs {
		r.at = r.at.UTC().Truncate(time.Microsecond)
		r.device = strings.TrimSpace(r.device)
		reason := ingestCheckValue(r.typ, r.unit, r.value, r.value2)
		switch {
		case reason != "":
		case r.at.After(latest):
			reason = "measuredAt is in the future"
		case r.at.Before(ingestEarliest):
			reason = "measuredAt is before 1900"
		case !utf8.ValidString(r.device) || utf8.RuneCountInString(r.device) > ingestMaxDevice:
			reason = fmt.Sprintf("device must be at most %d characters of text", ingestMaxDevice)
		}
		if reason != "" {
			rep.Refused = append(rep.Refused, &model.RefusedReading{Index: r.pos, Reason: reason})
			continue
		}
		if _, dup := seen[r.key()]; dup {
			rep.Duplicates++
			continue
		}
		seen[r.key()] = struct{}{}
		kept = append(kept, r)
	}
	return kept
}

// ingestLockPatient locks the patient's row for the transaction (on SQLite
// the transaction already holds the write lock) and returns their glucose
// range.
func ingestLockPatient(ctx context.Context, tx *ent.Client, dia string, patient pulid.ID) (low, high float64, err error) {
	q := "SELECT `glucose_low`, `glucose_high` FROM `patients` WHERE `id` = ?"
	if dia == dialect.MySQL {
		q += " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, q, patient)
	if err != nil {
		return 0, 0, fmt.Errorf("locking the patient: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, 0, errors.Join(clinical.ErrNotFound, rows.Err())
	}
	var l, h sql.NullFloat64
	if err := rows.Scan(&l, &h); err != nil {
		return 0, 0, fmt.Errorf("locking the patient: %w", err)
	}
	low, high = DefaultGlucoseLow, DefaultGlucoseHigh
	if l.Valid {
		low = l.Float64
	}
	if h.Valid {
		high = h.Float64
	}
	return low, high, rows.Close()
}

// ingestFresh returns the readings not stored yet, looking them up by key
// a chunk at a time along the unique index.
func ingestFresh(ctx context.Context, tx *ent.Client, patient pulid.ID, rs []ingestReading) ([]ingestReading, error) {
	stored := map[ingestKey]struct{}{}
	for chunk := range slices.Chunk(rs, ingestChunk) {
		types := map[measurement.Type]struct{}{}
		times := make([]time.Time, len(chunk))
		for i, r := range chunk {
			types[r.typ] = struct{}{}
			times[i] = r.at
		}
		var rows []struct {
			Type       measurement.Type `json:"type"`
			MeasuredAt time.Time        `json:"measured_at"`
			Device     string           `json:"device"`
		}
		err := tx.Measurement.Query().
			Where(measurement.PatientID(patient),
				measurement.TypeIn(slices.Collect(maps.Keys(types))...),
				measurement.MeasuredAtIn(times...)).
			Select(measurement.FieldType, measurement.FieldMeasuredAt, measurement.FieldDevice).
			Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("looking for stored readings: %w", err)
		}
		for _, r := range rows {
			stored[ingestKey{typ: r.Type, at: r.MeasuredAt.UnixMicro(), device: r.Device}] = struct{}{}
		}
	}
	if len(stored) == 0 {
		return rs, nil
	}
	return slices.DeleteFunc(rs, func(r ingestReading) bool {
		_, dup := stored[r.key()]
		return dup
	}), nil
}

// ingestInsert writes new readings in chunks. A reading that is stored
// after all (which the patient lock rules out) is skipped, not an error.
func ingestInsert(ctx context.Context, tx *ent.Client, patient pulid.ID, cat category.Category, rs []ingestReading) error {
	builders := make([]*ent.MeasurementCreate, 0, ingestChunk)
	for chunk := range slices.Chunk(rs, ingestChunk) {
		builders = builders[:0]
		for _, r := range chunk {
			builders = append(builders, tx.Measurement.Create().
				SetPatientID(patient).
				SetCategory(cat).
				SetType(r.typ).
				SetMeasuredAt(r.at).
				SetValue(r.value).
				SetNillableValue2(r.value2).
				SetUnit(r.unit).
				SetDevice(r.device))
		}
		err := tx.Measurement.CreateBulk(builders...).
			OnConflictColumns(measurement.FieldPatientID, measurement.FieldType, measurement.FieldMeasuredAt, measurement.FieldDevice).
			DoNothing().
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("storing readings: %w", err)
		}
	}
	return nil
}

// ingestHour is one hourly rollup's share of a batch.
type ingestHour struct {
	typ                 measurement.Type
	hour                time.Time
	count, below, above int
	sum, min, max       float64
}

// ingestRollup adds new readings to their hourly rollups: summed in Go
// by type and hour, then one upsert per chunk of hours that adds counts
// and sums and widens min and max. Glucose readings outside [low, high]
// count as below or above.
func ingestRollup(ctx context.Context, tx *ent.Client, dia string, patient pulid.ID, cat category.Category, rs []ingestReading, low, high float64) error {
	type slot struct {
		typ  measurement.Type
		hour int64
	}
	hours := map[slot]*ingestHour{}
	for _, r := range rs {
		h := r.at.Truncate(time.Hour)
		k := slot{r.typ, h.Unix()}
		agg := hours[k]
		if agg == nil {
			agg = &ingestHour{typ: r.typ, hour: h, min: r.value, max: r.value}
			hours[k] = agg
		}
		agg.count++
		agg.sum += r.value
		agg.min = min(agg.min, r.value)
		agg.max = max(agg.max, r.value)
		if r.typ == measurement.TypeGLUCOSE {
			switch {
			case r.value < low:
				agg.below++
			case r.value > high:
				agg.above++
			}
		}
	}
	// A stable order keeps concurrent upserts of one patient's rows from
	// deadlocking on MySQL.
	sorted := slices.SortedFunc(maps.Values(hours), func(a, b *ingestHour) int {
		return cmp.Or(cmp.Compare(a.typ, b.typ), a.hour.Compare(b.hour))
	})
	for chunk := range slices.Chunk(sorted, ingestChunk) {
		var q strings.Builder
		q.WriteString("INSERT INTO `measurement_rollups` " +
			"(`id`, `patient_id`, `type`, `category`, `hour`, `count`, `sum`, `min`, `max`, `below`, `above`) VALUES ")
		args := make([]any, 0, 11*len(chunk))
		for i, h := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, pulid.New("mr"), patient, string(h.typ), string(cat), h.hour,
				h.count, h.sum, h.min, h.max, h.below, h.above)
		}
		q.WriteString(ingestRollupMerge[dia])
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("updating rollups: %w", err)
		}
	}
	return nil
}

// ingestRollupMerge is how each engine folds a batch's hour into the
// stored one.
var ingestRollupMerge = map[string]string{
	dialect.SQLite: " ON CONFLICT (`patient_id`, `type`, `hour`, `category`) DO UPDATE SET " +
		"`count` = `count` + excluded.`count`, `sum` = `sum` + excluded.`sum`, " +
		"`min` = MIN(`min`, excluded.`min`), `max` = MAX(`max`, excluded.`max`), " +
		"`below` = `below` + excluded.`below`, `above` = `above` + excluded.`above`",
	dialect.MySQL: " ON DUPLICATE KEY UPDATE " +
		"`count` = `count` + VALUES(`count`), `sum` = `sum` + VALUES(`sum`), " +
		"`min` = LEAST(`min`, VALUES(`min`)), `max` = GREATEST(`max`, VALUES(`max`)), " +
		"`below` = `below` + VALUES(`below`), `above` = `above` + VALUES(`above`)",
}

// ingestDialects caches the engine behind each client: the generated
// client does not say which it is, and raw SQL must.
var ingestDialects sync.Map // *ent.Client → dialect name

// ingestDialect names the engine behind s.client, asking it once:
// sqlite_version() exists only on SQLite, and MySQL answers with its own
// error for an unknown function.
func (s *Service) ingestDialect(ctx context.Context) (string, error) {
	if d, ok := ingestDialects.Load(s.client); ok {
		return d.(string), nil
	}
	d := dialect.SQLite
	rows, err := s.client.QueryContext(access.SystemContext(ctx), "SELECT sqlite_version()")
	var myErr *mysql.MySQLError
	switch {
	case errors.As(err, &myErr):
		d = dialect.MySQL
	case err != nil:
		return "", fmt.Errorf("finding the database engine: %w", err)
	default:
		rows.Close()
	}
	ingestDialects.Store(s.client, d)
	return d, nil
}

// SetGlucoseRange sets the patient's glucose target range (mmol/L) and
// recounts their hourly glucose rollups against it, from the readings.
// Only the patient sets it.
func (s *Service) SetGlucoseRange(ctx context.Context, patientID pulid.ID, low float64, high float64) (*ent.Patient, error) {
	var fields []clinical.FieldError
	bounds := fmt.Sprintf("must be between %g and %g mmol/L", ingestRangeFloor, ingestRangeCeiling)
	if !ingestInRange(low, ingestRangeFloor, ingestRangeCeiling) {
		fields = append(fields, clinical.FieldError{Path: "low", Message: bounds})
	}
	switch {
	case !ingestInRange(high, ingestRangeFloor, ingestRangeCeiling):
		fields = append(fields, clinical.FieldError{Path: "high", Message: bounds})
	case !(low < high):
		fields = append(fields, clinical.FieldError{Path: "high", Message: "must be above low"})
	}
	if len(fields) > 0 {
		return nil, &clinical.ValidationError{Fields: fields}
	}
	v, err := s.diaryActAsPatient(ctx, patientID)
	if err != nil {
		return nil, err
	}
	dia, err := s.ingestDialect(ctx)
	if err != nil {
		return nil, err
	}
	err = s.diaryTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		if _, _, err := ingestLockPatient(ctx, tx, dia, patientID); err != nil {
			return err
		}
		if err := tx.Patient.UpdateOneID(patientID).SetGlucoseLow(low).SetGlucoseHigh(high).Exec(ctx); err != nil {
			return fmt.Errorf("setting the glucose range: %w", err)
		}
		if _, err := tx.ExecContext(ctx, ingestRecount[dia], low, high, patientID); err != nil {
			return fmt.Errorf("recounting glucose rollups: %w", err)
		}
		return diaryAudit(ctx, tx, v, patientID, nil, "GLUCOSE_RANGE_SET", "Patient")
	})
	if err != nil {
		return nil, err
	}
	p, err := s.client.Patient.Get(ctx, patientID)
	return p, diaryNotFound(err)
}

// ingestRecount recounts one patient's glucose rollups against a new range
// (low, high, patient), each hour from the readings of that hour along the
// unique (patient_id, type, measured_at, device) index. SQLite keeps times
// as UTC text that starts "YYYY-MM-DD HH:MM" and sorts as time does, so
// an hour's readings sort from its first 13 characters up to those
// followed by ":60".
var ingestRecount = map[string]string{
	dialect.SQLite: ingestRecountSQL("substr(r.`hour`, 1, 13)", "substr(r.`hour`, 1, 13) || ':60'"),
	dialect.MySQL:  ingestRecountSQL("r.`hour`", "r.`hour` + INTERVAL 1 HOUR"),
}

func ingestRecountSQL(hourStart, hourEnd string) string {
	readings := func(cmp string) string {
		return "(SELECT COUNT(*) FROM `measurements` m WHERE m.`patient_id` = r.`patient_id` " +
			"AND m.`type` = r.`type` AND m.`category` = r.`category` " +
			"AND m.`measured_at` >= " + hourStart + " AND m.`measured_at` < " + hourEnd +
			" AND m.`value` " + cmp + " ?)"
	}
	return "UPDATE `measurement_rollups` AS r SET `below` = " + readings("<") + ", `above` = " + readings(">") +
		" WHERE r.`patient_id` = ? AND r.`type` = 'GLUCOSE'"
}
