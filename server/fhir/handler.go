package fhir

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/importreport"
	"github.com/patientportal/portal/ent/schema/pulid"
)

// maxBody is the largest request taken: a year of a patient's record in
// one transaction stays well below it.
const maxBody = 32 << 20

// contentType is FHIR's JSON media type.
const contentType = "application/fhir+json"

// Handler serves the ingest endpoint under /fhir/r4: POST a Bundle to
// /fhir/r4, POST a resource to /fhir/r4/<Type>, PUT one to
// /fhir/r4/<Type>/<id>, and read the key's own import reports at
// /fhir/r4/import-reports[/<id>]. GET /fhir/r4/metadata describes the
// endpoint to anyone. Nothing else is readable with a key.
func (imp *Importer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/r4/metadata", metadata)
	mux.HandleFunc("POST /fhir/r4", imp.withKey(imp.postBundle))
	mux.HandleFunc("POST /fhir/r4/{type}", imp.withKey(imp.postResource))
	mux.HandleFunc("PUT /fhir/r4/{type}/{id}", imp.withKey(imp.postResource))
	mux.HandleFunc("GET /fhir/r4/import-reports", imp.withKey(imp.listReports))
	mux.HandleFunc("GET /fhir/r4/import-reports/{id}", imp.withKey(imp.getReport))
	mux.HandleFunc("/fhir/r4/", imp.withKey(func(w http.ResponseWriter, _ *http.Request, _ *caller) {
		writeOutcome(w, http.StatusForbidden, Issue{Severity: "error", Code: "forbidden",
			Diagnostics: "an integration key writes data and reads its own import reports, nothing else"})
	}))
	return mux
}

// caller is who sent a request: a live key and its organisation.
type caller struct {
	key *ent.APIKey
	org *ent.Organisation
}

// withKey authenticates the bearer key before h runs.
func (imp *Importer) withKey(h func(http.ResponseWriter, *http.Request, *caller)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		presented, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
			writeOutcome(w, http.StatusUnauthorized, Issue{Severity: "error", Code: "login", Diagnostics: ErrBadKey.Error()})
			return
		}
		key, org, err := authenticate(req.Context(), imp.Client, strings.TrimSpace(presented), imp.now())
		if errors.Is(err, ErrBadKey) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token"`)
			writeOutcome(w, http.StatusUnauthorized, Issue{Severity: "error", Code: "login", Diagnostics: ErrBadKey.Error()})
			return
		}
		if err != nil {
			serverError(w, req, err)
			return
		}
		h(w, req, &caller{key: key, org: org})
	}
}

func (imp *Importer) postBundle(w http.ResponseWriter, req *http.Request, c *caller) {
	raw, ok := readBody(w, req)
	if !ok {
		return
	}
	var b Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		writeOutcome(w, http.StatusBadRequest, Issue{Severity: "error", Code: "structure", Diagnostics: "the body is not a FHIR JSON Bundle"})
		return
	}
	a, err := imp.ImportBundle(req.Context(), c.org, &b)
	imp.answer(w, req, c, safeName(b.Type), a, err)
}

func (imp *Importer) postResource(w http.ResponseWriter, req *http.Request, c *caller) {
	typ := req.PathValue("type")
	if typ == "Bundle" && req.Method == http.MethodPost {
		imp.postBundle(w, req, c)
		return
	}
	raw, ok := readBody(w, req)
	if !ok {
		return
	}
	a, err := imp.ImportResource(req.Context(), c.org, typ, req.PathValue("id"), raw)
	imp.answer(w, req, c, safeName(typ), a, err)
}

// answer writes an import's answer and keeps it as an import report.
func (imp *Importer) answer(w http.ResponseWriter, req *http.Request, c *caller, kind string, a *Answer, err error) {
	if ref, ok := asRefusal(err); ok {
		a = &Answer{Status: ref.Status, Refused: 1, Body: outcome(Issue{Severity: "error", Code: ref.Code, Diagnostics: ref.Reason})}
		err = nil
	}
	if err != nil {
		serverError(w, req, err)
		return
	}
	id := pulid.New("ir")
	if b, ok := a.Body.(*ResponseBundle); ok {
		b.ID = string(id)
	}
	body, err := json.Marshal(a.Body)
	if err != nil {
		serverError(w, req, err)
		return
	}
	err = imp.Client.ImportReport.Create().
		SetID(id).
		SetOrganisationID(c.org.ID).
		SetAPIKeyID(c.key.ID).
		SetBundleType(kind).
		SetReceivedAt(imp.now()).
		SetEntries(a.Entries).SetStored(a.Stored).SetUnchanged(a.Unchanged).SetSkipped(a.Skipped).SetRefused(a.Refused).
		SetCommitted(a.Committed).
		SetResponse(string(body)).
		Exec(access.SystemContext(req.Context()))
	if err != nil {
		serverError(w, req, err)
		return
	}
	slog.InfoContext(req.Context(), "fhir import", "report", id, "organisation", c.org.ID, "kind", kind,
		"entries", a.Entries, "stored", a.Stored, "unchanged", a.Unchanged, "skipped", a.Skipped, "refused", a.Refused)
	w.Header().Set("Content-Location", "/fhir/r4/import-reports/"+string(id))
	write(w, a.Status, body)
}

// getReport answers one of the key's import reports as it was first sent.
func (imp *Importer) getReport(w http.ResponseWriter, req *http.Request, c *caller) {
	rep, err := imp.Client.ImportReport.Query().
		Where(importreport.ID(pulid.ID(req.PathValue("id"))), importreport.APIKeyID(c.key.ID)).
		Only(access.SystemContext(req.Context()))
	if ent.IsNotFound(err) {
		writeOutcome(w, http.StatusNotFound, Issue{Severity: "error", Code: "not-found", Diagnostics: "this key has no such import report"})
		return
	}
	if err != nil {
		serverError(w, req, err)
		return
	}
	write(w, http.StatusOK, []byte(rep.Response))
}

// listReports answers the key's import reports, newest first, as a FHIR
// searchset of summaries (_count, default 20, at most 100).
func (imp *Importer) listReports(w http.ResponseWriter, req *http.Request, c *caller) {
	count := 20
	if s := req.URL.Query().Get("_count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			writeOutcome(w, http.StatusBadRequest, Issue{Severity: "error", Code: "invalid", Diagnostics: "_count must be 1 to 100"})
			return
		}
		count = n
	}
	reps, err := imp.Client.ImportReport.Query().
		Where(importreport.APIKeyID(c.key.ID)).
		Order(ent.Desc(importreport.FieldReceivedAt), ent.Desc(importreport.FieldID)).
		Limit(count).
		All(access.SystemContext(req.Context()))
	if err != nil {
		serverError(w, req, err)
		return
	}
	type summary struct {
		ID         string    `json:"id"`
		Kind       string    `json:"kind"`
		ReceivedAt time.Time `json:"receivedAt"`
		Entries    int       `json:"entries"`
		Stored     int       `json:"stored"`
		Unchanged  int       `json:"unchanged"`
		Skipped    int       `json:"skipped"`
		Refused    int       `json:"refused"`
		Committed  bool      `json:"committed"`
	}
	out := struct {
		ResourceType string    `json:"resourceType"`
		Type         string    `json:"type"`
		Reports      []summary `json:"reports"`
	}{ResourceType: "Bundle", Type: "searchset", Reports: []summary{}}
	for _, r := range reps {
		out.Reports = append(out.Reports, summary{string(r.ID), r.BundleType, r.ReceivedAt, r.Entries, r.Stored, r.Unchanged, r.Skipped, r.Refused, r.Committed})
	}
	body, _ := json.Marshal(out)
	write(w, http.StatusOK, body)
}

// readBody reads a FHIR JSON body of at most maxBody bytes.
func readBody(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	mediaType := strings.TrimSpace(strings.Split(req.Header.Get("Content-Type"), ";")[0])
	if mediaType != contentType && mediaType != "application/json" {
		writeOutcome(w, http.StatusUnsupportedMediaType, Issue{Severity: "error", Code: "not-supported",
			Diagnostics: "send application/fhir+json"})
		return nil, false
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeOutcome(w, http.StatusRequestEntityTooLarge, Issue{Severity: "error", Code: "too-costly", Diagnostics: "the body is larger than 32 MB"})
		return nil, false
	}
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, Issue{Severity: "error", Code: "structure", Diagnostics: "the body could not be read"})
		return nil, false
	}
	return raw, true
}

func writeOutcome(w http.ResponseWriter, status int, issues ...Issue) {
	body, _ := json.Marshal(outcome(issues...))
	write(w, status, body)
}

func write(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serverError answers a failure of the service without its detail, which
// is logged with the request instead.
func serverError(w http.ResponseWriter, req *http.Request, err error) {
	slog.ErrorContext(req.Context(), "fhir", "err", err)
	writeOutcome(w, http.StatusInternalServerError, Issue{Severity: "error", Code: "exception", Diagnostics: "the portal could not complete the request: send it again (what was stored is not stored twice)"})
}

func (imp *Importer) now() time.Time {
	if imp.Now != nil {
		return imp.Now().UTC()
	}
	return time.Now().UTC()
}
