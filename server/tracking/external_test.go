package tracking_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
	"github.com/patientportal/portal/server/tracking"
)

// externalWorld is a store with a patient who records their own readings
// and an organisation that sends readings too.
type externalWorld struct {
	client  *ent.Client
	sys     context.Context
	svc     *tracking.Service
	owner   context.Context
	patient pulid.ID
	other   pulid.ID
	org     pulid.ID
	now     time.Time
}

func newExternalWorld(t *testing.T) *externalWorld {
	t.Helper()
	st := storetest.Open(t)
	sys := access.SystemContext(context.Background())
	now := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	acc, err := st.Client.Account.Create().SetEmail("owner@example.org").SetDisplayName("Owner").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Client.Patient.Create().SetAccountID(acc.ID).SetGivenName("Ada").SetFamilyName("Example").
		SetDateOfBirth(time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC)).
		SetGlucoseLow(4).SetGlucoseHigh(9).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.Client.Patient.Create().SetGivenName("Bo").SetFamilyName("Example").
		SetDateOfBirth(time.Date(1981, 6, 18, 0, 0, 0, 0, time.UTC)).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	org, err := st.Client.Organisation.Create().SetOdsCode("RXX").SetName("Test Trust").SetKind(organisation.KindTRUST).Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	owner := access.NewContext(context.Background(), &access.Viewer{
		AccountID:     acc.ID,
		Grants:        []access.Grant{{PatientID: p.ID, Owner: true}},
		IdentityLevel: access.IdentityVerified,
		Now:           now,
	})
	svc := tracking.New(st.Client, tracking.Config{Now: func() time.Time { return now }})
	return &externalWorld{client: st.Client, sys: sys, svc: svc, owner: owner, patient: p.ID, other: other.ID, org: org.ID, now: now}
}

// put stores a reading in a transaction of its own, as the importer does.
func (w *externalWorld) put(in tracking.ExternalReading) (id pulid.ID, change tracking.ExternalChange, err error) {
	err = store.InTx(w.sys, w.client, func(tx *ent.Client) error {
		var err error
		id, change, err = tracking.PutExternalReading(w.sys, tx, in)
		return err
	})
	return id, change, err
}

func (w *externalWorld) remove(value string) (found bool, err error) {
	err = store.InTx(w.sys, w.client, func(tx *ent.Client) error {
		var err error
		_, found, err = tracking.DeleteExternalReading(w.sys, tx, w.org, "urn:lab", value)
		return err
	})
	return found, err
}

// checkRollups compares every rollup of the patient with one counted
// afresh from the stored readings.
func (w *externalWorld) checkRollups(t *testing.T) {
	t.Helper()
	type key struct {
		typ  measurement.Type
		cat  category.Category
		hour int64
	}
	type tally struct {
		count, below, above int
		sum, min, max       float64
	}
	want := map[key]*tally{}
	ms, err := w.client.Measurement.Query().Where(measurement.PatientID(w.patient)).All(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		k := key{m.Type, m.Category, m.MeasuredAt.UTC().Truncate(time.Hour).Unix()}
		s := want[k]
		if s == nil {
			s = &tally{min: m.Value, max: m.Value}
			want[k] = s
		}
		s.count++
		s.sum += m.Value
		s.min, s.max = min(s.min, m.Value), max(s.max, m.Value)
		if m.Type == measurement.TypeGLUCOSE {
			switch {
			case m.Value < 4:
				s.below++
			case m.Value > 9:
				s.above++
			}
		}
	}
	rs, err := w.client.MeasurementRollup.Query().Where(measurementrollup.PatientID(w.patient)).All(w.sys)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(want) {
		t.Errorf("%d rollups, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		k := key{measurement.Type(r.Type), r.Category, r.Hour.UTC().Unix()}
		s := want[k]
		if s == nil {
			t.Errorf("rollup %s %s %s has no readings", r.Type, r.Category, r.Hour.UTC())
			continue
		}
		if r.Count != s.count || math.Abs(r.Sum-s.sum) > 1e-9 || r.Min != s.min || r.Max != s.max ||
			r.Below != s.below || r.Above != s.above {
			t.Errorf("rollup %s %s %s = count %d sum %g min %g max %g below %d above %d; readings give %+v",
				r.Type, r.Category, r.Hour.UTC(), r.Count, r.Sum, r.Min, r.Max, r.Below, r.Above, *s)
		}
	}
}

func TestExternalReadingsKeepRollupsExact(t *testing.T) {
	w := newExternalWorld(t)
	at := func(h, m int) time.Time { return time.Date(2024, 2, 1, h, m, 0, 0, time.UTC) }
	meter := "Meter"
	// The patient's own readings share the hours the trust's land in; one
	// has no device name, as the trust's readings have none.
	rep, err := w.svc.RecordMeasurements(w.owner, model.RecordMeasurementsInput{PatientID: w.patient, Readings: []*model.MeasurementInput{
		{Type: measurement.TypeGLUCOSE, MeasuredAt: at(10, 5), Value: 6, Unit: "mmol/L", Device: &meter},
		{Type: measurement.TypeGLUCOSE, MeasuredAt: at(11, 40), Value: 3.2, Unit: "mmol/L", Device: &meter},
		{Type: measurement.TypeGLUCOSE, MeasuredAt: at(12, 0), Value: 7, Unit: "mmol/L"},
	}})
	if err != nil || rep.Accepted != 3 {
		t.Fatalf("recording the patient's readings: %+v, %v", rep, err)
	}
	glucose := func(value string, when time.Time, v float64) tracking.ExternalReading {
		return tracking.ExternalReading{Patient: w.patient, Organisation: w.org, ExternalSystem: "urn:lab", ExternalValue: value,
			Type: measurement.TypeGLUCOSE, MeasuredAt: when, Value: v, Unit: "mmol/L", Category: category.General, Now: w.now}
	}
	sexualHealth := category.SexualHealth
	relabelled := glucose("g1", at(11, 20), 5)
	relabelled.Category, relabelled.AssignedCategory = category.SexualHealth, &sexualHealth
	bp := tracking.ExternalReading{Patient: w.patient, Organisation: w.org, ExternalSystem: "urn:lab", ExternalValue: "bp1",
		Type: measurement.TypeBLOOD_PRESSURE, MeasuredAt: at(10, 30), Value: 120, Value2: externalPtr(80.0), Unit: "mmHg",
		Category: category.General, Now: w.now}
	otherPatient := glucose("g1", at(11, 20), 5)
	otherPatient.Patient = w.other
	future := glucose("g9", w.now.Add(time.Hour), 5)

	var firstID pulid.ID
	steps := []struct {
		name    string
		in      tracking.ExternalReading
		want    tracking.ExternalChange
		wantErr error
		check   func(t *testing.T, id pulid.ID)
	}{
		{name: "a new reading is stored and added to its hour", in: glucose("g1", at(10, 15), 12), want: tracking.ExternalCreated,
			check: func(t *testing.T, id pulid.ID) { firstID = id }},
		{name: "sending it again writes nothing", in: glucose("g1", at(10, 15), 12), want: tracking.ExternalUnchanged,
			check: func(t *testing.T, id pulid.ID) {
				if id != firstID {
					t.Errorf("id %s, want %s", id, firstID)
				}
			}},
		{name: "a changed value recounts its hour", in: glucose("g1", at(10, 15), 3.5), want: tracking.ExternalUpdated},
		{name: "a reading moved to another hour leaves one and joins the other", in: glucose("g1", at(11, 20), 5), want: tracking.ExternalUpdated},
		{name: "a relabelled reading moves to the rollup of its new category", in: relabelled, want: tracking.ExternalUpdated},
		{name: "a blood pressure keeps both values", in: bp, want: tracking.ExternalCreated},
		{name: "a reading at a time the patient's own meter holds is reported unchanged", in: glucose("g2", at(12, 0), 8),
			want: tracking.ExternalUnchanged,
			check: func(t *testing.T, id pulid.ID) {
				m, err := w.client.Measurement.Get(w.sys, id)
				if err != nil {
					t.Fatal(err)
				}
				if m.ExternalValue != nil || m.Value != 7 {
					t.Errorf("the reported reading is not the patient's own: %+v", m)
				}
			}},
		{name: "moving a reading onto a time another reading holds is refused", in: glucose("g1", at(12, 0), 5), wantErr: tracking.ErrOccupied},
		{name: "an implausible value is refused", in: glucose("g3", at(13, 0), 80), wantErr: tracking.ErrImplausible},
		{name: "a reading from the future is refused", in: future, wantErr: tracking.ErrImplausible},
		{name: "an identifier used for another patient's reading is refused", in: otherPatient, wantErr: tracking.ErrOtherPatient},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			var before time.Time
			if s.want == tracking.ExternalUnchanged && s.wantErr == nil && firstID != "" {
				m, err := w.client.Measurement.Get(w.sys, firstID)
				if err != nil {
					t.Fatal(err)
				}
				before = m.UpdatedAt
			}
			id, change, err := w.put(s.in)
			switch {
			case s.wantErr != nil:
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("error %v, want %v", err, s.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case change != s.want:
				t.Errorf("change %d, want %d", change, s.want)
			}
			if s.check != nil && err == nil {
				s.check(t, id)
			}
			if !before.IsZero() {
				m, err := w.client.Measurement.Get(w.sys, firstID)
				if err != nil {
					t.Fatal(err)
				}
				if !m.UpdatedAt.Equal(before) {
					t.Errorf("updated_at changed from %s to %s", before, m.UpdatedAt)
				}
			}
			w.checkRollups(t)
		})
	}

	t.Run("a deleted reading leaves its hour recounted", func(t *testing.T) {
		found, err := w.remove("g1")
		if err != nil || !found {
			t.Fatalf("deleting: %v, %v", found, err)
		}
		w.checkRollups(t)
		n, err := w.client.MeasurementRollup.Query().Where(measurementrollup.PatientID(w.patient),
			measurementrollup.CategoryEQ(category.SexualHealth)).Count(w.sys)
		if err != nil || n != 0 {
			t.Errorf("%d SEXUAL_HEALTH rollups left (%v), want none", n, err)
		}
	})
	t.Run("deleting a reading never sent finds none", func(t *testing.T) {
		found, err := w.remove("g1")
		if err != nil || found {
			t.Errorf("deleting again: %v, %v", found, err)
		}
		w.checkRollups(t)
	})
	t.Run("the patient's glucose range counts the trust's readings below and above", func(t *testing.T) {
		if _, _, err := w.put(glucose("g4", at(11, 50), 2.5)); err != nil {
			t.Fatal(err)
		}
		r, err := w.client.MeasurementRollup.Query().Where(measurementrollup.PatientID(w.patient),
			measurementrollup.TypeEQ(measurementrollup.TypeGLUCOSE), measurementrollup.Hour(at(11, 0))).Only(w.sys)
		if err != nil {
			t.Fatal(err)
		}
		if r.Count != 2 || r.Below != 2 {
			t.Errorf("hour 11: count %d below %d, want 2 and 2", r.Count, r.Below)
		}
		w.checkRollups(t)
	})
}

func externalPtr[T any](v T) *T { return &v }
