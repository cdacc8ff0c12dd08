package fhir

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
)

// clinicNote is an inline DocumentReference for Patient/p1 with content.
func clinicNote(contentType, content string) map[string]any {
	return map[string]any{
		"resourceType": "DocumentReference",
		"id":           "doc-1",
		"identifier":   []any{map[string]any{"system": "urn:trust:docs", "value": "D-1"}},
		"status":       "current",
		"type":         recCC("http://loinc.org", "11488-4", "Consult note"),
		"subject":      map[string]any{"reference": "Patient/p1"},
		"date":         "2024-05-30T15:00:00+01:00",
		"author":       []any{map[string]any{"reference": "Practitioner/nobody"}, map[string]any{"reference": "Practitioner/d1", "display": "Dr Lee"}},
		"description":  "Clinic letter",
		"content": []any{map[string]any{"attachment": map[string]any{
			"contentType": contentType, "data": base64.StdEncoding.EncodeToString([]byte(content)),
		}}},
	}
}

func attachmentOnly(att map[string]any) []any {
	return []any{map[string]any{"attachment": att}}
}

const onePagePDF = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"

// blobFiles lists the documents in the harness's store.
func (h *recordsHarness) blobFiles() []string {
	h.t.Helper()
	entries, err := os.ReadDir(h.blobDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

// document reads a letter's document back from the store.
func (h *recordsHarness) document(l *ent.Letter) []byte {
	h.t.Helper()
	if l.DocumentKey == nil {
		h.t.Fatal("the letter has no document")
	}
	f, err := h.imp.Blobs.Open(h.ctx, *l.DocumentKey)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func TestDocumentReferenceBecomesALetter(t *testing.T) {
	sent := time.Date(2024, 5, 30, 14, 0, 0, 0, time.UTC)
	text := clinicNote("text/plain; charset=utf-8", "Dear Pat,\nAll is well.")
	tests := []struct {
		name   string
		res    map[string]any
		status string
		say    string
		check  func(t *testing.T, h *recordsHarness, l *ent.Letter)
	}{
		{"a plain-text note is a RESTRICTED text letter, titled, authored and dated", text, "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if l.Title != "Clinic letter" || recDeref(l.Author) != "Dr Lee" || !l.SentAt.Equal(sent) ||
					recDeref(l.Body) != "Dear Pat,\nAll is well." || l.BodyFormat != letter.BodyFormatTEXT || l.DocumentKey != nil ||
					l.Category != category.Restricted || l.AssignedCategory != nil {
					t.Errorf("letter = %+v", l)
				}
			}},
		{"an HTML note keeps its HTML", clinicNote("text/html", "<p>Dear Pat</p>"), "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if recDeref(l.Body) != "<p>Dear Pat</p>" || l.BodyFormat != letter.BodyFormatHTML {
					t.Errorf("letter = %+v", l)
				}
			}},
		{"ISO-8859-1 text is read as such", clinicNote("text/plain; charset=ISO-8859-1", "Caf\xe9"), "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if recDeref(l.Body) != "Café" {
					t.Errorf("body %q", recDeref(l.Body))
				}
			}},
		{"a PDF goes to the document store", clinicNote("application/pdf", onePagePDF), "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if l.Body != nil || recDeref(l.DocumentType) != "application/pdf" || recDeref(l.DocumentSize) != int64(len(onePagePDF)) {
					t.Errorf("letter = %+v", l)
				}
				if got := h.document(l); string(got) != onePagePDF {
					t.Errorf("the store holds %q", got)
				}
				if strings.Contains(*l.DocumentKey, string(l.ID)) {
					t.Error("the document's key shows the letter's ID")
				}
			}},
		{"the type titles a note without a description, and the attachment dates one without a date",
			recWith(text, "description", nil, "date", nil, "content", attachmentOnly(map[string]any{
				"contentType": "text/plain", "data": base64.StdEncoding.EncodeToString([]byte("x")), "creation": "2024-05-29T08:00:00Z"})), "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if l.Title != "Consult note" || !l.SentAt.Equal(time.Date(2024, 5, 29, 8, 0, 0, 0, time.UTC)) {
					t.Errorf("letter = %+v", l)
				}
			}},
		{"a superseded note is kept: it is still what the patient was sent", recWith(text, "status", "superseded"), "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {}},
		{"a psychiatric security label labels the letter",
			recWith(text, "securityLabel", []any{map[string]any{"coding": []any{map[string]any{"system": actCodeSystem, "code": "PSY"}}}}), "201", "",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if l.Category != category.MentalHealth || recDeref(l.AssignedCategory) != category.MentalHealth {
					t.Errorf("labelled %s (assigned %v)", l.Category, l.AssignedCategory)
				}
			}},
		{"a document by URL keeps its title and says the content was not fetched",
			recWith(text, "content", attachmentOnly(map[string]any{"contentType": "application/pdf", "url": "https://example.org/Binary/1"})),
			"201", "not fetched",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if l.Title != "Clinic letter" || l.Body != nil || l.DocumentKey != nil {
					t.Errorf("letter = %+v", l)
				}
			}},
		{"content of another type keeps only the title", clinicNote("application/hl7-v3+xml", "<ClinicalDocument/>"), "201", "only the document's title",
			func(t *testing.T, h *recordsHarness, l *ent.Letter) {
				if l.Body != nil || l.DocumentKey != nil {
					t.Errorf("letter = %+v", l)
				}
			}},
		{"HTML with a script is refused", clinicNote("text/html", `<p onclick="x()">hi</p>`), "422", "scripts", nil},
		{"a PDF that is not one is refused", clinicNote("application/pdf", "<html>"), "422", "not a PDF", nil},
		{"a PDF over 10 MB is refused", clinicNote("application/pdf", onePagePDF+strings.Repeat(" ", 10<<20)), "422", "larger than 10 MB", nil},
		{"text that is not UTF-8 is refused", clinicNote("text/plain", "Caf\xe9"), "422", "UTF-8", nil},
		{"content that is not base64 is refused", recWith(text, "content", attachmentOnly(map[string]any{"contentType": "text/plain", "data": "%%%"})), "422", "base64", nil},
		{"a document without content is refused", recWith(text, "content", []any{}), "422", "content", nil},
		{"a note entered in error that was never stored is skipped", recWith(text, "status", "entered-in-error"), "200", "never stored", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			p := h.patient("p1")
			h.account(p)
			h.expect(h.send(tc.res), tc.status, tc.say)
			all := h.client.Letter.Query().AllX(h.ctx)
			if tc.check == nil {
				if len(all) != 0 || len(h.blobFiles()) != 0 {
					t.Fatalf("%d letters and %d documents stored, want none", len(all), len(h.blobFiles()))
				}
				return
			}
			if len(all) != 1 {
				t.Fatalf("%d letters stored, want 1", len(all))
			}
			l := all[0]
			tc.check(t, h, l)
			ns := h.news()
			if len(ns) != 1 || ns[0].Kind != notification.KindLETTER_RECEIVED || ns[0].Category != l.Category || recDeref(ns[0].SubjectID) != l.ID {
				t.Errorf("told %+v, want one LETTER_RECEIVED under the letter's label", ns)
			}
		})
	}
}

func TestDocumentReferenceOfAnExcludedServiceIsSkipped(t *testing.T) {
	h := newRecordsHarness(t, "Maternity")
	h.patient("p1")
	note := recWith(clinicNote("text/plain", "x"), "context", map[string]any{"practiceSetting": recCC(snomed, "408470005", "Obstetrics - Maternity")})
	h.expect(h.send(note), "200", "keeps Maternity data out")
	if n := h.client.Letter.Query().CountX(h.ctx); n != 0 {
		t.Fatalf("%d letters stored, want none", n)
	}
}

func TestDocumentReferenceSentAgain(t *testing.T) {
	text := clinicNote("text/plain", "Dear Pat")
	pdf := clinicNote("application/pdf", onePagePDF)
	tests := []struct {
		name      string
		first     map[string]any
		again     map[string]any
		say       string
		letters   int
		moved     bool
		documents int
		newKey    bool
	}{
		{"the same note again changes nothing and tells nobody again", text, text, "", 1, false, 0, false},
		{"a corrected note is updated and tells nobody again", text, clinicNote("text/plain", "Dear Pat, corrected"), "", 1, true, 0, false},
		{"the same PDF again changes nothing", pdf, pdf, "", 1, false, 1, false},
		{"a new PDF replaces the old one in the store", pdf, clinicNote("application/pdf", onePagePDF+"%v2\n"), "", 1, true, 1, true},
		{"a PDF replaced by text leaves the store", pdf, text, "", 1, true, 0, false},
		{"a note entered in error is removed with its reads, news and document", pdf, recWith(pdf, "status", "entered-in-error"), "entered in error", 0, false, 0, false},
		{"a note whose document is entered in error is removed", text, recWith(text, "docStatus", "entered-in-error"), "entered in error", 0, false, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecordsHarness(t)
			p := h.patient("p1")
			acc := h.account(p)
			h.expect(h.send(tc.first), "201", "")
			first := h.client.Letter.Query().OnlyX(h.ctx)
			h.client.LetterRead.Create().SetPatientID(p).SetLetterID(first.ID).SetAccountID(acc).ExecX(h.ctx)
			time.Sleep(2 * time.Millisecond)
			h.expect(h.send(tc.again), "200", tc.say)
			all := h.client.Letter.Query().AllX(h.ctx)
			if len(all) != tc.letters {
				t.Fatalf("%d letters, want %d", len(all), tc.letters)
			}
			if docs := h.blobFiles(); len(docs) != tc.documents {
				t.Errorf("the store holds %d documents, want %d", len(docs), tc.documents)
			}
			news := h.news()
			if tc.letters == 0 {
				if len(news) != 0 || h.client.LetterRead.Query().CountX(h.ctx) != 0 {
					t.Errorf("%d notifications and %d reads left", len(news), h.client.LetterRead.Query().CountX(h.ctx))
				}
				return
			}
			l := all[0]
			if moved := !l.UpdatedAt.Equal(first.UpdatedAt); moved != tc.moved {
				t.Errorf("updated_at moved = %v, want %v", moved, tc.moved)
			}
			if len(news) != 1 {
				t.Errorf("told %d times, want once", len(news))
			}
			if newKey := l.DocumentKey != nil && first.DocumentKey != nil && *l.DocumentKey != *first.DocumentKey; newKey != tc.newKey {
				t.Errorf("new document key = %v, want %v", newKey, tc.newKey)
			}
		})
	}
}

func TestDocumentReferenceRolledBackLeavesNoDocument(t *testing.T) {
	h := newRecordsHarness(t)
	h.patient("p1")
	good := clinicNote("application/pdf", onePagePDF)
	bad := recWith(clinicNote("text/html", "<script>x</script>"), "id", "doc-2", "identifier", nil)
	b := &Bundle{ResourceType: "Bundle", Type: "transaction"}
	for _, res := range []map[string]any{good, bad} {
		b.Entry = append(b.Entry, BundleEntry{Resource: recordsJSON(t, res), Request: &EntryRequest{Method: "POST", URL: "DocumentReference"}})
	}
	a := h.sendBundle(b)
	if a.Status != 422 || a.Committed {
		t.Fatalf("answer %d (committed %v), want 422", a.Status, a.Committed)
	}
	if n := h.client.Letter.Query().CountX(h.ctx); n != 0 {
		t.Errorf("%d letters stored", n)
	}
	if docs := h.blobFiles(); len(docs) != 0 {
		t.Errorf("the store still holds %v", docs)
	}
}

func TestDocumentReferenceSample(t *testing.T) {
	raw := recordsSample(t, "hl7-r4-examples/documentreference-example.json")
	h := newRecordsHarness(t)
	p := h.patient("xcda")
	h.expect(h.send(raw), "201", "not fetched")
	l := h.client.Letter.Query().OnlyX(h.ctx)
	// Very restricted (securityLabel V), by URL only, by an author the
	// portal cannot name.
	if l.PatientID != p || l.Title != "Physical" || l.Author != nil || !l.SentAt.Equal(time.Date(2005, 12, 23, 22, 43, 41, 0, time.UTC)) ||
		l.Body != nil || l.DocumentKey != nil || l.Category != category.Restricted || recDeref(l.AssignedCategory) != category.Restricted ||
		recDeref(l.ExternalSystem) != "urn:ietf:rfc:3986" || recDeref(l.ExternalValue) != "urn:oid:1.3.6.1.4.1.21367.2005.3.7.1234" {
		t.Errorf("letter = %+v", l)
	}
	h.expect(h.send(raw), "200", "not fetched")
	if again := h.client.Letter.Query().OnlyX(h.ctx); !again.UpdatedAt.Equal(l.UpdatedAt) {
		t.Error("sending the sample again rewrote it")
	}
}

// TestSyntheaPatientRecordsAreStoredOnceAndResentUnchanged imports a whole
// Synthea patient after the reference data its references point into, and
// again: allergies, encounters (by class) and notes each become one record,
// and the second import writes nothing. Only this mapping's types are
// counted: observations and reports have mappings of their own.
func TestSyntheaPatientRecordsAreStoredOnceAndResentUnchanged(t *testing.T) {
	const dir = "synthea/samply-blaze/"
	hospitals := recordsSample(t, dir+"0-hospitalInformation1625911868739.json")
	practitioners := recordsSample(t, dir+"0-practitionerInformation1625911868739.json")
	patient := recordsSample(t, dir+"6c8f3e83-c351-ed33-c38d-6be101c275d2.json")
	h := newRecordsHarness(t)
	bundle := func(raw []byte) *Bundle {
		var b Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		return &b
	}
	for _, raw := range [][]byte{hospitals, practitioners} {
		if a := h.sendBundle(bundle(raw)); a.Status != 200 || a.Refused != 0 {
			t.Fatalf("reference data: answer %d with %d refused", a.Status, a.Refused)
		}
	}

	// What the bundle holds of this mapping's types.
	b := bundle(patient)
	var allergies, visits, stays int
	var notes []Head
	mine := map[int]bool{}
	for i, e := range b.Entry {
		var r Head
		var enc struct {
			Class Coding `json:"class"`
		}
		if err := json.Unmarshal(e.Resource, &r); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(e.Resource, &enc); err != nil {
			t.Fatal(err)
		}
		switch r.ResourceType {
		case "AllergyIntolerance":
			allergies++
		case "Encounter":
			switch encounterClass(enc.Class) {
			case ambulatory:
				visits++
			case emergency, inpatient:
				stays++
			}
		case "DocumentReference":
			notes = append(notes, r)
		default:
			continue
		}
		mine[i] = true
	}
	if allergies == 0 || visits+stays == 0 || len(notes) == 0 {
		t.Fatalf("the sample holds %d allergies, %d encounters and %d notes: not the patient expected", allergies, visits+stays, len(notes))
	}

	t.Logf("the bundle holds %d allergies, %d ambulatory and %d other encounters, %d notes", allergies, visits, stays, len(notes))
	first := h.sendBundle(b)
	if first.Status != 200 || !first.Committed {
		t.Fatalf("patient bundle: answer %d: %s", first.Status, recDiagnostics(outcomeOf(first)))
	}
	for i, e := range first.Body.(*ResponseBundle).Entry {
		if mine[i] && e.Response.Status != "201 Created" {
			t.Errorf("entry %d: %s %s, want 201 Created", i, e.Response.Status, recDiagnostics(e.Response.Outcome))
		}
	}
	if n := h.client.Allergy.Query().CountX(h.ctx); n != allergies {
		t.Errorf("%d allergies, want %d", n, allergies)
	}
	if n := h.client.Appointment.Query().CountX(h.ctx); n != visits {
		t.Errorf("%d appointments, want %d (ambulatory encounters)", n, visits)
	}
	if n := h.client.Encounter.Query().CountX(h.ctx); n != stays {
		t.Errorf("%d encounters, want %d (emergency and inpatient)", n, stays)
	}
	var sources []string
	for _, n := range notes {
		sources = append(sources, n.Identifier[0].Value)
	}
	letters := h.client.Letter.Query().Where(letter.ExternalValueIn(sources...)).AllX(h.ctx)
	if len(letters) != len(notes) {
		t.Errorf("%d letters from notes, want %d", len(letters), len(notes))
	}
	for _, l := range letters {
		if l.Category != category.Restricted || l.BodyFormat != letter.BodyFormatTEXT || recDeref(l.Body) == "" || recDeref(l.Author) == "" {
			t.Errorf("note %s: labelled %s, format %s, body %d bytes, author %v: want a RESTRICTED text note with its author",
				l.ID, l.Category, l.BodyFormat, len(recDeref(l.Body)), l.Author)
		}
	}
	for _, a := range h.client.Appointment.Query().AllX(h.ctx) {
		if a.Site == nil || a.Clinician == nil || a.Category != category.General {
			t.Errorf("appointment %s: site %v, clinician %v, labelled %s", a.ID, a.Site, a.Clinician, a.Category)
		}
	}

	before := syntheaRows(h, sources)
	h.now = h.now.Add(24 * time.Hour)
	time.Sleep(2 * time.Millisecond)
	again := h.sendBundle(bundle(patient))
	if again.Status != 200 || !again.Committed {
		t.Fatalf("patient bundle again: answer %d", again.Status)
	}
	for i, e := range again.Body.(*ResponseBundle).Entry {
		if mine[i] && (e.Response.Status != "200 OK" || e.Response.Outcome != nil && e.Response.Outcome.Issue[0].Severity != "information") {
			t.Errorf("entry %d again: %s %s, want 200 OK", i, e.Response.Status, recDiagnostics(e.Response.Outcome))
		}
	}
	after := syntheaRows(h, sources)
	if len(after) != len(before) {
		t.Errorf("%d rows after importing again, %d before", len(after), len(before))
	}
	for id, at := range before {
		if !after[id].Equal(at) {
			t.Errorf("%s was rewritten (updated_at %v, was %v)", id, after[id], at)
		}
	}
}

// syntheaRows is every allergy, encounter, appointment and note-letter by
// ID, with its updated_at.
func syntheaRows(h *recordsHarness, noteSources []string) map[string]time.Time {
	rows := map[string]time.Time{}
	for _, a := range h.client.Allergy.Query().AllX(h.ctx) {
		rows[string(a.ID)] = a.UpdatedAt
	}
	for _, e := range h.client.Encounter.Query().AllX(h.ctx) {
		rows[string(e.ID)] = e.UpdatedAt
	}
	for _, a := range h.client.Appointment.Query().AllX(h.ctx) {
		rows[string(a.ID)] = a.UpdatedAt
	}
	for _, l := range h.client.Letter.Query().Where(letter.ExternalValueIn(noteSources...)).AllX(h.ctx) {
		rows[string(l.ID)] = l.UpdatedAt
	}
	return rows
}

// outcomeOf is a refused bundle's outcome.
func outcomeOf(a *Answer) *OperationOutcome {
	o, _ := a.Body.(*OperationOutcome)
	return o
}
