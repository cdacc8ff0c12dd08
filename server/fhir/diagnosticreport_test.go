package fhir

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/measurementrollup"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// labReport is a DiagnosticReport of the patient "p1" listing the given
// Observations (by urn:uuid) as its results.
func labReport(id, code string, results []string, more map[string]any) map[string]any {
	refs := []any{}
	for _, r := range results {
		refs = append(refs, map[string]any{"reference": "urn:uuid:" + r})
	}
	d := map[string]any{
		"resourceType": "DiagnosticReport", "id": id, "status": "final",
		"identifier":        []any{map[string]any{"system": "urn:lab:reports", "value": id}},
		"code":              map[string]any{"coding": []any{map[string]any{"system": loinc, "code": code, "display": "Panel " + code}}},
		"subject":           map[string]any{"reference": "Patient/p1"},
		"effectiveDateTime": "2024-05-20T09:30:00Z",
		"issued":            "2024-05-21T09:30:00Z",
		"performer":         []any{map[string]any{"display": "Pathology, Test Trust"}},
		"conclusion":        "Reviewed",
		"result":            refs,
	}
	for k, v := range more {
		d[k] = v
	}
	return d
}

// labMember is a laboratory Observation for a report.
func labMember(id, code string, v float64, more map[string]any) map[string]any {
	m := map[string]any{"valueQuantity": labQuantity(v, "g/L")}
	for k, val := range more {
		m[k] = val
	}
	return labObservation(id, "laboratory", code, m)
}

func TestDiagnosticReportSamples(t *testing.T) {
	t.Run("the HL7 f001 blood exam, whose results are not in its bundle, is a result with no components and a note", func(t *testing.T) {
		raw := labSample(t, "hl7-r4-examples/diagnosticreport-example-f001-bloodexam.json")
		var b Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		w := newLabWorld(t, 0)
		p := w.patient("f001")
		a := w.importBundle(&b)
		es := labEntries(t, a)
		if a.Refused != 0 || es[0].Status != "201 Created" || !strings.Contains(labDiagnostics(es[0]), "5 of its results are not Observations of this request") {
			t.Fatalf("report answered %s: %s", es[0].Status, labDiagnostics(es[0]))
		}
		if es[1].Status != "200 OK" || !strings.Contains(labDiagnostics(es[1]), "ServiceRequest is not kept") {
			t.Errorf("service request answered %s: %s", es[1].Status, labDiagnostics(es[1]))
		}
		r := w.onlyResult(p)
		if r.Name != "Complete blood count (hemogram) panel - Blood by Automated count" || *r.Code != "58410-2" ||
			*r.Conclusion != "Core lab" || *r.PerformingLaboratory != "Burgers University Medical Centre" || len(r.Edges.Components) != 0 {
			t.Errorf("result %q code %v conclusion %v laboratory %v with %d components", r.Name, r.Code, r.Conclusion, r.PerformingLaboratory, len(r.Edges.Components))
		}
		// No effective time: taken when issued.
		if !r.TakenAt.Equal(time.Date(2013, 5, 15, 18, 32, 52, 0, time.UTC)) || !r.TakenAt.Equal(r.ReportedAt) {
			t.Errorf("taken %s, reported %s", r.TakenAt, r.ReportedAt)
		}
	})
	t.Run("the HL7 general health profile takes in every Observation, panels and all", func(t *testing.T) {
		raw := labSample(t, "hl7-r4-examples/diagnosticreport-example-ghp.json")
		var b Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		var observations, values int
		for _, e := range b.Entry {
			var o map[string]any
			if err := json.Unmarshal(e.Resource, &o); err != nil {
				t.Fatal(err)
			}
			if o["resourceType"] == "Observation" {
				observations++
				for k := range o {
					if strings.HasPrefix(k, "value") {
						values++
					}
				}
			}
		}
		w := newLabWorld(t, 0)
		p := w.patient("pat2")
		a := w.importBundle(&b)
		es := labEntries(t, a)
		if a.Refused != 0 {
			t.Errorf("%d entries refused", a.Refused)
		}
		taken := 0
		for i, e := range b.Entry {
			var head Head
			if err := json.Unmarshal(e.Resource, &head); err != nil {
				t.Fatal(err)
			}
			if head.ResourceType != "Observation" {
				continue
			}
			if es[i].Status != "201 Created" || !strings.HasPrefix(es[i].Location, "Observation/") ||
				!strings.Contains(labDiagnostics(es[i]), "stored as part of a DiagnosticReport") {
				t.Errorf("%s answered %s at %s: %s", head.ID, es[i].Status, es[i].Location, labDiagnostics(es[i]))
				continue
			}
			taken++
		}
		if observations != 51 || taken != observations {
			t.Errorf("%d of %d Observations taken in", taken, observations)
		}
		r := w.onlyResult(p)
		if r.Name != "General Health Profile" || r.Code != nil || *r.PerformingLaboratory != "Acme Laboratory, Inc" ||
			!r.TakenAt.Equal(time.Date(2015, 8, 16, 6, 40, 17, 0, time.UTC)) || !r.ReportedAt.Equal(time.Date(2015, 8, 17, 6, 40, 17, 0, time.UTC)) {
			t.Errorf("result %q code %v laboratory %v taken %s reported %s", r.Name, r.Code, r.PerformingLaboratory, r.TakenAt, r.ReportedAt)
		}
		if len(r.Edges.Components) != values {
			t.Errorf("%d components, want one for each of the %d values", len(r.Edges.Components), values)
		}
		lt := 0
		for _, c := range r.Edges.Components {
			if c.Comparator != nil && *c.Comparator == resultcomponent.ComparatorLT {
				lt++
			}
		}
		if lt != 2 {
			t.Errorf("%d components below a limit, want the 2 sent with <", lt)
		}
		_, before := w.rows()
		again := w.importBundle(&b)
		if again.Unchanged != 52 || again.Stored != 0 {
			t.Errorf("sent again: %d unchanged, %d stored", again.Unchanged, again.Stored)
		}
		_, after := w.rows()
		for id, at := range after {
			if !before[id].Equal(at) {
				t.Errorf("%s was written again", id)
			}
		}
	})
}

func TestDiagnosticReportOneSensitiveComponentLabelsTheResult(t *testing.T) {
	psy := map[string]any{"security": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}}}
	for _, tc := range []struct {
		name     string
		members  []map[string]any
		want     category.Category
		assigned bool
	}{
		{"ordinary codes leave the result GENERAL", []map[string]any{labMember("a", "718-7", 140, nil), labMember("b", "6690-2", 6, nil)},
			category.General, false},
		{"one HIV test among the values labels the whole result SEXUAL_HEALTH",
			[]map[string]any{labMember("a", "718-7", 140, nil), labMember("b", "7918-6", 0, map[string]any{"valueString": "Negative", "valueQuantity": nil})},
			category.SexualHealth, true},
		{"a member labelled PSY labels the whole result MENTAL_HEALTH",
			[]map[string]any{labMember("a", "718-7", 140, nil), labMember("b", "6690-2", 6, map[string]any{"meta": psy})},
			category.MentalHealth, true},
		{"two different sensitive codes make it RESTRICTED",
			[]map[string]any{labMember("a", "7918-6", 0, map[string]any{"valueString": "Negative", "valueQuantity": nil}), labMember("b", "44261-6", 12, nil)},
			category.Restricted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			resources := []any{labReport("r", "24323-8", []string{"a", "b"}, nil)}
			for _, m := range tc.members {
				if m["valueQuantity"] == nil {
					delete(m, "valueQuantity")
				}
				resources = append(resources, m)
			}
			if a := w.sendBundle(transaction, resources...); a.Status != 200 {
				t.Fatalf("answer %d: %s", a.Status, labDiagnostics(a.Body))
			}
			r := w.onlyResult(p)
			if r.Category != tc.want || (r.AssignedCategory != nil) != tc.assigned {
				t.Errorf("result labelled %s (assigned %v), want %s", r.Category, r.AssignedCategory, tc.want)
			}
			if len(r.Edges.Components) != 2 {
				t.Fatalf("%d components", len(r.Edges.Components))
			}
			for _, c := range r.Edges.Components {
				if c.Category != tc.want || !equalPtr(c.AssignedCategory, r.AssignedCategory) {
					t.Errorf("component %s labelled %s, want %s", *c.Code, c.Category, tc.want)
				}
			}
		})
	}
}

func TestDiagnosticReportRelease(t *testing.T) {
	releaseAt := func(at string) map[string]any {
		return map[string]any{"extension": []any{map[string]any{"url": releaseAtURL, "valueDateTime": at}}}
	}
	for _, tc := range []struct {
		name        string
		delayHours  int
		more        map[string]any
		visibleFrom time.Time
		held        bool
		refused     string
	}{
		{name: "a result released on arrival is told to the patient at once", visibleFrom: time.Date(2024, 5, 21, 9, 30, 0, 0, time.UTC)},
		{name: "a result held by its release-at gets notify_at and no news yet", more: releaseAt("2024-06-03T10:00:00Z"),
			visibleFrom: time.Date(2024, 6, 3, 10, 0, 0, 0, time.UTC), held: true},
		{name: "a release-at already past is told at once", more: releaseAt("2024-06-01T09:00:00+01:00"),
			visibleFrom: time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)},
		{name: "the organisation's delay holds a recent result", delayHours: 72, more: map[string]any{"issued": "2024-05-31T10:00:00Z"},
			visibleFrom: time.Date(2024, 6, 3, 10, 0, 0, 0, time.UTC), held: true},
		{name: "the organisation's delay has passed for an older result", delayHours: 72,
			visibleFrom: time.Date(2024, 5, 24, 9, 30, 0, 0, time.UTC)},
		{name: "a release-at that is not a dateTime is refused", more: releaseAt("next week"), refused: "release-at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, tc.delayHours)
			p := w.patient("p1")
			acc := w.withAccount(p)
			a := w.sendBundle(transaction, labReport("r", "58410-2", []string{"a"}, tc.more), labMember("a", "718-7", 140, nil))
			if tc.refused != "" {
				if a.Status != 422 || !strings.Contains(labDiagnostics(a.Body), tc.refused) {
					t.Errorf("answer %d: %s", a.Status, labDiagnostics(a.Body))
				}
				return
			}
			if a.Status != 200 {
				t.Fatalf("answer %d: %s", a.Status, labDiagnostics(a.Body))
			}
			r := w.onlyResult(p)
			if r.VisibleFrom == nil || !r.VisibleFrom.Equal(tc.visibleFrom) || !r.ReleaseAt.Equal(tc.visibleFrom) {
				t.Errorf("visible from %v, release at %v, want %s", r.VisibleFrom, r.ReleaseAt, tc.visibleFrom)
			}
			news, err := w.client.Notification.Query().Where(notification.PatientID(p), notification.KindEQ(notification.KindRESULT_RELEASED)).All(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.held {
				if r.NotifyAt == nil || !r.NotifyAt.Equal(tc.visibleFrom) || len(news) != 0 {
					t.Errorf("notify at %v with %d notifications, want %s and none", r.NotifyAt, len(news), tc.visibleFrom)
				}
				return
			}
			if r.NotifyAt != nil || len(news) != 1 || news[0].RecipientAccountID != acc || *news[0].SubjectID != r.ID {
				t.Errorf("notify at %v with notifications %v, want one to the patient now", r.NotifyAt, news)
			}
		})
	}
	t.Run("a held result sent with a later release-at is announced at the new time", func(t *testing.T) {
		w := newLabWorld(t, 0)
		p := w.patient("p1")
		w.withAccount(p)
		for _, at := range []string{"2024-06-03T10:00:00Z", "2024-06-05T10:00:00Z"} {
			if a := w.sendBundle(transaction, labReport("r", "58410-2", []string{"a"}, releaseAt(at)), labMember("a", "718-7", 140, nil)); a.Status != 200 {
				t.Fatalf("answer %d: %s", a.Status, labDiagnostics(a.Body))
			}
		}
		r := w.onlyResult(p)
		want := time.Date(2024, 6, 5, 10, 0, 0, 0, time.UTC)
		if r.NotifyAt == nil || !r.NotifyAt.Equal(want) || !r.VisibleFrom.Equal(want) {
			t.Errorf("notify at %v, visible from %v, want %s", r.NotifyAt, r.VisibleFrom, want)
		}
	})
}

func TestDiagnosticReportStatus(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   result.Status
	}{
		{"registered", result.StatusPRELIMINARY},
		{"partial", result.StatusPRELIMINARY},
		{"preliminary", result.StatusPRELIMINARY},
		{"final", result.StatusFINAL},
		{"amended", result.StatusAMENDED},
		{"corrected", result.StatusAMENDED},
		{"appended", result.StatusAMENDED},
	} {
		t.Run("status "+tc.status+" is "+string(tc.want), func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			if a := w.sendBundle(transaction, labReport("r", "58410-2", []string{"a"}, map[string]any{"status": tc.status}),
				labMember("a", "718-7", 140, nil)); a.Status != 200 {
				t.Fatalf("answer %d: %s", a.Status, labDiagnostics(a.Body))
			}
			if r := w.onlyResult(p); r.Status != tc.want {
				t.Errorf("status %s", r.Status)
			}
		})
	}
	for _, tc := range []struct {
		name string
		edit func(d map[string]any)
		say  string
	}{
		{"a report with no status is refused", func(d map[string]any) { delete(d, "status") }, "DiagnosticReport.status is missing"},
		{"a report with no effective time or issued is refused", func(d map[string]any) {
			delete(d, "effectiveDateTime")
			delete(d, "issued")
		}, "DiagnosticReport.effective[x]"},
		{"a report with no code is refused", func(d map[string]any) { d["code"] = map[string]any{} }, "DiagnosticReport.code"},
		{"a report of a patient never sent is not found", func(d map[string]any) {
			d["subject"] = map[string]any{"reference": "Patient/nobody"}
		}, "send the Patient first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			w.patient("p1")
			d := labReport("r", "58410-2", []string{"a"}, nil)
			tc.edit(d)
			a := w.sendBundle(transaction, d, labMember("a", "718-7", 140, nil))
			if a.Status < 400 || !strings.Contains(labDiagnostics(a.Body), tc.say) {
				t.Errorf("answer %d: %s", a.Status, labDiagnostics(a.Body))
			}
			if counts, _ := w.rows(); counts["results"] != 0 {
				t.Errorf("stored %v", counts)
			}
		})
	}
	t.Run("a report's effectivePeriod start is when it was taken", func(t *testing.T) {
		w := newLabWorld(t, 0)
		p := w.patient("p1")
		d := labReport("r", "58410-2", []string{"a"}, map[string]any{"effectivePeriod": map[string]any{"start": "2024-05-19T08:00:00Z"}})
		delete(d, "effectiveDateTime")
		if a := w.sendBundle(transaction, d, labMember("a", "718-7", 140, nil)); a.Status != 200 {
			t.Fatalf("answer %d: %s", a.Status, labDiagnostics(a.Body))
		}
		if r := w.onlyResult(p); !r.TakenAt.Equal(time.Date(2024, 5, 19, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("taken %s", r.TakenAt)
		}
	})
}

func TestDiagnosticReportSentAgain(t *testing.T) {
	w := newLabWorld(t, 0)
	p := w.patient("p1")
	w.withAccount(p)
	send := func(report map[string]any, members ...map[string]any) *Answer {
		resources := []any{report}
		for _, m := range members {
			resources = append(resources, m)
		}
		return w.sendBundle(transaction, resources...)
	}
	hb := labMember("hb", "718-7", 140, nil)
	wbc := labMember("wbc", "6690-2", 6.1, nil)
	wbcHigh := labMember("wbc", "6690-2", 12.5, map[string]any{"interpretation": labInterpretation("H")})
	fbc := labReport("fbc", "58410-2", []string{"hb", "wbc"}, nil)
	amended := labReport("fbc", "58410-2", []string{"hb", "wbc"}, map[string]any{"status": "amended"})
	hbOnly := labReport("fbc", "58410-2", []string{"hb"}, map[string]any{"status": "amended"})
	gone := labReport("fbc", "58410-2", []string{"hb"}, map[string]any{"status": "entered-in-error"})
	steps := []struct {
		name   string
		answer func() *Answer
		want   []string // each entry's status
		say    string   // in the report's answer
		check  func(t *testing.T, counts map[string]int)
	}{
		{"a new report is a result with a component for each Observation", func() *Answer { return send(fbc, hb, wbc) },
			[]string{"201 Created", "201 Created", "201 Created"}, "", func(t *testing.T, c map[string]int) {
				if c["results"] != 1 || c["components"] != 2 || c["notifications"] != 1 {
					t.Errorf("rows %v", c)
				}
			}},
		{"the same report sent again writes nothing", func() *Answer { return send(fbc, hb, wbc) },
			[]string{"200 OK", "200 OK", "200 OK"}, "", nil},
		{"a changed value replaces the components and tells no one again", func() *Answer { return send(amended, hb, wbcHigh) },
			[]string{"200 OK", "200 OK", "200 OK"}, "", func(t *testing.T, c map[string]int) {
				r := w.onlyResult(p)
				if r.Status != result.StatusAMENDED || c["components"] != 2 || c["notifications"] != 1 {
					t.Errorf("status %s rows %v", r.Status, c)
				}
				for _, co := range r.Edges.Components {
					if *co.Code == "6690-2" && (*co.ValueNumeric != 12.5 || *co.Flag != resultcomponent.FlagHIGH) {
						t.Errorf("white cells %s", componentKey(co))
					}
				}
			}},
		{"a result dropped from the report drops its component", func() *Answer { return send(hbOnly, hb) },
			[]string{"200 OK", "200 OK"}, "", func(t *testing.T, c map[string]int) {
				if c["results"] != 1 || c["components"] != 1 {
					t.Errorf("rows %v", c)
				}
			}},
		{"entered in error removes the result and its components", func() *Answer { return send(gone, hb) },
			[]string{"200 OK", "200 OK"}, "entered in error", func(t *testing.T, c map[string]int) {
				if c["results"] != 0 || c["components"] != 0 {
					t.Errorf("rows %v", c)
				}
			}},
		{"entered in error again is skipped with its Observations", func() *Answer { return send(gone, hb) },
			[]string{"200 OK", "200 OK"}, "not in the portal", func(t *testing.T, c map[string]int) {
				if c["results"] != 0 || c["components"] != 0 {
					t.Errorf("rows %v", c)
				}
			}},
		{"a cancelled report is skipped with its Observations", func() *Answer {
			return send(labReport("other", "58410-2", []string{"hb"}, map[string]any{"status": "cancelled"}), hb)
		}, []string{"200 OK", "200 OK"}, "cancelled", func(t *testing.T, c map[string]int) {
			if c["results"] != 0 || c["components"] != 0 {
				t.Errorf("rows %v", c)
			}
		}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_, before := w.rows()
			a := s.answer()
			es := labEntries(t, a)
			var got []string
			for _, e := range es {
				got = append(got, e.Status)
			}
			if !slices.Equal(got, s.want) || !strings.Contains(labDiagnostics(es[0]), s.say) {
				t.Fatalf("answers %v (%s), want %v saying %q", got, labDiagnostics(es[0]), s.want, s.say)
			}
			counts, after := w.rows()
			if s.check == nil {
				if a.Unchanged != len(es) {
					t.Errorf("%d of %d unchanged", a.Unchanged, len(es))
				}
				for id, at := range after {
					if !before[id].Equal(at) {
						t.Errorf("%s was written", id)
					}
				}
				return
			}
			s.check(t, counts)
		})
	}
}

func TestDiagnosticReportOfAnExcludedServiceKeepsItsObservationsOut(t *testing.T) {
	w := newLabWorld(t, 0)
	org, err := w.org.Update().SetExcludedServices([]string{"Maternity"}).Save(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.org = org
	p := w.patient("p1")
	booking := labReport("r", "58410-2", []string{"a", "b"}, map[string]any{
		"code": map[string]any{"text": "Maternity booking bloods"}})
	for _, typ := range []string{transaction, batch} {
		t.Run("in a "+typ, func(t *testing.T) {
			a := w.sendBundle(typ, booking, labMember("a", "718-7", 140, nil), labMember("b", "6690-2", 6, nil))
			es := labEntries(t, a)
			for i, e := range es {
				if e.Status != "200 OK" || !strings.Contains(labDiagnostics(e), "not stored") {
					t.Errorf("entry %d answered %s: %s", i, e.Status, labDiagnostics(e))
				}
			}
			if rs := w.results(p); len(rs) != 0 {
				t.Errorf("%d results stored", len(rs))
			}
		})
	}
}

func TestDiagnosticReportNoteIsALetter(t *testing.T) {
	text := "Seen in clinic. Plan reviewed."
	form := []any{map[string]any{"contentType": "text/plain; charset=utf-8", "data": base64.StdEncoding.EncodeToString([]byte(text))}}
	for _, tc := range []struct {
		name   string
		report map[string]any
	}{
		{"a progress note is a letter", labReport("n1", "11506-3", nil, map[string]any{"presentedForm": form})},
		{"a report with a presented form and no results is a letter", labReport("n2", "24357-6", nil, map[string]any{"presentedForm": form})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newLabWorld(t, 0)
			p := w.patient("p1")
			if res := w.send(tc.report); res.Status != "201 Created" {
				t.Fatalf("answer %s: %s", res.Status, labDiagnostics(res))
			}
			l, err := w.client.Letter.Query().Where(letter.PatientID(p)).Only(w.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if l.Body == nil || *l.Body != text || l.Author == nil || *l.Author != "Pathology, Test Trust" {
				t.Errorf("letter body %v author %v", l.Body, l.Author)
			}
			if counts, _ := w.rows(); counts["results"] != 0 {
				t.Errorf("rows %v", counts)
			}
			gone := tc.report
			gone["status"] = "entered-in-error"
			if res := w.send(gone); res.Status != "200 OK" {
				t.Errorf("entered in error: %s %s", res.Status, labDiagnostics(res))
			}
			if n, err := w.client.Letter.Query().Count(w.ctx); err != nil || n != 0 {
				t.Errorf("%d letters left (%v)", n, err)
			}
		})
	}
}

func TestSyntheaPatientResultsAndMeasurements(t *testing.T) {
	const dir = "synthea/samply-blaze/"
	hospitals := labSample(t, dir+"0-hospitalInformation1625911868739.json")
	practitioners := labSample(t, dir+"0-practitionerInformation1625911868739.json")
	patient := labSample(t, dir+"6c8f3e83-c351-ed33-c38d-6be101c275d2.json")
	bundle := func(raw []byte) *Bundle {
		var b Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		return &b
	}
	w := newLabWorld(t, 0)
	for _, raw := range [][]byte{hospitals, practitioners} {
		if a := w.importBundle(bundle(raw)); a.Status != 200 || a.Refused != 0 {
			t.Fatalf("reference data: answer %d with %d refused", a.Status, a.Refused)
		}
	}

	// What the bundle should become, read from it with rules of its own.
	b := bundle(patient)
	type resource struct {
		ResourceType string            `json:"resourceType"`
		Category     []CodeableConcept `json:"category"`
		Code         CodeableConcept   `json:"code"`
		Result       []Reference       `json:"result"`
		Component    []json.RawMessage `json:"component"`
	}
	charted := []string{"8867-4", "29463-7", "8302-2", "39156-5", "85354-9", "2708-6", "8310-5", "9279-1"}
	inReports := map[string]bool{}
	var wantResults, wantComponents, wantMeasurements, notMeasured, notes int
	kinds := map[int]string{}
	decode := func(raw json.RawMessage) resource {
		var r resource
		var head Head
		if err := json.Unmarshal(raw, &head); err != nil {
			t.Fatal(err)
		}
		if head.ResourceType != "DiagnosticReport" && head.ResourceType != "Observation" {
			return resource{ResourceType: head.ResourceType}
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for i, e := range b.Entry {
		r := decode(e.Resource)
		if r.ResourceType == "DiagnosticReport" {
			if r.Code.has(loinc, "34117-2") || len(r.Result) == 0 {
				notes++
				kinds[i] = "note"
				continue
			}
			kinds[i] = "report"
			wantResults++
			for _, ref := range r.Result {
				inReports[ref.Reference] = true
			}
		}
	}
	for i, e := range b.Entry {
		r := decode(e.Resource)
		if r.ResourceType != "Observation" {
			continue
		}
		switch {
		case inReports[e.FullURL]:
			wantComponents++
			kinds[i] = "component"
		case r.Category[0].Coding[0].Code == "vital-signs":
			if slices.ContainsFunc(charted, func(c string) bool { return r.Code.has(loinc, c) }) {
				wantMeasurements++
				kinds[i] = "measurement"
			} else {
				notMeasured++
				kinds[i] = "skipped"
			}
		default:
			wantResults++
			wantComponents++
			kinds[i] = "result"
		}
	}
	t.Logf("the bundle should give %d results with %d components, %d measurements; %d vital signs not kept, %d notes",
		wantResults, wantComponents, wantMeasurements, notMeasured, notes)
	if wantResults == 0 || wantMeasurements == 0 || notMeasured == 0 || notes == 0 {
		t.Fatal("not the patient expected")
	}

	first := w.importBundle(b)
	if first.Status != 200 || !first.Committed {
		t.Fatalf("patient bundle: answer %d: %s", first.Status, labDiagnostics(first.Body))
	}
	es := labEntries(t, first)
	for i, kind := range kinds {
		ok := false
		switch kind {
		case "report", "measurement", "result":
			ok = es[i].Status == "201 Created"
		case "component":
			ok = es[i].Status == "201 Created" && strings.Contains(labDiagnostics(es[i]), "stored as part of a DiagnosticReport")
		case "skipped":
			ok = es[i].Status == "200 OK" && strings.Contains(labDiagnostics(es[i]), "not a measurement the portal keeps")
		case "note":
			ok = es[i].Status != "" && !strings.HasPrefix(es[i].Status, "4")
		}
		if !ok {
			t.Errorf("entry %d (%s) answered %s: %s", i, kind, es[i].Status, labDiagnostics(es[i]))
		}
	}
	counts, stamps := w.rows()
	if counts["results"] != wantResults || counts["components"] != wantComponents || counts["measurements"] != wantMeasurements {
		t.Errorf("stored %v, want %d results, %d components, %d measurements", counts, wantResults, wantComponents, wantMeasurements)
	}
	rollups, err := w.client.MeasurementRollup.Query().All(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	readings := 0
	for _, r := range rollups {
		readings += r.Count
	}
	if readings != wantMeasurements {
		t.Errorf("the rollups count %d readings, want %d", readings, wantMeasurements)
	}
	patientID := pulid.ID(strings.TrimPrefix(es[0].Location, "Patient/"))
	if n, err := w.client.MeasurementRollup.Query().Where(measurementrollup.PatientIDNEQ(patientID)).Count(w.ctx); err != nil || n != 0 {
		t.Errorf("%d rollups of another patient (%v)", n, err)
	}

	again := w.importBundle(bundle(patient))
	if again.Status != 200 || again.Stored != 0 || again.Refused != 0 {
		t.Errorf("sent again: answer %d, %d stored, %d refused", again.Status, again.Stored, again.Refused)
	}
	for i, e := range labEntries(t, again) {
		if e.Status == "201 Created" {
			t.Errorf("sent again: entry %d (%s) created", i, kinds[i])
		}
	}
	counts2, stamps2 := w.rows()
	for k, n := range counts {
		if counts2[k] != n {
			t.Errorf("sent again: %s went from %d to %d", k, n, counts2[k])
		}
	}
	for id, at := range stamps2 {
		if !stamps[id].Equal(at) {
			t.Errorf("sent again: %s was written", id)
		}
	}
}
