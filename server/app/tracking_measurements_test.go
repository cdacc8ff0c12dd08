package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/measurementrollup"
)

const (
	recordMeasurementsDoc = `mutation($input: RecordMeasurementsInput!) {
  recordMeasurements(input: $input) { accepted duplicates refused { index reason } } }`
	setGlucoseRangeDoc = `mutation($id: ID!, $low: Float!, $high: Float!) {
  setGlucoseRange(patientId: $id, low: $low, high: $high) { id glucoseLow glucoseHigh } }`
	measurementCountDoc = `query($id: ID!) { patient(id: $id) { measurements(first: 1) { totalCount } } }`
)

// ingestReport is a recordMeasurements answer.
type ingestReport struct {
	Accepted, Duplicates int
	Refused              []struct {
		Index  int
		Reason string
	}
}

// ingestRollup is an hourly rollup without its ID.
type ingestRollup struct {
	Type, Category, Hour string
	Count, Below, Above  int
	Sum, Min, Max        float64
}

// ingestWorld is the fixture with a clock-relative hour to record in.
type ingestWorld struct {
	*sharingWorld
	// hour starts a whole UTC hour a day before the clock's now.
	hour time.Time
}

func newIngestWorld(t *testing.T) *ingestWorld {
	t.Helper()
	w := &ingestWorld{sharingWorld: newSharingWorld(t)}
	w.hour = w.e.clock.Now().Add(-24 * time.Hour).Truncate(time.Hour)
	return w
}

// reading is a MeasurementInput taken minutes into the world's hour.
func (w *ingestWorld) reading(typ string, minutes int, value float64, unit string, extra ...any) map[string]any {
	r := map[string]any{"type": typ, "measuredAt": w.hour.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339Nano),
		"value": value, "unit": unit, "device": "Meter 1"}
	for i := 0; i+1 < len(extra); i += 2 {
		r[extra[i].(string)] = extra[i+1]
	}
	return r
}

// record sends readings for Alice as token and returns the raw response.
func (w *ingestWorld) record(token string, readings []map[string]any, extra ...any) gqlResponse {
	w.t.Helper()
	input := map[string]any{"patientId": w.f.Alice.PatientID, "readings": readings}
	for i := 0; i+1 < len(extra); i += 2 {
		input[extra[i].(string)] = extra[i+1]
	}
	return w.e.post(token, recordMeasurementsDoc, map[string]any{"input": input})
}

// recordOK records readings as Alice and returns the report.
func (w *ingestWorld) recordOK(readings []map[string]any, extra ...any) ingestReport {
	w.t.Helper()
	res := w.record(w.alice, readings, extra...)
	if len(res.Errors) > 0 {
		w.t.Fatalf("recordMeasurements: %s", res.raw)
	}
	var data struct{ RecordMeasurements ingestReport }
	res.decode(w.t, &data)
	return data.RecordMeasurements
}

// total is Alice's measurements' totalCount as token sees it.
func (w *ingestWorld) total(token string) int {
	w.t.Helper()
	res := w.e.post(token, measurementCountDoc, map[string]any{"id": w.f.Alice.PatientID})
	if len(res.Errors) > 0 {
		w.t.Fatalf("measurements: %s", res.raw)
	}
	var data struct {
		Patient struct{ Measurements struct{ TotalCount int } }
	}
	res.decode(w.t, &data)
	return data.Patient.Measurements.TotalCount
}

// rollups are Alice's hourly rollups, in a stable order.
func (w *ingestWorld) rollups() []ingestRollup {
	w.t.Helper()
	rs, err := w.db().MeasurementRollup.Query().Where(measurementrollup.PatientID(w.f.Alice.PatientID)).All(w.sys())
	w.must(err)
	out := make([]ingestRollup, len(rs))
	for i, r := range rs {
		out[i] = ingestRollup{Type: string(r.Type), Category: string(r.Category), Hour: r.Hour.UTC().Format(time.RFC3339),
			Count: r.Count, Below: r.Below, Above: r.Above, Sum: r.Sum, Min: r.Min, Max: r.Max}
	}
	slices.SortFunc(out, func(a, b ingestRollup) int {
		return strings.Compare(a.Type+a.Category+a.Hour, b.Type+b.Category+b.Hour)
	})
	return out
}

// rollup is Alice's rollup of a type in the world's hour (GENERAL).
func (w *ingestWorld) rollup(typ string) ingestRollup {
	w.t.Helper()
	for _, r := range w.rollups() {
		if r.Type == typ && r.Category == "GENERAL" && r.Hour == w.hour.Format(time.RFC3339) {
			return r
		}
	}
	w.t.Fatalf("no %s rollup at %s in %+v", typ, w.hour, w.rollups())
	return ingestRollup{}
}

// upload posts a device export for Alice as token.
func (w *ingestWorld) upload(token, contentType, body string) (int, map[string]any) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.e.server.URL+"/measurements/upload?patientId="+string(w.f.Alice.PatientID), strings.NewReader(body))
	w.must(err)
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := w.e.server.Client().Do(req)
	w.must(err)
	defer res.Body.Close()
	var out map[string]any
	w.must(json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

func TestReadingsAreStoredRefusedWithReasonsAndNeverTwice(t *testing.T) {
	w := newIngestWorld(t)
	before := w.total(w.alice)
	future := w.e.clock.Now().Add(time.Hour).Format(time.RFC3339)
	readings := []map[string]any{
		w.reading("GLUCOSE", 5, 5.0, "mmol/L"),
		w.reading("GLUCOSE", 10, 3.0, "mmol/L"),  // below 3.9
		w.reading("GLUCOSE", 15, 12.0, "mmol/L"), // above 10.0
		w.reading("GLUCOSE", 20, 60, "mmol/L"),
		w.reading("BLOOD_PRESSURE", 5, 120, "mmHg", "value2", 80),
		w.reading("BLOOD_PRESSURE", 6, 120, "mmHg", "value2", 130),
		w.reading("WEIGHT", 5, 80, "lb"),
		w.reading("HEART_RATE", 5, 70, "/min", "measuredAt", future),
		w.reading("HEART_RATE", 6, 70, "/min", "measuredAt", w.e.clock.Now().Add(4*time.Minute).Format(time.RFC3339)),
		w.reading("GLUCOSE", 5, 5.0, "mmol/L"), // the first reading again
	}
	want := map[int]string{3: "between 0.5 and 50", 5: "systolic must be above diastolic", 6: "unit must be kg", 7: "future"}

	check := func(t *testing.T, rep ingestReport, accepted, duplicates int) {
		t.Helper()
		if rep.Accepted != accepted || rep.Duplicates != duplicates {
			t.Errorf("accepted %d duplicates %d, want %d and %d", rep.Accepted, rep.Duplicates, accepted, duplicates)
		}
		if len(rep.Refused) != len(want) {
			t.Fatalf("refused %+v, want indexes %v", rep.Refused, want)
		}
		for _, r := range rep.Refused {
			if !strings.Contains(r.Reason, want[r.Index]) {
				t.Errorf("reading %d refused because %q, want %q", r.Index, r.Reason, want[r.Index])
			}
		}
	}

	t.Run("the plausible readings are stored and the others refused with reasons", func(t *testing.T) {
		check(t, w.recordOK(readings), 5, 1)
		if got := w.total(w.alice); got != before+5 {
			t.Errorf("totalCount %d, want %d", got, before+5)
		}
	})
	t.Run("the hour's rollup sums the new readings against the default range", func(t *testing.T) {
		got := w.rollup("GLUCOSE")
		want := ingestRollup{Type: "GLUCOSE", Category: "GENERAL", Hour: w.hour.Format(time.RFC3339),
			Count: 3, Sum: 20, Min: 3, Max: 12, Below: 1, Above: 1}
		if got != want {
			t.Errorf("rollup %+v, want %+v", got, want)
		}
		if bp := w.rollup("BLOOD_PRESSURE"); bp.Count != 1 || bp.Sum != 120 {
			t.Errorf("blood pressure rollup %+v, want one systolic 120", bp)
		}
	})
	t.Run("sending the same readings again changes nothing", func(t *testing.T) {
		rollups := w.rollups()
		audits := len(w.audits("MEASUREMENTS_RECORDED"))
		check(t, w.recordOK(readings), 0, 6)
		if got := w.total(w.alice); got != before+5 {
			t.Errorf("totalCount %d, want %d", got, before+5)
		}
		if got := w.rollups(); !slices.Equal(got, rollups) {
			t.Errorf("rollups changed:\n%+v\nwant\n%+v", got, rollups)
		}
		if got := len(w.audits("MEASUREMENTS_RECORDED")); got != audits {
			t.Errorf("%d audit events after a call that changed nothing, want %d", got, audits)
		}
	})
	t.Run("one audit event per call, about measurements", func(t *testing.T) {
		es := w.audits("MEASUREMENTS_RECORDED")
		if len(es) != 1 || *es[0].ActorAccountID != w.f.Alice.AccountID || !slices.Equal(es[0].RecordKinds, []string{"Measurement"}) {
			t.Errorf("audit events %+v", es)
		}
	})
}

func TestReadingsInAHiddenCategoryStayHiddenFromShares(t *testing.T) {
	w := newIngestWorld(t)
	carerBefore, aliceBefore := w.total(w.carer), w.total(w.alice)
	rep := w.recordOK([]map[string]any{w.reading("HEART_RATE", 1, 120, "/min")}, "category", "MENTAL_HEALTH")
	if rep.Accepted != 1 {
		t.Fatalf("report %+v", rep)
	}
	if got := w.total(w.alice); got != aliceBefore+1 {
		t.Errorf("Alice sees %d readings, want %d", got, aliceBefore+1)
	}
	if got := w.total(w.carer); got != carerBefore {
		t.Errorf("carer sees %d readings, want %d", got, carerBefore)
	}
	if r := w.rollups(); len(r) != 1 || r[0].Category != "MENTAL_HEALTH" {
		t.Errorf("rollups %+v, want one MENTAL_HEALTH", r)
	}
}

func TestOnlyThePatientRecordsReadings(t *testing.T) {
	w := newIngestWorld(t)
	one := []map[string]any{w.reading("STEPS", 0, 1000, "steps")}
	for _, tc := range []struct {
		name, token, code string
	}{
		{"a carer who sees the record may not record", w.carer, "FORBIDDEN"},
		{"a clinician who sees the record may not record", w.clinician, "FORBIDDEN"},
		{"another patient is told the record does not exist", w.bob, "NOT_FOUND"},
		{"a signed-out caller must sign in", "", "UNAUTHENTICATED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := w.record(tc.token, one).codes(); !slices.Equal(got, []string{tc.code}) {
				t.Errorf("codes %v, want %s", got, tc.code)
			}
		})
	}
	if r := w.rollups(); len(r) != 0 {
		t.Errorf("rollups written: %+v", r)
	}
}

func TestMoreThan10000ReadingsACallAreRefusedWhole(t *testing.T) {
	w := newIngestWorld(t)
	before := w.total(w.alice)
	readings := make([]map[string]any, 10_001)
	for i := range readings {
		readings[i] = w.reading("HEART_RATE", 0, 70, "/min", "measuredAt", w.hour.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
	}
	res := w.record(w.alice, readings)
	if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
		t.Fatalf("codes %v: %s", res.codes(), res.raw)
	}
	fields, _ := res.Errors[0].Extensions["fields"].([]any)
	if len(fields) != 1 || fields[0].(map[string]any)["path"] != "input.readings" {
		t.Errorf("fields %v, want input.readings", fields)
	}
	if got := w.total(w.alice); got != before {
		t.Errorf("totalCount %d, want %d", got, before)
	}
}

func TestANewGlucoseRangeRecountsTheRollups(t *testing.T) {
	w := newIngestWorld(t)
	w.recordOK([]map[string]any{
		w.reading("GLUCOSE", 5, 5.0, "mmol/L"),
		w.reading("GLUCOSE", 10, 3.0, "mmol/L"),
		w.reading("GLUCOSE", 15, 12.0, "mmol/L"),
		w.reading("HEART_RATE", 15, 70, "/min"),
	})
	t.Run("bad ranges are refused with their fields", func(t *testing.T) {
		for _, tc := range []struct {
			low, high float64
			paths     []string
		}{
			{1, 30, []string{"low", "high"}},
			{8, 6, []string{"high"}},
			{6, 6, []string{"high"}},
		} {
			res := w.e.post(w.alice, setGlucoseRangeDoc, map[string]any{"id": w.f.Alice.PatientID, "low": tc.low, "high": tc.high})
			if !slices.Equal(res.codes(), []string{"BAD_USER_INPUT"}) {
				t.Fatalf("%v–%v: codes %v", tc.low, tc.high, res.codes())
			}
			var paths []string
			for _, f := range res.Errors[0].Extensions["fields"].([]any) {
				paths = append(paths, f.(map[string]any)["path"].(string))
			}
			if !slices.Equal(paths, tc.paths) {
				t.Errorf("%v–%v: paths %v, want %v", tc.low, tc.high, paths, tc.paths)
			}
		}
	})
	t.Run("a carer may not set it", func(t *testing.T) {
		res := w.e.post(w.carer, setGlucoseRangeDoc, map[string]any{"id": w.f.Alice.PatientID, "low": 5.5, "high": 11})
		if !slices.Equal(res.codes(), []string{"FORBIDDEN"}) {
			t.Errorf("codes %v", res.codes())
		}
	})
	t.Run("the patient's new range recounts the hours it covers", func(t *testing.T) {
		heartRate := w.rollup("HEART_RATE")
		res := w.e.post(w.alice, setGlucoseRangeDoc, map[string]any{"id": w.f.Alice.PatientID, "low": 5.5, "high": 11})
		if len(res.Errors) > 0 {
			t.Fatalf("setGlucoseRange: %s", res.raw)
		}
		var data struct {
			SetGlucoseRange struct{ GlucoseLow, GlucoseHigh float64 }
		}
		res.decode(t, &data)
		if data.SetGlucoseRange.GlucoseLow != 5.5 || data.SetGlucoseRange.GlucoseHigh != 11 {
			t.Errorf("range %+v", data.SetGlucoseRange)
		}
		if g := w.rollup("GLUCOSE"); g.Below != 2 || g.Above != 1 || g.Count != 3 || g.Sum != 20 {
			t.Errorf("glucose rollup %+v, want 2 below and 1 above of 3", g)
		}
		if hr := w.rollup("HEART_RATE"); hr != heartRate {
			t.Errorf("heart rate rollup changed: %+v", hr)
		}
		if n := len(w.audits("GLUCOSE_RANGE_SET")); n != 1 {
			t.Errorf("%d GLUCOSE_RANGE_SET audit events", n)
		}
	})
	t.Run("later readings count against the new range", func(t *testing.T) {
		w.recordOK([]map[string]any{w.reading("GLUCOSE", 30, 10.5, "mmol/L"), w.reading("GLUCOSE", 35, 11.5, "mmol/L")})
		if g := w.rollup("GLUCOSE"); g.Below != 2 || g.Above != 2 || g.Count != 5 {
			t.Errorf("glucose rollup %+v, want 2 below and 2 above of 5", g)
		}
	})
}

func TestDeviceExportsUploadLineByLine(t *testing.T) {
	w := newIngestWorld(t)
	at := func(minutes int) string { return w.hour.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339) }
	csv := strings.Join([]string{
		"type,time,value,unit,device",
		"GLUCOSE," + at(1) + ",5.5,mmol/L,Meter 1",
		"BLOOD_PRESSURE," + at(2) + ",120/80,mmHg,Cuff",
		"GLUCOSE,yesterday,5.5,mmol/L,Meter 1",
		"",
		"BLOOD_PRESSURE," + at(3) + ",120/130,mmHg,Cuff",
		`HEART_RATE,` + at(4) + `,70,/min,"Watch, left wrist"`,
		"GLUCOSE," + at(5) + ",5.5",
	}, "\r\n") + "\r\n"
	ndjson := strings.Join([]string{
		fmt.Sprintf(`{"type":"GLUCOSE","time":%q,"value":6.5,"unit":"mmol/L","device":"Meter 2"}`, at(6)),
		fmt.Sprintf(`{"type":"BLOOD_PRESSURE","time":%q,"value":"125/85","unit":"mmHg","device":"Cuff"}`, at(7)),
		`{"type":"GLUCOSE","time":`,
		fmt.Sprintf(`{"type":"WEIGHT","time":%q,"value":80,"unit":"kg"}`, at(8)),
	}, "\n")
	type refusal struct {
		Line   int
		Reason string
	}
	type answer struct {
		Accepted, Duplicates, RefusedCount int
		Refused                            []refusal
	}
	decode := func(t *testing.T, body map[string]any) answer {
		raw, _ := json.Marshal(body)
		var a answer
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name, contentType, body string
		accepted                int
		refused                 map[int]string
	}{
		{"a CSV export keeps its good lines and names the bad ones", "text/csv", csv, 3,
			map[int]string{4: "RFC 3339", 6: "systolic must be above diastolic", 8: "expected 5 fields"}},
		{"an NDJSON export keeps its good lines and names the bad ones", "application/x-ndjson", ndjson, 3,
			map[int]string{3: "malformed JSON"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.total(w.alice)
			status, body := w.upload(w.alice, tc.contentType, tc.body)
			got := decode(t, body)
			if status != http.StatusOK || got.Accepted != tc.accepted || got.Duplicates != 0 || got.RefusedCount != len(tc.refused) {
				t.Fatalf("status %d, answer %+v", status, body)
			}
			for _, r := range got.Refused {
				if !strings.Contains(r.Reason, tc.refused[r.Line]) {
					t.Errorf("line %d refused because %q, want %q", r.Line, r.Reason, tc.refused[r.Line])
				}
			}
			if n := w.total(w.alice); n != before+tc.accepted {
				t.Errorf("totalCount %d, want %d", n, before+tc.accepted)
			}
			rollups := w.rollups()
			_, body = w.upload(w.alice, tc.contentType, tc.body)
			if again := decode(t, body); again.Accepted != 0 || again.Duplicates != tc.accepted {
				t.Errorf("the same upload again: %+v", again)
			}
			if !slices.Equal(w.rollups(), rollups) {
				t.Errorf("the same upload again changed the rollups")
			}
		})
	}
	for _, tc := range []struct {
		name, token, contentType, body string
		status                         int
	}{
		{"a carer may not upload", w.carer, "text/csv", csv, http.StatusForbidden},
		{"a signed-out caller must sign in", "", "text/csv", csv, http.StatusUnauthorized},
		{"a CSV without its header is refused whole", w.alice, "text/csv", "GLUCOSE," + at(50) + ",5.5,mmol/L,X\n", http.StatusBadRequest},
		{"another format is refused", w.alice, "application/json", "[]", http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := w.total(w.alice)
			status, body := w.upload(tc.token, tc.contentType, tc.body)
			if status != tc.status {
				t.Errorf("status %d, want %d: %v", status, tc.status, body)
			}
			if n := w.total(w.alice); n != before {
				t.Errorf("totalCount %d, want %d", n, before)
			}
		})
	}
}

func TestALongUploadIsStoredBatchByBatchWithItsLineNumbers(t *testing.T) {
	w := newIngestWorld(t)
	before := w.total(w.alice)
	var b strings.Builder
	b.WriteString("type,time,value,unit,device\n")
	const readings = 10_005
	for i := range readings {
		switch line := i + 2; line {
		case 10_004:
			b.WriteString("GLUCOSE," + strings.Repeat("9", 5000) + "\n")
		case 10_006:
			b.WriteString("GLUCOSE,now,5.5,mmol/L,Meter\n")
		default:
			fmt.Fprintf(&b, "HEART_RATE,%s,70,/min,Watch\n", w.hour.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
		}
	}
	status, body := w.upload(w.alice, "text/csv", b.String())
	if status != http.StatusOK || body["accepted"] != float64(readings-2) || body["refusedCount"] != float64(2) {
		t.Fatalf("status %d, answer %v", status, body)
	}
	refused := body["refused"].([]any)
	for i, want := range []string{"10004: line longer than", "10006: time must be RFC 3339"} {
		r := refused[i].(map[string]any)
		if got := fmt.Sprintf("%v: %v", r["line"], r["reason"]); !strings.HasPrefix(got, want) {
			t.Errorf("refused %q, want %q", got, want)
		}
	}
	if got := w.total(w.alice); got != before+readings-2 {
		t.Errorf("totalCount %d, want %d", got, before+readings-2)
	}
	if n := len(w.audits("MEASUREMENTS_RECORDED")); n != 2 {
		t.Errorf("%d audit events, want one per batch stored (2)", n)
	}
}
