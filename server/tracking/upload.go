package tracking

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/measurement"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/clinical"
)

// Limits of an upload.
const (
	// uploadMaxLine is the longest line read: a device export's lines are
	// under a hundred bytes, and a longer one is refused, not buffered.
	uploadMaxLine = 4 << 10
	// uploadMaxRefused caps the refused lines listed in the answer; the
	// count covers them all.
	uploadMaxRefused = 1_000
	// uploadStall is how long the server waits for the next batch's lines
	// (and, at the end, to send the answer): a long upload runs past the
	// server's read and write timeouts as long as it keeps coming.
	uploadStall = 30 * time.Second
)

// uploadReport is the answer to an upload.
type uploadReport struct {
	Accepted     int             `json:"accepted"`
	Duplicates   int             `json:"duplicates"`
	Refused      []uploadRefusal `json:"refused"`
	RefusedCount int             `json:"refusedCount"`
}

// uploadRefusal is one refused line (1-based, the CSV header being line 1).
type uploadRefusal struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (r *uploadReport) refuse(line int, reason string) {
	r.RefusedCount++
	if len(r.Refused) < uploadMaxRefused {
		r.Refused = append(r.Refused, uploadRefusal{Line: line, Reason: reason})
	}
}

// uploadParser turns one line of an upload into a reading, or says why not.
type uploadParser interface {
	parse(line []byte) (ingestReading, string)
}

// uploadHeaded is a parser whose first line is a header, not a reading.
type uploadHeaded interface {
	header(line []byte) error
}

// UploadHandler serves POST /measurements/upload?patientId=…[&category=…]:
// a device export as CSV (text/csv, header type,time,value,unit,device;
// blood pressure as systolic/diastolic) or NDJSON (application/x-ndjson,
// one object a line with the same fields). Only the patient uploads, with
// a bearer token or the session cookie the middleware accepts. The body
// is read a line at a time and stored every 10,000 readings, each batch
// in its own transaction as recordMeasurements stores it, so memory stays
// flat however long the upload; an upload cut short keeps what was
// stored, and sending it again counts those readings as duplicates. The
// answer is {accepted, duplicates, refused: [{line, reason}] (the first
// 1,000), refusedCount}.
func (s *Service) UploadHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			uploadError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST")
			return
		}
		ctx := r.Context()
		patient := pulid.ID(r.URL.Query().Get("patientId"))
		if patient.Validate() != nil {
			uploadError(w, http.StatusBadRequest, "BAD_USER_INPUT", "patientId must be a patient's ID")
			return
		}
		cat := category.General
		if c := r.URL.Query().Get("category"); c != "" {
			cat = category.Category(c)
			if !slices.Contains(category.All, cat) {
				uploadError(w, http.StatusBadRequest, "BAD_USER_INPUT", "unknown category")
				return
			}
		}
		parser, ok := uploadFormat(r.Header.Get("Content-Type"))
		if !ok {
			uploadError(w, http.StatusUnsupportedMediaType, "BAD_USER_INPUT", "send text/csv or application/x-ndjson")
			return
		}
		v, err := s.diaryActAsPatient(ctx, patient)
		if err != nil {
			uploadFailed(w, r, err, nil)
			return
		}
		rc := http.NewResponseController(w)
		extend := func() {
			// Not every ResponseWriter supports deadlines (httptest's
			// recorder does not); the server's timeouts then apply.
			_ = rc.SetReadDeadline(time.Now().Add(uploadStall))
			_ = rc.SetWriteDeadline(time.Now().Add(uploadStall))
		}
		extend()
		rep, err := s.uploadStream(ctx, v, patient, cat, r.Body, parser, extend)
		if err != nil {
			uploadFailed(w, r, err, rep)
			return
		}
		uploadJSON(w, http.StatusOK, rep)
	})
}

// uploadFormat picks the parser for a content type.
func uploadFormat(contentType string) (uploadParser, bool) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "text/csv", "application/csv":
		return &uploadCSV{}, true
	case "application/x-ndjson", "application/ndjson", "application/jsonl":
		return uploadNDJSON{}, true
	}
	return nil, false
}

// uploadStream reads body a line at a time and stores its readings in
// batches of ingestMaxReadings, calling stored after each batch.
func (s *Service) uploadStream(ctx context.Context, v *access.Viewer, patient pulid.ID, cat category.Category, body io.Reader, p uploadParser, stored func()) (*uploadReport, error) {
	rep := &uploadReport{Refused: []uploadRefusal{}}
	batch := make([]ingestReading, 0, ingestMaxReadings)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		got, err := s.ingest(ctx, v, patient, cat, batch)
		if err != nil {
			return err
		}
		rep.Accepted += got.Accepted
		rep.Duplicates += got.Duplicates
		for _, r := range got.Refused {
			rep.refuse(r.Index, r.Reason)
		}
		batch = batch[:0]
		stored()
		return nil
	}
	headed, _ := p.(uploadHeaded)
	lines := bufio.NewReaderSize(body, uploadMaxLine)
	for n := 1; ; n++ {
		line, tooLong, err := uploadLine(lines)
		if err != nil && err != io.EOF {
			return rep, fmt.Errorf("reading the upload: %w", err)
		}
		switch {
		case tooLong && headed != nil:
			return rep, errUploadHeader
		case tooLong:
			rep.refuse(n, fmt.Sprintf("line longer than %d bytes", uploadMaxLine))
		case len(line) == 0:
		case headed != nil:
			if err := headed.header(line); err != nil {
				return rep, err
			}
			headed = nil
		default:
			r, reason := p.parse(line)
			if reason != "" {
				rep.refuse(n, reason)
				break
			}
			r.pos = n
			batch = append(batch, r)
			if len(batch) == ingestMaxReadings {
				if err := flush(); err != nil {
					return rep, err
				}
			}
		}
		if err == io.EOF {
			break
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	// Batches report their refusals after the lines that failed to parse.
	slices.SortStableFunc(rep.Refused, func(a, b uploadRefusal) int { return cmp.Compare(a.Line, b.Line) })
	return rep, nil
}

// uploadLine reads one line without its end, trimmed of space; a line
// longer than the reader's buffer is skipped and reported as too long.
func uploadLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = r.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = r.ReadSlice('\n')
	}
	if tooLong {
		return nil, true, err
	}
	return bytes.TrimSpace(line), false, err
}

// errUploadHeader refuses a CSV upload without its header.
var errUploadHeader = &clinical.ValidationError{Fields: []clinical.FieldError{{
	Path: "body", Message: "a CSV upload starts with the header type,time,value,unit,device",
}}}

// uploadCSV parses CSV lines after the header, which may order the
// columns as it likes (device is optional). A field holding a comma is
// quoted; a quoted field may not span lines.
type uploadCSV struct {
	cols  map[string]int
	width int
}

// header reads the header line, which may start with a byte order mark.
func (c *uploadCSV) header(line []byte) error {
	fields, err := uploadSplit(bytes.TrimPrefix(line, []byte("\ufeff")))
	if err != nil {
		return errUploadHeader
	}
	c.cols, c.width = map[string]int{}, len(fields)
	for i, f := range fields {
		f = strings.ToLower(strings.TrimSpace(f))
		if slices.Contains([]string{"type", "time", "value", "unit", "device"}, f) {
			c.cols[f] = i
		}
	}
	for _, need := range []string{"type", "time", "value", "unit"} {
		if _, ok := c.cols[need]; !ok {
			return errUploadHeader
		}
	}
	return nil
}

func (c *uploadCSV) parse(line []byte) (ingestReading, string) {
	fields, err := uploadSplit(line)
	if err != nil {
		return ingestReading{}, "malformed CSV line"
	}
	if len(fields) != c.width {
		return ingestReading{}, fmt.Sprintf("expected %d fields as in the header, found %d", c.width, len(fields))
	}
	get := func(name string) string {
		if i, ok := c.cols[name]; ok {
			return strings.TrimSpace(fields[i])
		}
		return ""
	}
	return uploadReading(get("type"), get("time"), get("value"), get("unit"), get("device"), nil)
}

// uploadSplit splits a CSV line; only a line with quotes needs the CSV
// reader.
func uploadSplit(line []byte) ([]string, error) {
	if bytes.IndexByte(line, '"') < 0 {
		return strings.Split(string(line), ","), nil
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	return r.Read()
}

// uploadNDJSON parses NDJSON lines: {"type", "time", "value", "unit",
// "device"}, value a number, or for blood pressure "systolic/diastolic"
// (or a number with "value2").
type uploadNDJSON struct{}

func (uploadNDJSON) parse(line []byte) (ingestReading, string) {
	var rec struct {
		Type   string          `json:"type"`
		Time   string          `json:"time"`
		Value  json.RawMessage `json:"value"`
		Value2 *float64        `json:"value2"`
		Unit   string          `json:"unit"`
		Device string          `json:"device"`
	}
	if err := json.Unmarshal(line, &rec); err != nil {
		return ingestReading{}, "malformed JSON line"
	}
	value := string(rec.Value)
	if s, err := strconv.Unquote(value); err == nil {
		value = s
	}
	return uploadReading(rec.Type, rec.Time, value, rec.Unit, rec.Device, rec.Value2)
}

// uploadReading builds a reading from an upload's fields; ingest checks
// that it is plausible.
func uploadReading(typ, at, value, unit, device string, value2 *float64) (ingestReading, string) {
	t := measurement.Type(strings.ToUpper(typ))
	if measurement.TypeValidator(t) != nil {
		return ingestReading{}, "unknown type"
	}
	when, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return ingestReading{}, "time must be RFC 3339, such as 2025-06-01T08:30:00Z"
	}
	r := ingestReading{typ: t, at: when, unit: unit, device: device, value2: value2}
	first, second, paired := strings.Cut(value, "/")
	if r.value, err = strconv.ParseFloat(strings.TrimSpace(first), 64); err != nil {
		return ingestReading{}, "value must be a number"
	}
	if paired {
		v2, err := strconv.ParseFloat(strings.TrimSpace(second), 64)
		if err != nil {
			return ingestReading{}, "value must be systolic/diastolic"
		}
		r.value2 = &v2
	}
	return r, ""
}

// uploadFailed answers an upload that could not be stored, with what was
// stored before it stopped (nil: nothing).
func uploadFailed(w http.ResponseWriter, r *http.Request, err error, rep *uploadReport) {
	var fields *clinical.ValidationError
	status, code, message := http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "internal error"
	switch {
	case errors.Is(err, access.ErrNoViewer):
		status, code, message = http.StatusUnauthorized, "UNAUTHENTICATED", "sign in to continue"
	case errors.Is(err, access.ErrIdentityLevelTooLow):
		status, code, message = http.StatusForbidden, "IDENTITY_LEVEL_TOO_LOW", "verify your identity with NHS login (P9) to record readings"
	case errors.Is(err, access.ErrDenied):
		status, code, message = http.StatusForbidden, "FORBIDDEN", "not allowed"
	case errors.Is(err, clinical.ErrNotFound):
		status, code, message = http.StatusNotFound, "NOT_FOUND", "not found"
	case errors.As(err, &fields):
		status, code, message = http.StatusBadRequest, "BAD_USER_INPUT", err.Error()
	default:
		slog.ErrorContext(r.Context(), "measurement upload failed", "err", err)
	}
	body := map[string]any{"error": map[string]string{"code": code, "message": message}}
	if rep != nil {
		body["stored"] = rep
	}
	uploadJSON(w, status, body)
}

// uploadError answers a request refused before anything was read.
func uploadError(w http.ResponseWriter, status int, code, message string) {
	uploadJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}

func uploadJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
