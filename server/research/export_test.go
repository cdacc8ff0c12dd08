package research_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// What no export may contain.
var (
	internalID = regexp.MustCompile(`\b[a-z]{2}[0-9A-HJKMNP-TV-Z]{26}\b`)
	dayDate    = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
)

// The keys each line type may have; anything else is a leak.
var lineKeys = map[string][]string{
	"patient":     {"type", "pseudonym", "birthYear"},
	"result":      {"type", "pseudonym", "month", "code", "comparator", "value", "unit", "flag", "category"},
	"measurement": {"type", "pseudonym", "month", "measurement", "value", "value2", "unit", "category"},
	"encounter":   {"type", "pseudonym", "month", "kind", "status", "category"},
	"allergy":     {"type", "pseudonym", "month", "kind", "status", "category"},
	"end":         {"type", "patients"},
}

// exported is an export as the researcher reads it.
type exported struct {
	status int
	header http.Header
	raw    string
	lines  []map[string]any
}

// exportHandler mounts the handler as the app does, behind a middleware
// that puts the viewer of ctx (if any) into the request.
func (w *world) exportHandler(ctx context.Context) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /research/studies/{id}/export", w.svc.ExportHandler())
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if v := access.FromContext(ctx); v != nil {
			r = r.WithContext(access.NewContext(r.Context(), v))
		}
		mux.ServeHTTP(rw, r)
	})
}

// export downloads a study's export as the viewer of ctx.
func (w *world) export(ctx context.Context, study pulid.ID) exported {
	w.t.Helper()
	rec := httptest.NewRecorder()
	w.exportHandler(ctx).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/research/studies/"+string(study)+"/export", nil))
	return w.parse(rec.Code, rec.Header(), rec.Body.Bytes())
}

func (w *world) parse(status int, h http.Header, body []byte) exported {
	w.t.Helper()
	e := exported{status: status, header: h, raw: string(body)}
	if status != http.StatusOK {
		return e
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			w.t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		e.lines = append(e.lines, line)
	}
	w.must(sc.Err())
	return e
}

// pseudonym is what the study calls the patient, computed from the key.
func (w *world) pseudonym(study, patient pulid.ID) string {
	m := hmac.New(sha256.New, w.storedKey(study))
	m.Write([]byte(patient))
	return hex.EncodeToString(m.Sum(nil))
}

// of returns the lines about one pseudonym, of one type ("" for all).
func (e exported) of(pseudonym, typ string) []map[string]any {
	var out []map[string]any
	for _, l := range e.lines {
		if l["pseudonym"] == pseudonym && (typ == "" || l["type"] == typ) {
			out = append(out, l)
		}
	}
	return out
}

// pseudonyms lists the patients of an export.
func (e exported) pseudonyms() []string {
	var out []string
	for _, l := range e.lines {
		if l["type"] == "patient" {
			out = append(out, l["pseudonym"].(string))
		}
	}
	return out
}

// leaks checks an export for anything that identifies or is free text.
func leaks(t *testing.T, e exported, ids []pulid.ID, extra ...string) {
	t.Helper()
	if m := internalID.FindString(e.raw); m != "" {
		t.Errorf("an internal ID in the export: %s", m)
	}
	if m := dayDate.FindString(e.raw); m != "" {
		t.Errorf("a date to the day in the export: %s", m)
	}
	for _, id := range ids {
		if strings.Contains(e.raw, string(id)) {
			t.Errorf("ID %s in the export", id)
		}
	}
	for _, s := range append(slices.Clone(fixtureText), extra...) {
		if strings.Contains(strings.ToLower(e.raw), strings.ToLower(s)) {
			t.Errorf("%q in the export", s)
		}
	}
	for _, l := range e.lines {
		allowed, ok := lineKeys[l["type"].(string)]
		if !ok {
			t.Errorf("line of unknown type %v", l)
			continue
		}
		for k := range l {
			if !slices.Contains(allowed, k) {
				t.Errorf("key %q in %v", k, l)
			}
		}
	}
	if n := len(e.lines); n == 0 || e.lines[n-1]["type"] != "end" {
		t.Error("the export does not end with its end line")
	}
}

func TestExportContents(t *testing.T) {
	w := newWorld(t)
	g, mh, pr := category.General, category.MentalHealth, category.Private
	alice := w.patient("9990000018", g, mh, pr)
	bob := w.patient("9990000026", g, mh)
	carol := w.patient("9990000034", g)
	dave := w.patient("9990000042", g)
	// Alice's results held for a clinician, or never released, stay out.
	taken := time.Date(2026, 2, 3, 10, 0, 0, 0, time.UTC)
	held, err := w.client.Result.Create().SetPatientID(alice).SetSourceOrganisationID(w.trust).SetCategory(g).
		SetName("Held").SetTakenAt(taken).SetReportedAt(taken).Save(w.sys())
	w.must(err)
	w.must(w.client.ResultComponent.Create().SetPatientID(alice).SetResultID(held.ID).SetCategory(g).
		SetName("Held").SetCode("HELD-1").SetValueNumeric(1).Exec(w.sys()))
	never, err := w.client.Result.Create().SetPatientID(alice).SetSourceOrganisationID(w.trust).SetCategory(g).
		SetName("Never").SetTakenAt(taken).SetReportedAt(taken).SetReleasedAt(taken).SetNeverRelease(true).Save(w.sys())
	w.must(err)
	w.must(w.client.ResultComponent.Create().SetPatientID(alice).SetResultID(never.ID).SetCategory(g).
		SetName("Never").SetCode("NEVER-1").SetValueNumeric(1).Exec(w.sys()))

	st := w.study("Contents")
	w.consent(alice, st.ID, g, mh)
	w.consent(bob, st.ID, g)
	w.consent(carol, st.ID, g)
	_, err = w.svc.Withdraw(w.patientCtx(carol), carol, st.ID)
	w.must(err)

	e := w.export(w.researcher(), st.ID)
	if e.status != http.StatusOK || e.header.Get("Content-Type") != "application/x-ndjson" || e.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v: %s", e.status, e.header, e.raw)
	}
	leaks(t, e, []pulid.ID{alice, bob, carol, dave, st.ID, w.unit, w.trust}, "9990000018", "9990000026", "HELD-1", "NEVER-1")

	pa, pb := w.pseudonym(st.ID, alice), w.pseudonym(st.ID, bob)
	if got := e.pseudonyms(); !slices.Equal(sorted(got), sorted([]string{pa, pb})) {
		t.Fatalf("patients %v, want Alice's and Bob's", got)
	}
	if end := e.lines[len(e.lines)-1]; end["patients"] != float64(2) {
		t.Errorf("end line %v", end)
	}

	t.Run("a patient line gives the year of birth", func(t *testing.T) {
		want := map[string]any{"type": "patient", "pseudonym": pa, "birthYear": float64(1980)}
		if got := e.of(pa, "patient"); len(got) != 1 || !maps.Equal(got[0], want) {
			t.Errorf("patient lines %v", got)
		}
	})
	t.Run("only the categories each patient agreed to", func(t *testing.T) {
		for _, tc := range []struct {
			who  string
			p    string
			want []string
		}{
			{"Alice agreed to MENTAL_HEALTH", pa, []string{"GENERAL", "MENTAL_HEALTH"}},
			{"Bob did not", pb, []string{"GENERAL"}},
		} {
			for _, typ := range []string{"result", "measurement", "encounter", "allergy"} {
				var cats []string
				for _, l := range e.of(tc.p, typ) {
					if c := l["category"].(string); !slices.Contains(cats, c) {
						cats = append(cats, c)
					}
				}
				if !slices.Equal(sorted(cats), tc.want) {
					t.Errorf("%s: %s categories %v, want %v", tc.who, typ, cats, tc.want)
				}
			}
		}
	})
	t.Run("a result gives code, value, unit and flag, to the month", func(t *testing.T) {
		want := map[string]any{"type": "result", "pseudonym": pb, "month": "2026-01", "code": "718-7",
			"value": float64(131), "unit": "g/L", "flag": "NORMAL", "category": "GENERAL"}
		textOnly := map[string]any{"type": "result", "pseudonym": pb, "month": "2026-01", "category": "GENERAL"}
		got := e.of(pb, "result")
		if len(got) != 2 || !slices.ContainsFunc(got, eq(want)) || !slices.ContainsFunc(got, eq(textOnly)) {
			t.Errorf("Bob's results %v", got)
		}
	})
	t.Run("a measurement has no device", func(t *testing.T) {
		want := map[string]any{"type": "measurement", "pseudonym": pb, "month": "2026-01", "measurement": "BLOOD_PRESSURE",
			"value": float64(120), "value2": float64(80), "unit": "mm[Hg]", "category": "GENERAL"}
		if got := e.of(pb, "measurement"); len(got) != 1 || !maps.Equal(got[0], want) {
			t.Errorf("Bob's measurements %v", got)
		}
	})
	t.Run("an encounter is its kind and status", func(t *testing.T) {
		want := map[string]any{"type": "encounter", "pseudonym": pb, "month": "2026-01", "kind": "EMERGENCY",
			"status": "DISCHARGED", "category": "GENERAL"}
		if got := e.of(pb, "encounter"); len(got) != 1 || !maps.Equal(got[0], want) {
			t.Errorf("Bob's encounters %v", got)
		}
	})
	t.Run("an allergy is its kind and status, never the substance", func(t *testing.T) {
		want := map[string]any{"type": "allergy", "pseudonym": pb, "month": "2026-01", "kind": "ALLERGY",
			"status": "ACTIVE", "category": "GENERAL"}
		if got := e.of(pb, "allergy"); len(got) != 1 || !maps.Equal(got[0], want) {
			t.Errorf("Bob's allergies %v", got)
		}
	})
	t.Run("the export is audited without naming anyone", func(t *testing.T) {
		ev, err := w.client.AuditEvent.Query().All(w.sys())
		w.must(err)
		var exports []*ent.AuditEvent
		for _, a := range ev {
			if a.Action == "RESEARCH_EXPORT" {
				exports = append(exports, a)
			}
		}
		if len(exports) != 1 || exports[0].PatientID != nil || exports[0].ActorOrganisationID == nil || *exports[0].ActorOrganisationID != w.unit {
			t.Errorf("export events %+v", exports)
		}
	})
}

func TestExportWithdrawal(t *testing.T) {
	w := newWorld(t)
	alice := w.patient("9990000018", category.General)
	bob := w.patient("9990000026", category.General)
	st := w.study("Withdrawal")
	w.consent(alice, st.ID, category.General)
	w.consent(bob, st.ID, category.General)
	pa, pb := w.pseudonym(st.ID, alice), w.pseudonym(st.ID, bob)

	if got := w.export(w.researcher(), st.ID).pseudonyms(); len(got) != 2 {
		t.Fatalf("before withdrawal: %v", got)
	}
	_, err := w.svc.Withdraw(w.patientCtx(alice), alice, st.ID)
	w.must(err)
	e := w.export(w.researcher(), st.ID)
	if got := e.pseudonyms(); !slices.Equal(got, []string{pb}) || len(e.of(pa, "")) != 0 || strings.Contains(e.raw, pa) {
		t.Fatalf("after Alice withdrew: %v", got)
	}

	t.Run("a withdrawal while the export runs counts at once", func(t *testing.T) {
		// Alice joins again in her old consent, which comes first; Bob
		// withdraws as her lines go out, before his are read.
		w.consent(alice, st.ID, category.General)
		rec := &onFlush{ResponseRecorder: httptest.NewRecorder(), once: func() {
			_, err := w.svc.Withdraw(w.patientCtx(bob), bob, st.ID)
			w.must(err)
		}}
		w.exportHandler(w.researcher()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/research/studies/"+string(st.ID)+"/export", nil))
		e := w.parse(rec.Code, rec.Header(), rec.Body.Bytes())
		if got := e.pseudonyms(); !slices.Equal(got, []string{pa}) {
			t.Fatalf("patients %v, want Alice's only", got)
		}
	})
}

// onFlush calls once at the first flush.
type onFlush struct {
	*httptest.ResponseRecorder
	once func()
}

func (o *onFlush) Flush() {
	if o.once != nil {
		o.once()
		o.once = nil
	}
	o.ResponseRecorder.Flush()
}

func TestExportPseudonyms(t *testing.T) {
	w := newWorld(t)
	alice := w.patient("9990000018", category.General)
	one, two := w.study("One"), w.study("Two")
	w.consent(alice, one.ID, category.General)
	w.consent(alice, two.ID, category.General)

	first := w.export(w.researcher(), one.ID).pseudonyms()
	again := w.export(w.researcher(), one.ID).pseudonyms()
	other := w.export(w.researcher(), two.ID).pseudonyms()
	if len(first) != 1 || len(other) != 1 {
		t.Fatalf("patients %v and %v", first, other)
	}
	if first[0] != again[0] {
		t.Error("the same study named the patient differently twice")
	}
	if first[0] == other[0] {
		t.Error("two studies gave the patient the same pseudonym")
	}
	if first[0] != w.pseudonym(one.ID, alice) || len(first[0]) != 64 {
		t.Errorf("pseudonym %s is not HMAC-SHA256 of the record under the study's key", first[0])
	}
}

func TestExportWho(t *testing.T) {
	w := newWorld(t)
	alice := w.patient("9990000018", category.General)
	st := w.study("Who")
	w.consent(alice, st.ID, category.General)
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		study  pulid.ID
		status int
	}{
		{"the study's researcher downloads it", w.researcher(), st.ID, http.StatusOK},
		{"signed out is 401", context.Background(), st.ID, http.StatusUnauthorized},
		{"a researcher of another unit is refused", w.member(w.other, access.RoleResearcher), st.ID, http.StatusForbidden},
		{"an analyst of the unit is refused", w.member(w.unit, access.RoleAnalyst), st.ID, http.StatusForbidden},
		{"a clinician is refused", w.member(w.trust, access.RoleClinician), st.ID, http.StatusForbidden},
		{"the patient is refused", w.patientCtx(alice), st.ID, http.StatusForbidden},
		{"a study that does not exist is 404", w.researcher(), pulid.New("st"), http.StatusNotFound},
		{"another kind of ID is 404", w.researcher(), alice, http.StatusNotFound},
		{"a malformed ID is 404", w.researcher(), "nonsense", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := w.export(tc.ctx, tc.study)
			if e.status != tc.status {
				t.Fatalf("status %d, want %d: %s", e.status, tc.status, e.raw)
			}
			if tc.status != http.StatusOK && (strings.Contains(e.raw, w.pseudonym(st.ID, alice)) || strings.Contains(e.raw, "{")) {
				t.Errorf("a refusal carries data: %s", e.raw)
			}
		})
	}
}

// TestExportPages streams more consents and readings than one page holds,
// over a real connection.
func TestExportPages(t *testing.T) {
	w := newWorld(t)
	st := w.study("Pages")
	heavy := w.bare(0)
	const readings = 2_345
	builders := make([]*ent.MeasurementCreate, readings)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range builders {
		builders[i] = w.client.Measurement.Create().SetPatientID(heavy).SetCategory(category.General).
			SetType(measurement.TypeGLUCOSE).SetMeasuredAt(start.Add(time.Duration(i) * 5 * time.Minute)).
			SetValue(5.5).SetUnit("mmol/L").SetDevice("Libre Sensor 3")
	}
	for chunk := range slices.Chunk(builders, 500) {
		w.must(w.client.Measurement.CreateBulk(chunk...).Exec(w.sys()))
	}
	w.consent(heavy, st.ID, category.General)
	const patients = 230
	want := []string{w.pseudonym(st.ID, heavy)}
	for i := 1; i < patients; i++ {
		p := w.bare(i)
		w.consent(p, st.ID, category.General)
		want = append(want, w.pseudonym(st.ID, p))
	}

	srv := httptest.NewServer(w.exportHandler(w.researcher()))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/research/studies/" + string(st.ID) + "/export")
	w.must(err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !slices.Contains(res.TransferEncoding, "chunked") {
		t.Fatalf("status %d, transfer encoding %v: the export is not streamed", res.StatusCode, res.TransferEncoding)
	}
	var body bytes.Buffer
	_, err = body.ReadFrom(res.Body)
	w.must(err)
	e := w.parse(res.StatusCode, res.Header, body.Bytes())
	if got := e.pseudonyms(); !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("%d patients, want %d, each once", len(got), len(want))
	}
	if got := len(e.of(want[0], "measurement")); got != readings {
		t.Errorf("%d readings, want %d", got, readings)
	}
	leaks(t, e, []pulid.ID{heavy, st.ID})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func eq(want map[string]any) func(map[string]any) bool {
	return func(got map[string]any) bool { return maps.Equal(got, want) }
}
