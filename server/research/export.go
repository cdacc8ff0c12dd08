package research

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"log/slog"
	"net/http"
	"time"
	_ "time/tzdata" // Europe/London on machines without a zoneinfo database

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/allergy"
	"github.com/patientportal/portal/ent/encounter"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/patient"
	"github.com/patientportal/portal/ent/researchconsent"
	"github.com/patientportal/portal/ent/researchstudy"
	"github.com/patientportal/portal/ent/result"
	"github.com/patientportal/portal/ent/resultcomponent"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// Pages and pacing of an export.
const (
	// consentPage is how many consents are read at a time.
	consentPage = 100
	// recordPage is how many of a patient's items of one kind are read
	// at a time.
	recordPage = 1_000
	// exportStall is how long the server waits for the researcher to take
	// the next patient's lines: a long export runs past the server's write
	// timeout as long as it keeps moving.
	exportStall = 60 * time.Second
)

// london is where months begin and end.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // time/tzdata is linked in
	}
	return loc
}()

// month is a time to the month, in UK time: the export's only precision.
func month(t time.Time) string { return t.In(london).Format("2006-01") }

// ExportHandler serves GET /research/studies/{id}/export to the study's
// researchers, signed in with a bearer token that the session middleware
// has resolved into the request's viewer: the de-identified data of every
// patient who consented and has not withdrawn, as NDJSON
// (application/x-ndjson), one object a line, streamed as it is read:
//
//	{"type":"patient","pseudonym":"…","birthYear":1980}
//	{"type":"result","pseudonym":"…","month":"2026-01","code":"718-7","value":131,"unit":"g/L","flag":"NORMAL","category":"GENERAL"}
//	{"type":"measurement","pseudonym":"…","month":"2026-01","measurement":"GLUCOSE","value":5.5,"unit":"mmol/L","category":"GENERAL"}
//	{"type":"encounter","pseudonym":"…","month":"2026-01","kind":"EMERGENCY","status":"DISCHARGED","category":"GENERAL"}
//	{"type":"allergy","pseudonym":"…","month":"2026-01","kind":"ALLERGY","status":"ACTIVE","category":"GENERAL"}
//	{"type":"end","patients":12}
//
// A patient is named only by a pseudonym, HMAC-SHA256 of their record's ID
// under the study's key, so it differs from study to study; dates go to
// the month, and only coded values leave: no names, numbers, addresses,
// devices, free text, letters or internal IDs. Only items of the
// categories the patient agreed to go, and only results released to the
// patient. The last line, "end", is missing when the export was cut short.
//
// Signed out is 401; a study of another organisation 403; a missing one 404.
func (s *Service) ExportHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		v := access.FromContext(ctx)
		if v == nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "sign in to continue", http.StatusUnauthorized)
			return
		}
		id := pulid.ID(r.PathValue("id"))
		if table, err := pulid.TableOf(id); err != nil || table != researchstudy.Table {
			http.NotFound(w, r)
			return
		}
		sys := access.SystemContext(ctx)
		st, err := s.client.ResearchStudy.Get(sys, id)
		if ent.IsNotFound(err) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			exportFailed(ctx, w, id, err)
			return
		}
		if !v.HasRole(st.OrganisationID, access.RoleResearcher) {
			http.Error(w, "not allowed", http.StatusForbidden)
			return
		}
		err = s.audit(ctx, s.client, v, event{action: actionExport, organisation: &st.OrganisationID, reason: "study " + string(st.ID)})
		if err != nil {
			exportFailed(ctx, w, id, err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/x-ndjson")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Disposition", "attachment")
		w.WriteHeader(http.StatusOK)

		out := bufio.NewWriterSize(w, 32<<10)
		rc := http.NewResponseController(w)
		e := &export{
			client: s.client,
			sys:    sys,
			study:  st.ID,
			now:    s.now(),
			mac:    hmac.New(sha256.New, st.PseudonymKey),
			enc:    json.NewEncoder(out),
			flush: func() error {
				// Not every ResponseWriter supports deadlines; the
				// server's timeouts then apply.
				_ = rc.SetWriteDeadline(time.Now().Add(exportStall))
				if err := out.Flush(); err != nil {
					return err
				}
				return rc.Flush()
			},
		}
		clear(st.PseudonymKey) // the HMAC holds what it needs
		if err := e.run(ctx); err != nil {
			slog.ErrorContext(ctx, "research export cut short", "study", id, "patients", e.patients, "err", err)
			return
		}
		if err := e.enc.Encode(endLine{Type: "end", Patients: e.patients}); err != nil {
			return
		}
		if err := e.flush(); err != nil {
			return
		}
		slog.InfoContext(ctx, "research export", "study", id, "patients", e.patients, "lines", e.lines)
	})
}

// exportFailed answers an export that failed before its first line.
func exportFailed(ctx context.Context, w http.ResponseWriter, study pulid.ID, err error) {
	slog.ErrorContext(ctx, "research export failed", "study", study, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// The lines of an export. Only what a line type lists leaves the service.
type (
	patientLine struct {
		Type      string `json:"type"`
		Pseudonym string `json:"pseudonym"`
		BirthYear int    `json:"birthYear"`
	}
	resultLine struct {
		Type       string   `json:"type"`
		Pseudonym  string   `json:"pseudonym"`
		Month      string   `json:"month"`
		Code       *string  `json:"code,omitempty"`
		Comparator *string  `json:"comparator,omitempty"`
		Value      *float64 `json:"value,omitempty"`
		Unit       *string  `json:"unit,omitempty"`
		Flag       *string  `json:"flag,omitempty"`
		Category   string   `json:"category"`
	}
	measurementLine struct {
		Type        string   `json:"type"`
		Pseudonym   string   `json:"pseudonym"`
		Month       string   `json:"month"`
		Measurement string   `json:"measurement"`
		Value       float64  `json:"value"`
		Value2      *float64 `json:"value2,omitempty"`
		Unit        string   `json:"unit"`
		Category    string   `json:"category"`
	}
	encounterLine struct {
		Type      string `json:"type"`
		Pseudonym string `json:"pseudonym"`
		Month     string `json:"month"`
		Kind      string `json:"kind"`
		Status    string `json:"status"`
		Category  string `json:"category"`
	}
	allergyLine struct {
		Type      string `json:"type"`
		Pseudonym string `json:"pseudonym"`
		Month     string `json:"month"`
		Kind      string `json:"kind"`
		Status    string `json:"status"`
		Category  string `json:"category"`
	}
	endLine struct {
		Type     string `json:"type"`
		Patients int    `json:"patients"`
	}
)

// export is one run of a study's export. It holds one page of rows at a
// time, never the cohort.
type export struct {
	client *ent.Client
	sys    context.Context
	study  pulid.ID
	now    time.Time
	mac    hash.Hash
	enc    *json.Encoder
	flush  func() error
	// patients and lines count what was written, for the log.
	patients int
	lines    int
}

// run writes every consenting patient's lines, a page of consents at a
// time in ID order (keyset pagination).
func (e *export) run(ctx context.Context) error {
	var after pulid.ID
	for {
		page, err := e.client.ResearchConsent.Query().
			Where(
				researchconsent.StudyID(e.study),
				researchconsent.WithdrawnAtIsNil(),
				researchconsent.IDGT(after),
			).
			Order(ent.Asc(researchconsent.FieldID)).
			Limit(consentPage).
			Select(researchconsent.FieldPatientID).
			All(e.sys)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
		ids := make([]pulid.ID, len(page))
		for i, c := range page {
			ids[i] = c.PatientID
		}
		people, err := e.client.Patient.Query().
			Where(patient.IDIn(ids...)).
			Select(patient.FieldDateOfBirth).
			All(e.sys)
		if err != nil {
			return err
		}
		born := make(map[pulid.ID]int, len(people))
		for _, p := range people {
			born[p.ID] = p.DateOfBirth.UTC().Year()
		}
		for _, c := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := e.patient(c.ID, c.PatientID, born[c.PatientID]); err != nil {
				return err
			}
		}
		if len(page) < consentPage {
			return nil
		}
	}
}

// patient writes one patient's lines. The consent is read again first, so
// that a withdrawal (or a narrower consent) made while the export runs
// counts at once.
func (e *export) patient(consentID, patientID pulid.ID, birthYear int) error {
	c, err := e.client.ResearchConsent.Query().
		Where(researchconsent.ID(consentID), researchconsent.WithdrawnAtIsNil()).
		Select(researchconsent.FieldCategories).
		Only(e.sys)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	cats := agreed(c.Categories)
	if len(cats) == 0 {
		return nil
	}
	e.mac.Reset()
	e.mac.Write([]byte(patientID))
	pseudonym := hex.EncodeToString(e.mac.Sum(nil))
	if err := e.write(patientLine{Type: "patient", Pseudonym: pseudonym, BirthYear: birthYear}); err != nil {
		return err
	}
	for _, kind := range []func(pulid.ID, string, []category.Category) error{
		e.results, e.measurements, e.encounters, e.allergies,
	} {
		if err := kind(patientID, pseudonym, cats); err != nil {
			return err
		}
	}
	e.patients++
	return e.flush()
}

// agreed returns the labels of a consent that the export may use: never
// PRIVATE, whatever the row says.
func agreed(names []string) []category.Category {
	var cats []category.Category
	for _, n := range names {
		if c := category.Category(n); c.Valid() && c != category.Private {
			cats = append(cats, c)
		}
	}
	return cats
}

func (e *export) write(line any) error {
	e.lines++
	return e.enc.Encode(line)
}

// results writes the values of the patient's released results, to the
// month they were taken: code, value, unit and flag, never names, text or
// conclusions. Both the result and the value must be of an agreed label.
func (e *export) results(patientID pulid.ID, pseudonym string, cats []category.Category) error {
	fetch := func(after pulid.ID) ([]*ent.ResultComponent, error) {
		return e.client.ResultComponent.Query().
			Where(
				resultcomponent.PatientID(patientID),
				resultcomponent.CategoryIn(cats...),
				resultcomponent.IDGT(after),
				resultcomponent.HasResultWith(
					result.CategoryIn(cats...),
					result.NeverRelease(false),
					result.VisibleFromLTE(e.now),
				),
			).
			Order(ent.Asc(resultcomponent.FieldID)).
			Limit(recordPage).
			Select(
				resultcomponent.FieldResultID,
				resultcomponent.FieldCategory,
				resultcomponent.FieldCode,
				resultcomponent.FieldValueNumeric,
				resultcomponent.FieldComparator,
				resultcomponent.FieldUnit,
				resultcomponent.FieldFlag,
			).
			WithResult(func(q *ent.ResultQuery) { q.Select(result.FieldTakenAt) }).
			All(e.sys)
	}
	return inPages(e, fetch, func(co *ent.ResultComponent) pulid.ID { return co.ID }, func(co *ent.ResultComponent) any {
		rs := co.Edges.Result
		if rs == nil {
			return nil
		}
		line := resultLine{
			Type:      "result",
			Pseudonym: pseudonym,
			Month:     month(rs.TakenAt),
			Code:      co.Code,
			Value:     co.ValueNumeric,
			Unit:      co.Unit,
			Category:  string(co.Category),
		}
		if co.Comparator != nil {
			line.Comparator = ptr(co.Comparator.String())
		}
		if co.Flag != nil {
			line.Flag = ptr(co.Flag.String())
		}
		return line
	})
}

// measurements writes the patient's readings, without the device.
func (e *export) measurements(patientID pulid.ID, pseudonym string, cats []category.Category) error {
	fetch := func(after pulid.ID) ([]*ent.Measurement, error) {
		return e.client.Measurement.Query().
			Where(
				measurement.PatientID(patientID),
				measurement.CategoryIn(cats...),
				measurement.IDGT(after),
			).
			Order(ent.Asc(measurement.FieldID)).
			Limit(recordPage).
			Select(
				measurement.FieldCategory,
				measurement.FieldType,
				measurement.FieldMeasuredAt,
				measurement.FieldValue,
				measurement.FieldValue2,
				measurement.FieldUnit,
			).
			All(e.sys)
	}
	return inPages(e, fetch, func(m *ent.Measurement) pulid.ID { return m.ID }, func(m *ent.Measurement) any {
		return measurementLine{
			Type:        "measurement",
			Pseudonym:   pseudonym,
			Month:       month(m.MeasuredAt),
			Measurement: m.Type.String(),
			Value:       m.Value,
			Value2:      m.Value2,
			Unit:        m.Unit,
			Category:    string(m.Category),
		}
	})
}

// encounters writes the patient's emergency and inpatient stays: kind and
// status only, never the site, ward, complaint or summary.
func (e *export) encounters(patientID pulid.ID, pseudonym string, cats []category.Category) error {
	fetch := func(after pulid.ID) ([]*ent.Encounter, error) {
		return e.client.Encounter.Query().
			Where(
				encounter.PatientID(patientID),
				encounter.CategoryIn(cats...),
				encounter.IDGT(after),
			).
			Order(ent.Asc(encounter.FieldID)).
			Limit(recordPage).
			Select(encounter.FieldCategory, encounter.FieldKind, encounter.FieldStatus, encounter.FieldStartedAt).
			All(e.sys)
	}
	return inPages(e, fetch, func(en *ent.Encounter) pulid.ID { return en.ID }, func(en *ent.Encounter) any {
		return encounterLine{
			Type:      "encounter",
			Pseudonym: pseudonym,
			Month:     month(en.StartedAt),
			Kind:      en.Kind.String(),
			Status:    en.Status.String(),
			Category:  string(en.Category),
		}
	})
}

// allergies writes that the patient has (or has no known) allergies, and
// their status: never the substance, reaction or recorder, which are text.
func (e *export) allergies(patientID pulid.ID, pseudonym string, cats []category.Category) error {
	fetch := func(after pulid.ID) ([]*ent.Allergy, error) {
		return e.client.Allergy.Query().
			Where(
				allergy.PatientID(patientID),
				allergy.CategoryIn(cats...),
				allergy.IDGT(after),
			).
			Order(ent.Asc(allergy.FieldID)).
			Limit(recordPage).
			Select(allergy.FieldCategory, allergy.FieldKind, allergy.FieldStatus, allergy.FieldRecordedAt).
			All(e.sys)
	}
	return inPages(e, fetch, func(a *ent.Allergy) pulid.ID { return a.ID }, func(a *ent.Allergy) any {
		return allergyLine{
			Type:      "allergy",
			Pseudonym: pseudonym,
			Month:     month(a.RecordedAt),
			Kind:      a.Kind.String(),
			Status:    a.Status.String(),
			Category:  string(a.Category),
		}
	})
}

// inPages writes one line per row fetch returns, reading by ID a page at a
// time and flushing after each full page, so a long history streams too.
// A row for which line returns nil writes nothing.
func inPages[T any](e *export, fetch func(after pulid.ID) ([]T, error), id func(T) pulid.ID, line func(T) any) error {
	var after pulid.ID
	for {
		page, err := fetch(after)
		if err != nil {
			return err
		}
		for _, row := range page {
			if l := line(row); l != nil {
				if err := e.write(l); err != nil {
					return err
				}
			}
		}
		if len(page) < recordPage {
			return nil
		}
		if err := e.flush(); err != nil {
			return err
		}
		after = id(page[len(page)-1])
	}
}

func ptr[T any](v T) *T { return &v }
