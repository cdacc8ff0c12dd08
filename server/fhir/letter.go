package fhir

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/letterread"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/clinical"
	"github.com/patientportal/portal/server/fhir/label"
	"github.com/patientportal/portal/server/notify"
)

// letterInput is a letter or clinical note on its way to a patient's
// record, from a DocumentReference or a DiagnosticReport's presented form.
type letterInput struct {
	Patient pulid.ID
	Title   string
	Author  *string
	// SentAt is when it was written; zero when the source does not say:
	// then a new letter is dated now and an update keeps its date, so that
	// sending it again changes nothing.
	SentAt   time.Time
	Text     *string // plain text body, when the content is text
	HTML     *string // HTML body, when the content is HTML
	Document *Attachment
	// Codes are the clinical codes the label may come from (e.g.
	// DocumentReference.type).
	Codes []CodeableConcept
	// Security is the resource's own security labels beside meta.security
	// (DocumentReference.securityLabel).
	Security []Coding
}

// The document rules are the clinicians' (package clinical's): a PDF of
// at most 10 MB, checked by its type and its first bytes, kept in the blob
// store under a fresh random key, never the letter's ID, which clients see.
const (
	maxDocument = 10 << 20
	pdfType     = "application/pdf"
)

var pdfMagic = []byte("%PDF-")

// maxLine is what a one-line text column holds on every engine
// (varchar(255) on MySQL).
const maxLine = 255

// storeLetter stores a letter for it (idempotently, by source) and tells
// its readers when it is new. Documents and notes are RESTRICTED unless
// the item is labelled, as PKB does.
func storeLetter(r *run, it *item, in letterInput) (*stored, error) {
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	body, format, err := letterBody(in)
	if err != nil {
		return nil, err
	}
	doc, note, err := pdfDocument(in.Document)
	if err != nil {
		return nil, err
	}
	title := oneLine(in.Title)
	if title == "" {
		title = "Document"
	}
	author := optionalLine(in.Author)
	assigned := letterLabel(it, in)
	cat := category.Restricted
	if assigned != nil {
		cat = *assigned
	}

	old, err := r.tx.Letter.Query().Where(letter.SourceOrganisationID(r.org.ID),
		letter.ExternalSystem(system), letter.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		sentAt := in.SentAt
		if sentAt.IsZero() {
			sentAt = r.now
		}
		c := r.tx.Letter.Create().
			SetPatientID(in.Patient).SetSourceOrganisationID(r.org.ID).
			SetExternalSystem(system).SetExternalValue(value).
			SetCategory(cat).SetNillableAssignedCategory(assigned).
			SetTitle(title).SetNillableAuthor(author).SetSentAt(dbTime(sentAt)).
			SetNillableBody(body).SetBodyFormat(format)
		if doc != nil {
			key, size, err := r.putDocument(doc)
			if err != nil {
				return nil, err
			}
			c.SetDocumentKey(key).SetDocumentType(pdfType).SetDocumentSize(size)
		}
		l, err := c.Save(r.ctx)
		if err != nil {
			return nil, err
		}
		if err := r.linked(in.Patient); err != nil {
			return nil, err
		}
		n := notify.Note{Kind: notification.KindLETTER_RECEIVED, Patient: in.Patient, Category: l.Category, Subject: &l.ID}
		if err := notify.Record(r.ctx, r.tx, n, r.now); err != nil {
			return nil, err
		}
		return &stored{Type: it.head.ResourceType, ID: l.ID, change: created, note: note}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := samePatient(old.PatientID, in.Patient); err != nil {
		return nil, err
	}
	res := &stored{Type: it.head.ResourceType, ID: old.ID, change: unchanged, note: note}
	sentAt := old.SentAt
	if !in.SentAt.IsZero() {
		sentAt = dbTime(in.SentAt)
	}
	sameDoc, err := r.sameDocument(old, doc)
	if err != nil {
		return nil, err
	}
	if sameDoc && old.Title == title && equalPtr(old.Author, author) && old.SentAt.Equal(sentAt) &&
		equalPtr(old.Body, body) && (body == nil || old.BodyFormat == format) &&
		old.Category == cat && equalPtr(old.AssignedCategory, assigned) {
		return res, r.linked(in.Patient)
	}
	up := old.Update().SetTitle(title).SetSentAt(sentAt).SetBodyFormat(format).SetCategory(cat)
	setOrClear(up.SetAuthor, up.ClearAuthor, author)
	setOrClear(up.SetBody, up.ClearBody, body)
	setOrClear(up.SetAssignedCategory, up.ClearAssignedCategory, assigned)
	if !sameDoc {
		if doc == nil {
			up.ClearDocumentKey().ClearDocumentType().ClearDocumentSize()
		} else {
			key, size, err := r.putDocument(doc)
			if err != nil {
				return nil, err
			}
			up.SetDocumentKey(key).SetDocumentType(pdfType).SetDocumentSize(size)
		}
	}
	l, err := up.Save(r.ctx)
	if err != nil {
		return nil, err
	}
	if l.Category != old.Category {
		if err := relabelNotes(r, l.ID, l.Category); err != nil {
			return nil, err
		}
	}
	if !sameDoc && old.DocumentKey != nil {
		r.dropDocument(*old.DocumentKey)
	}
	res.change = updated
	return res, r.linked(in.Patient)
}

// removeLetter takes out the letter an entered-in-error item became, with
// its reads, its notifications and its document; an item never stored is
// skipped.
func removeLetter(r *run, it *item) (*stored, error) {
	system, value, err := source(it)
	if err != nil {
		return nil, err
	}
	l, err := r.tx.Letter.Query().Where(letter.SourceOrganisationID(r.org.ID),
		letter.ExternalSystem(system), letter.ExternalValue(value)).Only(r.ctx)
	if ent.IsNotFound(err) {
		return nil, errNeverStored
	}
	if err != nil {
		return nil, err
	}
	if _, err := r.tx.LetterRead.Delete().Where(letterread.LetterID(l.ID)).Exec(r.ctx); err != nil {
		return nil, err
	}
	if err := forgetNotes(r, l.ID); err != nil {
		return nil, err
	}
	if err := r.tx.Letter.DeleteOneID(l.ID).Exec(r.ctx); err != nil {
		return nil, err
	}
	if l.DocumentKey != nil {
		r.dropDocument(*l.DocumentKey)
	}
	return &stored{Type: it.head.ResourceType, ID: l.ID, change: deleted}, nil
}

// letterLabel is the letter's own label: meta.security, then the
// resource's security labels, then its codes.
func letterLabel(it *item, in letterInput) *category.Category {
	if it.head.Meta != nil {
		if c, ok := label.FromSecurity(labelCodings(it.head.Meta.Security)); ok {
			return &c
		}
	}
	if c, ok := label.FromSecurity(labelCodings(in.Security)); ok {
		return &c
	}
	return assigned(it, in.Codes...)
}

// letterBody is the letter's body and its format: HTML when there is
// HTML, else the text.
func letterBody(in letterInput) (*string, letter.BodyFormat, error) {
	if in.HTML != nil && strings.TrimSpace(*in.HTML) != "" {
		if clinical.UnsafeHTML(*in.HTML) {
			return nil, "", refuse("the HTML may not contain scripts, embedded objects, event handlers or javascript: links")
		}
		html := *in.HTML
		return &html, letter.BodyFormatHTML, nil
	}
	if in.Text != nil && strings.TrimSpace(*in.Text) != "" {
		text := *in.Text
		return &text, letter.BodyFormatTEXT, nil
	}
	return nil, letter.BodyFormatTEXT, nil
}

// pdfDocument is the attachment's PDF, checked; nil with a note when the
// attachment has no content the portal keeps.
func pdfDocument(a *Attachment) ([]byte, string, error) {
	if a == nil {
		return nil, "", nil
	}
	if strings.TrimSpace(a.Data) == "" {
		if strings.TrimSpace(a.URL) != "" {
			return nil, "the document was not fetched from its URL: only its title is kept", nil
		}
		return nil, "", nil
	}
	if t, _, err := mime.ParseMediaType(a.ContentType); err != nil || t != pdfType {
		return nil, "only PDF documents are kept: the attachment was not stored", nil
	}
	data, err := attachmentData(a)
	if err != nil {
		return nil, "", err
	}
	if !bytes.HasPrefix(data, pdfMagic) {
		return nil, "", refuse("the attachment is not a PDF")
	}
	return data, "", nil
}

// attachmentData decodes an attachment's inline content, refusing what is
// not base64 or is larger than 10 MB.
func attachmentData(a *Attachment) ([]byte, error) {
	s := strings.Map(func(c rune) rune {
		if c == ' ' || c == '\n' || c == '\r' || c == '\t' {
			return -1
		}
		return c
	}, a.Data)
	if base64.StdEncoding.DecodedLen(len(s)) > maxDocument+2 {
		return nil, refuse("the attachment is larger than 10 MB")
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, refuse("Attachment.data is not base64")
	}
	if len(data) > maxDocument {
		return nil, refuse("the attachment is larger than 10 MB")
	}
	return data, nil
}

// attachmentText decodes a text attachment (UTF-8, US-ASCII or ISO-8859-1)
// into UTF-8; "" with a note when its character set is none of those.
func attachmentText(a *Attachment) (string, string, error) {
	data, err := attachmentData(a)
	if err != nil {
		return "", "", err
	}
	_, params, _ := mime.ParseMediaType(a.ContentType)
	switch strings.ToLower(params["charset"]) {
	case "", "utf-8", "utf8", "us-ascii":
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(data) {
			return "", "", refuse("the attachment is not UTF-8 text")
		}
		return string(data), "", nil
	case "iso-8859-1", "latin1":
		runes := make([]rune, len(data))
		for i, b := range data {
			runes[i] = rune(b)
		}
		return string(runes), "", nil
	}
	return "", "the attachment's character set is not kept: only its title is kept", nil
}

// putDocument streams a document into the blob store under a fresh key,
// which a rolled-back transaction deletes again.
func (r *run) putDocument(doc []byte) (string, int64, error) {
	if r.imp.Blobs == nil {
		return "", 0, errors.New("fhir: no document store configured")
	}
	key := rand.Text()
	n, err := r.imp.Blobs.Put(r.ctx, key, bytes.NewReader(doc), maxDocument)
	if errors.Is(err, blob.ErrTooLarge) {
		return "", 0, refuse("the attachment is larger than 10 MB")
	}
	if err != nil {
		return "", 0, err
	}
	r.blobs = append(r.blobs, key)
	return key, n, nil
}

// dropDocument deletes a document the letter no longer holds, once the
// change that let go of it commits.
func (r *run) dropDocument(key string) {
	r.obsolete = append(r.obsolete, key)
}

// sameDocument reports whether the letter already holds doc.
func (r *run) sameDocument(l *ent.Letter, doc []byte) (bool, error) {
	if l.DocumentKey == nil || doc == nil {
		return l.DocumentKey == nil && doc == nil, nil
	}
	if l.DocumentSize == nil || *l.DocumentSize != int64(len(doc)) || r.imp.Blobs == nil {
		return false, nil
	}
	f, err := r.imp.Blobs.Open(r.ctx, *l.DocumentKey)
	if errors.Is(err, blob.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	held, err := io.ReadAll(io.LimitReader(f, maxDocument+1))
	if err != nil {
		return false, err
	}
	return bytes.Equal(held, doc), nil
}

// What the record mappings share.

// errNeverStored skips an entered-in-error item the portal never stored.
var errNeverStored = skip("withdrawn by the source (entered in error) and never stored")

// samePatient refuses an update that would move a record to another
// patient: the source must withdraw it (entered-in-error) first.
func samePatient(was, now pulid.ID) error {
	if was != now {
		return refuse("this record was sent before for another patient: send it as entered-in-error first")
	}
	return nil
}

// forgetNotes deletes the notifications about a record that is removed.
func forgetNotes(r *run, id pulid.ID) error {
	_, err := r.tx.Notification.Delete().Where(notification.SubjectID(id)).Exec(r.ctx)
	return err
}

// relabelNotes files a record's notifications under its new category,
// which would otherwise show a share what the label now hides.
func relabelNotes(r *run, id pulid.ID, c category.Category) error {
	return r.tx.Notification.Update().Where(notification.SubjectID(id)).SetCategory(c).Exec(r.ctx)
}

// oneLine is s trimmed and cut to what a one-line column holds.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= maxLine {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:maxLine-1])) + "…"
}

// optionalLine is oneLine of s, nil when s is nil or blank.
func optionalLine(s *string) *string {
	if s == nil {
		return nil
	}
	return nonBlank(oneLine(*s))
}

// dbTime is t as every engine stores it: UTC, to the microsecond.
func dbTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// setOrClear sets an optional field to v, or clears it when v is nil.
func setOrClear[T any, B any](set func(T) B, clear func() B, v *T) {
	if v == nil {
		clear()
		return
	}
	set(*v)
}
