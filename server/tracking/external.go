package tracking

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/predicate"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// Readings that a trust's system sends (vital signs in FHIR Observations)
// rather than the patient's devices. Each is known by its identifier at
// the source, so sending it again updates it, and the hourly rollups stay
// exact through creates, changes and deletions. The caller owns the
// transaction; these functions only write inside it.

// ExternalReading is one reading from an organisation's system.
type ExternalReading struct {
	Patient pulid.ID
	// Organisation sent it; ExternalSystem and ExternalValue identify it
	// there.
	Organisation                  pulid.ID
	ExternalSystem, ExternalValue string
	Type                          measurement.Type
	MeasuredAt                    time.Time
	// Value is systolic for blood pressure, Value2 diastolic.
	Value  float64
	Value2 *float64
	// Unit is the one the type takes (see ingestKinds): the caller converts.
	Unit     string
	Category category.Category
	// AssignedCategory is the label the source gave, if any.
	AssignedCategory *category.Category
	// Now is the clock: a reading from the future is refused.
	Now time.Time
}

// ExternalChange is what PutExternalReading did.
type ExternalChange int

// What PutExternalReading did.
const (
	ExternalUnchanged ExternalChange = iota
	ExternalCreated
	ExternalUpdated
)

var (
	// ErrImplausible refuses a reading whose value, unit or time cannot be
	// right; the wrapped message says which, without the value.
	ErrImplausible = errors.New("tracking: implausible reading")
	// ErrOccupied refuses moving a reading onto the type and time another
	// reading of the patient holds.
	ErrOccupied = errors.New("tracking: another reading of that type holds that time")
	// ErrOtherPatient refuses a reading whose identifier the organisation
	// used for another patient's reading.
	ErrOtherPatient = errors.New("tracking: the identifier belongs to another patient's reading")
)

// PutExternalReading stores one reading an organisation sent, inside the
// caller's transaction tx, keyed by (organisation, external system,
// external value): a new one is inserted and added to its hourly rollup; a
// changed one is updated and the hours it left and joined are recounted
// from the stored readings; an unchanged one writes nothing. External
// readings have no device, so the measurements' unique (patient, type,
// time, device) key may already be held by another reading (the patient's
// own meter with no device name, or another sender): the new one is then
// reported unchanged with that reading's ID rather than failing.
func PutExternalReading(ctx context.Context, tx *ent.Client, in ExternalReading) (pulid.ID, ExternalChange, error) {
	at := in.MeasuredAt.UTC().Truncate(time.Microsecond)
	if reason := externalCheck(in, at); reason != "" {
		return "", ExternalUnchanged, fmt.Errorf("%w: %s", ErrImplausible, reason)
	}
	var dia string
	old, err := tx.Measurement.Query().
		Where(externalIdentity(in.Organisation, in.ExternalSystem, in.ExternalValue), externalDialect(&dia)).
		Only(ctx)
	if ent.IsNotFound(err) {
		return externalCreate(ctx, tx, dia, in, at)
	}
	if err != nil {
		return "", ExternalUnchanged, fmt.Errorf("finding the reading: %w", err)
	}
	if old.PatientID != in.Patient {
		return "", ExternalUnchanged, ErrOtherPatient
	}
	if externalSame(old, in, at) {
		return old.ID, ExternalUnchanged, nil
	}
	low, high, err := ingestLockPatient(ctx, tx, dia, in.Patient)
	if err != nil {
		return "", ExternalUnchanged, err
	}
	if old.Type != in.Type || !old.MeasuredAt.Equal(at) {
		holder, err := externalHolder(ctx, tx, dia, in.Patient, in.Type, at)
		if err != nil {
			return "", ExternalUnchanged, err
		}
		if holder != "" && holder != old.ID {
			return "", ExternalUnchanged, ErrOccupied
		}
	}
	up := tx.Measurement.UpdateOneID(old.ID).
		SetType(in.Type).SetMeasuredAt(at).SetValue(in.Value).SetUnit(in.Unit).SetCategory(in.Category)
	if in.Value2 != nil {
		up.SetValue2(*in.Value2)
	} else {
		up.ClearValue2()
	}
	if in.AssignedCategory != nil {
		up.SetAssignedCategory(*in.AssignedCategory)
	} else {
		up.ClearAssignedCategory()
	}
	if err := up.Exec(ctx); err != nil {
		return "", ExternalUnchanged, fmt.Errorf("updating the reading: %w", err)
	}
	left := externalSlot{old.Type, old.Category, old.MeasuredAt.UTC().Truncate(time.Hour)}
	joined := externalSlot{in.Type, in.Category, at.Truncate(time.Hour)}
	if err := externalRecount(ctx, tx, dia, in.Patient, left, low, high); err != nil {
		return "", ExternalUnchanged, err
	}
	if joined != left {
		if err := externalRecount(ctx, tx, dia, in.Patient, joined, low, high); err != nil {
			return "", ExternalUnchanged, err
		}
	}
	return old.ID, ExternalUpdated, nil
}

// DeleteExternalReading removes the reading an organisation sent under
// (system, value), if there is one, and recounts its hour. It reports the
// reading's ID and whether there was one.
func DeleteExternalReading(ctx context.Context, tx *ent.Client, organisation pulid.ID, system, value string) (pulid.ID, bool, error) {
	var dia string
	old, err := tx.Measurement.Query().
		Where(externalIdentity(organisation, system, value), externalDialect(&dia)).
		Only(ctx)
	if ent.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("finding the reading: %w", err)
	}
	low, high, err := ingestLockPatient(ctx, tx, dia, old.PatientID)
	if err != nil {
		return "", false, err
	}
	if err := tx.Measurement.DeleteOneID(old.ID).Exec(ctx); err != nil {
		return "", false, fmt.Errorf("deleting the reading: %w", err)
	}
	slot := externalSlot{old.Type, old.Category, old.MeasuredAt.UTC().Truncate(time.Hour)}
	if err := externalRecount(ctx, tx, dia, old.PatientID, slot, low, high); err != nil {
		return "", false, err
	}
	return old.ID, true, nil
}

// externalCreate inserts a reading the organisation has not sent before,
// unless another reading holds its key.
func externalCreate(ctx context.Context, tx *ent.Client, dia string, in ExternalReading, at time.Time) (pulid.ID, ExternalChange, error) {
	low, high, err := ingestLockPatient(ctx, tx, dia, in.Patient)
	if err != nil {
		return "", ExternalUnchanged, err
	}
	holder, err := externalHolder(ctx, tx, dia, in.Patient, in.Type, at)
	if err != nil {
		return "", ExternalUnchanged, err
	}
	if holder != "" {
		return holder, ExternalUnchanged, nil
	}
	m, err := tx.Measurement.Create().
		SetPatientID(in.Patient).
		SetCategory(in.Category).
		SetNillableAssignedCategory(in.AssignedCategory).
		SetSourceOrganisationID(in.Organisation).
		SetExternalSystem(in.ExternalSystem).
		SetExternalValue(in.ExternalValue).
		SetType(in.Type).
		SetMeasuredAt(at).
		SetValue(in.Value).
		SetNillableValue2(in.Value2).
		SetUnit(in.Unit).
		SetDevice("").
		Save(ctx)
	if err != nil {
		return "", ExternalUnchanged, fmt.Errorf("storing the reading: %w", err)
	}
	r := ingestReading{typ: in.Type, at: at, value: in.Value}
	if err := ingestRollup(ctx, tx, dia, in.Patient, in.Category, []ingestReading{r}, low, high); err != nil {
		return "", ExternalUnchanged, err
	}
	return m.ID, ExternalCreated, nil
}

// externalCheck returns why a reading is refused, or "".
func externalCheck(in ExternalReading, at time.Time) string {
	switch {
	case in.Patient == "" || in.Organisation == "" || in.ExternalSystem == "" || in.ExternalValue == "":
		return "the reading has no patient, organisation or identifier"
	case !in.Category.Valid():
		return "the category is not a label"
	case in.AssignedCategory != nil && !in.AssignedCategory.Valid():
		return "the assigned category is not a label"
	case !in.Now.IsZero() && at.After(in.Now.Add(ingestClockSkew)):
		return "measuredAt is in the future"
	case at.Before(ingestEarliest):
		return "measuredAt is before 1900"
	}
	return ingestCheckValue(in.Type, in.Unit, in.Value, in.Value2)
}

// externalSame reports whether the stored reading already says what in says.
func externalSame(m *ent.Measurement, in ExternalReading, at time.Time) bool {
	sameValue2 := m.Value2 == nil && in.Value2 == nil || m.Value2 != nil && in.Value2 != nil && *m.Value2 == *in.Value2
	sameAssigned := m.AssignedCategory == nil && in.AssignedCategory == nil ||
		m.AssignedCategory != nil && in.AssignedCategory != nil && *m.AssignedCategory == *in.AssignedCategory
	return m.Type == in.Type && m.MeasuredAt.Equal(at) && m.Value == in.Value && sameValue2 &&
		m.Unit == in.Unit && m.Category == in.Category && sameAssigned
}

// externalIdentity finds the reading an organisation sent under an identifier.
func externalIdentity(organisation pulid.ID, system, value string) predicate.Measurement {
	return measurement.And(measurement.SourceOrganisationID(organisation),
		measurement.ExternalSystem(system), measurement.ExternalValue(value))
}

// externalDialect notes the engine the query is built for: the generated
// client does not say, and the raw statements below must. It adds no
// condition.
func externalDialect(dia *string) predicate.Measurement {
	return func(s *entsql.Selector) { *dia = s.Dialect() }
}

// externalLocking makes a read inside the transaction see the latest
// committed rows: on MariaDB a plain read sees the transaction's first
// snapshot, which may predate readings another transaction committed
// before this one locked the patient. SQLite has one writer at a time.
func externalLocking(dia string) string {
	if dia == dialect.MySQL {
		return " LOCK IN SHARE MODE"
	}
	return ""
}

// externalHolder returns the reading of the patient that holds a type and
// time (with no device name), or "".
func externalHolder(ctx context.Context, tx *ent.Client, dia string, patient pulid.ID, typ measurement.Type, at time.Time) (pulid.ID, error) {
	rows, err := tx.QueryContext(ctx, "SELECT `id` FROM `measurements` WHERE `patient_id` = ? AND `type` = ? "+
		"AND `measured_at` = ? AND `device` = ''"+externalLocking(dia), patient, string(typ), at)
	if err != nil {
		return "", fmt.Errorf("looking for a reading at that time: %w", err)
	}
	defer rows.Close()
	var id string
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			return "", fmt.Errorf("looking for a reading at that time: %w", err)
		}
	}
	return pulid.ID(id), rows.Err()
}

// externalSlot is one hourly rollup: a type, a category and an hour.
type externalSlot struct {
	typ  measurement.Type
	cat  category.Category
	hour time.Time
}

// externalRecount sets one hourly rollup from the readings stored in that
// hour, deleting it when none are left. Glucose readings outside [low,
// high] count as below or above, as ingestRollup counts them.
func externalRecount(ctx context.Context, tx *ent.Client, dia string, patient pulid.ID, s externalSlot, low, high float64) error {
	rows, err := tx.QueryContext(ctx, "SELECT COUNT(*), SUM(`value`), MIN(`value`), MAX(`value`), "+
		"SUM(CASE WHEN `value` < ? THEN 1 ELSE 0 END), SUM(CASE WHEN `value` > ? THEN 1 ELSE 0 END) "+
		"FROM `measurements` WHERE `patient_id` = ? AND `type` = ? AND `category` = ? "+
		"AND `measured_at` >= ? AND `measured_at` < ?"+externalLocking(dia),
		low, high, patient, string(s.typ), string(s.cat), s.hour, s.hour.Add(time.Hour))
	if err != nil {
		return fmt.Errorf("recounting a rollup: %w", err)
	}
	defer rows.Close()
	var (
		count        int
		sum, lo, hi  sql.NullFloat64
		below, above sql.NullInt64
	)
	if rows.Next() {
		if err := rows.Scan(&count, &sum, &lo, &hi, &below, &above); err != nil {
			return fmt.Errorf("recounting a rollup: %w", err)
		}
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("recounting a rollup: %w", err)
	}
	if s.typ != measurement.TypeGLUCOSE {
		below.Int64, above.Int64 = 0, 0
	}
	where := []predicate.MeasurementRollup{
		measurementrollup.PatientID(patient), measurementrollup.TypeEQ(measurementrollup.Type(s.typ)),
		measurementrollup.CategoryEQ(s.cat), measurementrollup.Hour(s.hour),
	}
	if count == 0 {
		if _, err := tx.MeasurementRollup.Delete().Where(where...).Exec(ctx); err != nil {
			return fmt.Errorf("removing an empty rollup: %w", err)
		}
		return nil
	}
	err = tx.MeasurementRollup.Create().
		SetPatientID(patient).SetType(measurementrollup.Type(s.typ)).SetCategory(s.cat).SetHour(s.hour).
		SetCount(count).SetSum(sum.Float64).SetMin(lo.Float64).SetMax(hi.Float64).
		SetBelow(int(below.Int64)).SetAbove(int(above.Int64)).
		OnConflictColumns(measurementrollup.FieldPatientID, measurementrollup.FieldType,
			measurementrollup.FieldHour, measurementrollup.FieldCategory).
		UpdateNewValues().
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("setting a rollup: %w", err)
	}
	return nil
}
