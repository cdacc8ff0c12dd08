package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/auditevent"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/letterread"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/clinical"
	"github.com/patientportal/portal/server/config"
)

// letterWorld is the fixture signed in over a portal with a document folder.
type letterWorld struct {
	t                       *testing.T
	e                       *testEnv
	f                       *fixture
	blobs                   string
	alice, carer, clinician string
}

func newLetterWorld(t *testing.T) *letterWorld {
	t.Helper()
	blobs := t.TempDir()
	e := newEnvWith(t, func(url string) config.Config {
		return config.Config{PublicURL: url, BlobDir: blobs}
	})
	f := seed(t, e.store.Client, 1, e.clock.Now())
	return &letterWorld{
		t: t, e: e, f: f, blobs: blobs,
		alice:     e.signIn(f.Alice.Email, fixturePassword),
		carer:     e.signIn(f.Carer.Email, fixturePassword),
		clinician: e.signIn(f.Clinician.Email, fixturePassword),
	}
}

const sendLetterMutation = `mutation($input: SendLetterInput!) {
  sendLetter(input: $input) { id title category documentType documentSize documentURL readByMe }
}`

// sentLetter is what sendLetter answers.
type sentLetter struct {
	ID           string
	Title        string
	Category     string
	DocumentType *string
	DocumentSize *int64
	DocumentURL  *string
	ReadByMe     bool
}

// letterDocument is a file to attach: its bytes come from a reader, so that a
// large one is never held in memory by the test.
type letterDocument struct {
	body        io.Reader
	size        int64
	contentType string
}

// pdfBytes is a small document that passes for a PDF.
func pdfBytes(text string) []byte { return []byte("%PDF-1.7\n" + text + "\n%%EOF\n") }

func smallPDF(b []byte) *letterDocument {
	return &letterDocument{body: bytes.NewReader(b), size: int64(len(b)), contentType: "application/pdf"}
}

// sendLetter sends a letter as token; with a document it is a GraphQL
// multipart request as the spec lays it out (operations, map, then the
// file), with a known length so that the server spools it to disk.
func (w *letterWorld) sendLetter(token string, input map[string]any, doc *letterDocument) gqlResponse {
	w.t.Helper()
	if doc == nil {
		return w.e.post(token, sendLetterMutation, map[string]any{"input": input})
	}
	input["document"] = nil
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	ops, err := json.Marshal(map[string]any{"query": sendLetterMutation, "variables": map[string]any{"input": input}})
	if err != nil {
		w.t.Fatal(err)
	}
	mustNil(w.t, mw.WriteField("operations", string(ops)))
	mustNil(w.t, mw.WriteField("map", `{"0": ["variables.input.document"]}`))
	part := textproto.MIMEHeader{}
	part.Set("Content-Disposition", `form-data; name="0"; filename="letter.pdf"`)
	part.Set("Content-Type", doc.contentType)
	if _, err := mw.CreatePart(part); err != nil {
		w.t.Fatal(err)
	}
	n := head.Len()
	mustNil(w.t, mw.Close()) // appends the closing boundary after the head
	tail := bytes.Clone(head.Bytes()[n:])
	head.Truncate(n)
	req, err := http.NewRequest(http.MethodPost, w.e.server.URL+"/query",
		io.MultiReader(&head, doc.body, bytes.NewReader(tail)))
	if err != nil {
		w.t.Fatal(err)
	}
	req.ContentLength = int64(n) + doc.size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return w.e.send(req)
}

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// send sends a letter that must be accepted; c "" leaves the label to the
// service.
func (w *letterWorld) send(title string, c category.Category, doc *letterDocument) sentLetter {
	w.t.Helper()
	input := map[string]any{
		"patientId": string(w.f.Alice.PatientID), "organisationId": string(w.f.OrgID),
		"title": title, "body": "Dear Alice,",
	}
	if c != "" {
		input["category"] = string(c)
	}
	res := w.sendLetter(w.clinician, input, doc)
	if len(res.Errors) > 0 {
		w.t.Fatalf("sendLetter %q: %s", title, res.raw)
	}
	var data struct{ SendLetter sentLetter }
	res.decode(w.t, &data)
	return data.SendLetter
}

// letterAs reads one letter as token through node(id:); nil when hidden.
func (w *letterWorld) letterAs(token, id string) *sentLetter {
	w.t.Helper()
	res := w.e.post(token, `query($id: ID!) { node(id: $id) { ... on Letter {
	  id title category documentType documentSize documentURL readByMe } } }`, map[string]any{"id": id})
	if len(res.Errors) > 0 {
		w.t.Fatalf("node %s: %s", id, res.raw)
	}
	var data struct{ Node *sentLetter }
	res.decode(w.t, &data)
	if data.Node == nil || data.Node.ID == "" {
		return nil
	}
	return data.Node
}

// unread lists the IDs of Alice's unread letters as token.
func (w *letterWorld) unread(token string) []string {
	w.t.Helper()
	res := w.e.post(token, `query($id: ID!) { patient(id: $id) {
	  letters(first: 50, where: {readAtIsNil: true}) { edges { node { id } } } } }`,
		map[string]any{"id": string(w.f.Alice.PatientID)})
	if len(res.Errors) > 0 {
		w.t.Fatalf("letters: %s", res.raw)
	}
	var data struct {
		Patient struct {
			Letters struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	res.decode(w.t, &data)
	var ids []string
	for _, e := range data.Patient.Letters.Edges {
		ids = append(ids, e.Node.ID)
	}
	return ids
}

// download fetches a document link, with a bearer token unless token is
// empty, and returns the response with its body read.
func (w *letterWorld) download(link, token string) (*http.Response, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, link, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := w.e.server.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return res, body
}

// refused checks that a download answers exactly as a missing page does.
func (w *letterWorld) refused(why, link, token string) {
	w.t.Helper()
	res, body := w.download(link, token)
	_, missing := w.download(w.e.server.URL+"/letters/lt00000000000000000000000000/document", "")
	if res.StatusCode != http.StatusNotFound || !bytes.Equal(body, missing) {
		w.t.Errorf("%s: status %d, body %q; want 404 like a missing letter", why, res.StatusCode, body)
	}
}

func (w *letterWorld) markRead(token, id string) sentLetter {
	w.t.Helper()
	res := w.e.post(token, `mutation($id: ID!) { markLetterRead(id: $id) { id readByMe } }`, map[string]any{"id": id})
	if len(res.Errors) > 0 {
		w.t.Fatalf("markLetterRead: %s", res.raw)
	}
	var data struct{ MarkLetterRead sentLetter }
	res.decode(w.t, &data)
	return data.MarkLetterRead
}

// asSystem is a context in which the test reads the store directly.
func asSystem() context.Context { return access.SystemContext(context.Background()) }

func TestLetterWithDocumentReachesThePatientAndTheirCarer(t *testing.T) {
	w := newLetterWorld(t)
	pdf := pdfBytes("Your clinic letter")
	sent := w.send("Clinic letter", category.General, smallPDF(pdf))
	if sent.Category != "GENERAL" || sent.DocumentType == nil || *sent.DocumentType != "application/pdf" ||
		sent.DocumentSize == nil || *sent.DocumentSize != int64(len(pdf)) {
		t.Fatalf("sent = %+v", sent)
	}
	db := w.e.store.Client
	if n, _ := db.Notification.Query().Where(notification.RecipientAccountID(w.f.Alice.AccountID),
		notification.KindEQ(notification.KindLETTER_RECEIVED), notification.SubjectID(pulid.ID(sent.ID))).Count(asSystem()); n != 1 {
		t.Errorf("%d LETTER_RECEIVED notifications to the patient, want 1", n)
	}
	if n, _ := db.AuditEvent.Query().Where(auditevent.Action("LETTER_SENT"), auditevent.PatientID(w.f.Alice.PatientID)).Count(asSystem()); n != 1 {
		t.Errorf("%d LETTER_SENT audit events, want 1", n)
	}

	// The patient finds it unread and downloads the document.
	if !slices.Contains(w.unread(w.alice), sent.ID) {
		t.Fatalf("letter not in the patient's unread list")
	}
	mine := w.letterAs(w.alice, sent.ID)
	if mine == nil || mine.ReadByMe || mine.DocumentURL == nil {
		t.Fatalf("patient reads %+v", mine)
	}
	if !strings.HasPrefix(*mine.DocumentURL, w.e.server.URL+"/letters/"+sent.ID+"/document?sig=") {
		t.Errorf("documentURL = %s", *mine.DocumentURL)
	}
	res, body := w.download(*mine.DocumentURL, "")
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Fatalf("download: status %d, %d bytes", res.StatusCode, len(body))
	}
	for h, want := range map[string]string{
		"Content-Type":           "application/pdf",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"Content-Disposition":    "attachment; filename=letter-",
	} {
		if got := res.Header.Get(h); !strings.HasPrefix(got, want) {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if strings.Contains(res.Header.Get("Content-Disposition"), "Clinic") {
		t.Errorf("the file name carries the title: %s", res.Header.Get("Content-Disposition"))
	}

	// Marking it read takes it off the unread list, once.
	for range 2 {
		if got := w.markRead(w.alice, sent.ID); !got.ReadByMe {
			t.Fatalf("markLetterRead = %+v", got)
		}
	}
	if slices.Contains(w.unread(w.alice), sent.ID) {
		t.Errorf("read letter still unread")
	}
	if n, _ := db.LetterRead.Query().Where(letterread.LetterID(pulid.ID(sent.ID))).Count(asSystem()); n != 1 {
		t.Errorf("%d reads recorded, want 1", n)
	}

	// The carer (GENERAL share) sees it, has not read it, and downloads it
	// through a link of their own; the access log shows that read.
	theirs := w.letterAs(w.carer, sent.ID)
	if theirs == nil || theirs.ReadByMe || theirs.DocumentURL == nil {
		t.Fatalf("carer reads %+v", theirs)
	}
	before := len(readAccessLog(t, w.e, w.alice, string(w.f.Alice.PatientID)))
	if res, body := w.download(*theirs.DocumentURL, ""); res.StatusCode != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Fatalf("carer's download: status %d", res.StatusCode)
	}
	if after := len(readAccessLog(t, w.e, w.alice, string(w.f.Alice.PatientID))); after != before+1 {
		t.Errorf("access log grew by %d on the carer's download, want 1", after-before)
	}
	if got := w.markRead(w.carer, sent.ID); !got.ReadByMe {
		t.Errorf("carer's markLetterRead = %+v", got)
	}
	if l, _ := db.Letter.Get(asSystem(), pulid.ID(sent.ID)); l == nil || l.ReadAt == nil {
		t.Errorf("the patient's readAt was lost")
	}

	// Unlabelled, a letter is GENERAL and a document RESTRICTED; a letter
	// without a document has no link.
	plain := w.send("No attachment", "", nil)
	if plain.DocumentURL != nil || plain.DocumentType != nil || plain.Category != "GENERAL" {
		t.Errorf("unlabelled letter without a document: %+v", plain)
	}
	if scan := w.send("Scanned letter", "", smallPDF(pdf)); scan.Category != "RESTRICTED" {
		t.Errorf("unlabelled letter with a document: %+v", scan)
	}
}

func TestLetterDocumentLinksAreRefusedOutsideTheirGrant(t *testing.T) {
	w := newLetterWorld(t)
	pdf := pdfBytes("Psychiatry clinic letter")
	sent := w.send("Psychiatry letter", category.MentalHealth, smallPDF(pdf))
	if w.letterAs(w.carer, sent.ID) != nil {
		t.Fatalf("carer without MENTAL_HEALTH sees a MENTAL_HEALTH letter")
	}
	link := *w.letterAs(w.alice, sent.ID).DocumentURL
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	bare := w.e.server.URL + u.Path
	sig := u.Query().Get("sig")
	tampered := bare + "?sig=" + url.QueryEscape(sig[:len(sig)-2]+"AA")

	w.refused("the patient's link with the carer's session", link, w.carer)
	w.refused("no link and no session", bare, "")
	w.refused("the carer's session without a link", bare, w.carer)
	w.refused("a tampered signature", tampered, "")
	w.refused("a bad bearer token", link, "not-a-token")
	if res, body := w.download(link, ""); res.StatusCode != http.StatusOK || !bytes.Equal(body, pdf) {
		t.Fatalf("the patient's own link: status %d", res.StatusCode)
	}
	if res, _ := w.download(bare, w.alice); res.StatusCode != http.StatusOK {
		t.Fatalf("the patient's bearer token: status %d", res.StatusCode)
	}
	// Another letter's signature does not open this one.
	other := w.send("Other", category.General, smallPDF(pdfBytes("other")))
	otherLink := *w.letterAs(w.alice, other.ID).DocumentURL
	w.refused("a signature for another letter", bare+"?"+strings.SplitN(otherLink, "?", 2)[1], "")

	// A link lives five minutes.
	w.e.clock.Advance(clinical.LinkLifetime + time.Second)
	w.refused("an expired link", link, "")

	// A link dies with its session.
	fresh := *w.letterAs(w.alice, sent.ID).DocumentURL
	if res, _ := w.download(fresh, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("a fresh link: status %d", res.StatusCode)
	}
	if res := w.e.post(w.alice, `mutation { signOut }`, nil); len(res.Errors) > 0 {
		t.Fatalf("signOut: %s", res.raw)
	}
	w.refused("a link after sign-out", fresh, "")
}

func TestRefusedLettersWriteNothing(t *testing.T) {
	w := newLetterWorld(t)
	big := &letterDocument{body: pdfStream(10<<20 + 1), size: 10<<20 + 1, contentType: "application/pdf"}
	tests := []struct {
		name   string
		token  string
		input  map[string]any
		doc    *letterDocument
		code   string
		fields []string
	}{
		{"a document that is not a PDF inside", w.clinician, nil,
			&letterDocument{body: strings.NewReader("hello"), size: 5, contentType: "application/pdf"},
			"BAD_USER_INPUT", []string{"input.document"}},
		{"a PDF sent as another type", w.clinician, nil,
			&letterDocument{body: bytes.NewReader(pdfBytes("x")), size: int64(len(pdfBytes("x"))), contentType: "text/plain"},
			"BAD_USER_INPUT", []string{"input.document"}},
		{"a document over 10 MB", w.clinician, nil, big, "BAD_USER_INPUT", []string{"input.document"}},
		{"a blank title and a bad document", w.clinician, map[string]any{"title": "  "},
			&letterDocument{body: strings.NewReader("GIF89a"), size: 6, contentType: "image/gif"},
			"BAD_USER_INPUT", []string{"input.title", "input.document"}},
		{"an HTML body with a script", w.clinician, map[string]any{"bodyFormat": "HTML", "body": `<p>Hi</p><SCRIPT>alert(1)</SCRIPT>`},
			nil, "BAD_USER_INPUT", []string{"input.body"}},
		{"an HTML body with an event handler", w.clinician, map[string]any{"bodyFormat": "HTML", "body": `<img src=x onerror="alert(1)">`},
			nil, "BAD_USER_INPUT", []string{"input.body"}},
		{"a PRIVATE label", w.clinician, map[string]any{"category": "PRIVATE"}, nil, "BAD_USER_INPUT", []string{"input.category"}},
		{"someone who is not a clinician there", w.carer, nil, smallPDF(pdfBytes("x")), "FORBIDDEN", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := w.e.store.Client
			before, err := db.Letter.Query().Count(asSystem())
			mustNil(t, err)
			input := map[string]any{
				"patientId": string(w.f.Alice.PatientID), "organisationId": string(w.f.OrgID),
				"title": "Refused", "body": "text",
			}
			for k, v := range tt.input {
				input[k] = v
			}
			res := w.sendLetter(tt.token, input, tt.doc)
			if got := res.codes(); len(got) != 1 || got[0] != tt.code {
				t.Fatalf("codes = %v, want %s: %s", got, tt.code, res.raw)
			}
			var paths []string
			if fs, ok := res.Errors[0].Extensions["fields"].([]any); ok {
				for _, f := range fs {
					paths = append(paths, f.(map[string]any)["path"].(string))
				}
			}
			if !slices.Equal(paths, tt.fields) {
				t.Errorf("fields = %v, want %v", paths, tt.fields)
			}
			if after, _ := db.Letter.Query().Count(asSystem()); after != before {
				t.Errorf("letters went from %d to %d", before, after)
			}
			if n, _ := db.Letter.Query().Where(letter.Title("Refused")).Count(asSystem()); n != 0 {
				t.Errorf("a refused letter was stored")
			}
			if left, _ := os.ReadDir(w.blobs); len(left) != 0 {
				t.Errorf("documents left behind: %d files", len(left))
			}
		})
	}
}

func TestLetterDocumentStreamsInBoundedMemory(t *testing.T) {
	const size = 10 << 20
	w := newLetterWorld(t)
	want := sha256.New()
	if _, err := io.Copy(want, pdfStream(size)); err != nil {
		t.Fatal(err)
	}

	upload := allocatedDuring(func() {
		sent := w.send("Large scan", category.General, &letterDocument{body: pdfStream(size), size: size, contentType: "application/pdf"})
		if sent.DocumentSize == nil || *sent.DocumentSize != size {
			t.Fatalf("sent = %+v", sent)
		}
	})
	link := *w.letterAs(w.alice, w.lastLetter()).DocumentURL

	got := sha256.New()
	var n int64
	download := allocatedDuring(func() {
		res, err := w.e.server.Client().Get(link)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || res.ContentLength != size {
			t.Fatalf("status %d, length %d", res.StatusCode, res.ContentLength)
		}
		n, err = io.Copy(got, res.Body)
		mustNil(t, err)
	})
	if n != size || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("downloaded %d bytes that differ from the upload", n)
	}
	// Client and server share this process: everything both allocated
	// while the document passed through counts.
	const bound = 4 << 20
	if download > bound {
		t.Errorf("the download allocated %d bytes for a %d-byte document", download, size)
	}
	if upload > bound {
		t.Errorf("the upload allocated %d bytes for a %d-byte document", upload, size)
	}
	t.Logf("allocated: upload %d KiB, download %d KiB", upload>>10, download>>10)
}

// allocated returns the bytes the process allocated while fn ran, freed or
// not: a document read whole into memory shows even after collection.
func allocatedDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// lastLetter is the newest of Alice's letters.
func (w *letterWorld) lastLetter() string {
	w.t.Helper()
	l, err := w.e.store.Client.Letter.Query().Where(letter.PatientID(w.f.Alice.PatientID)).
		Order(letter.ByCreatedAt(), letter.ByID()).All(asSystem())
	mustNil(w.t, err)
	return string(l[len(l)-1].ID)
}

// pdfStream generates size bytes that open like a PDF, without holding
// them: the same size always gives the same bytes.
func pdfStream(size int64) io.Reader {
	return io.LimitReader(io.MultiReader(strings.NewReader("%PDF-1.4\n"), &bytePattern{}), size)
}

// bytePattern is an endless, repeatable run of bytes.
type bytePattern struct{ i uint64 }

func (p *bytePattern) Read(b []byte) (int, error) {
	for k := range b {
		b[k] = byte(p.i*31 + p.i>>9)
		p.i++
	}
	return len(b), nil
}
