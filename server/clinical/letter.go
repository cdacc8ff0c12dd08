package clinical

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"

	"github.com/patientportal/portal/ent"
	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/letter"
	"github.com/patientportal/portal/ent/letterread"
	"github.com/patientportal/portal/ent/notification"
	"github.com/patientportal/portal/ent/schema/category"
	"github.com/patientportal/portal/ent/schema/pulid"
	"github.com/patientportal/portal/graph/model"
	"github.com/patientportal/portal/server/blob"
	"github.com/patientportal/portal/server/notify"
)

// MaxDocument is the largest letter document accepted: 10 MB.
const MaxDocument = 10 << 20

// pdfType is the one kind of document a letter carries.
const pdfType = "application/pdf"

// pdfMagic opens every PDF file.
var pdfMagic = []byte("%PDF-")

// unsafeHTML matches what an HTML letter body may not carry: scripts,
// embedded content, event handler attributes and javascript: URLs. This
// keeps the obvious out; clients still sanitise whatever HTML they render.
var unsafeHTML = regexp.MustCompile(`(?i)<\s*(script|iframe|object|embed)\b|<[^>]*[\s/"']on[a-z]+\s*=|javascript\s*:`)

// UnsafeHTML reports whether an HTML letter body carries what no letter
// may: the one rule for letters clinicians send and trusts' systems push.
func UnsafeHTML(body string) bool { return unsafeHTML.MatchString(body) }

// maxLetterLine is what a one-line text column holds on every engine.
const maxLetterLine = 255

// SendLetter lets a clinician send a letter, with an optional PDF, to a
// patient's record for their organisation. The document is streamed to the
// blob store before the transaction and deleted again if it fails.
func (s *Service) SendLetter(ctx context.Context, in model.SendLetterInput) (*ent.Letter, error) {
	v, err := requireClinician(ctx, in.OrganisationID)
	if err != nil {
		return nil, err
	}
	doc, err := checkLetter(in)
	if err != nil {
		return nil, err
	}
	// Read as the clinician: a record they may not open answers NOT_FOUND,
	// as for appointments and results.
	pt, err := s.recordPatient(ctx, in.PatientID)
	if err != nil {
		return nil, err
	}
	format := letter.DefaultBodyFormat
	if in.BodyFormat != nil {
		format = *in.BodyFormat
	}
	sentAt := s.now()
	if in.SentAt != nil {
		sentAt = in.SentAt.UTC()
	}
	// A letter the clinician did not label is GENERAL, the form's default.
	// An attached document stays unassigned instead: nobody read it for a
	// label, so, as with documents from FHIR feeds, access makes it
	// RESTRICTED until someone labels it.
	assigned := in.Category
	if assigned == nil && doc == nil {
		general := category.General
		assigned = &general
	}
	var key string
	var size int64
	if doc != nil {
		if key, size, err = s.putDocument(ctx, doc); err != nil {
			return nil, err
		}
	}
	var id pulid.ID
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		c := tx.Letter.Create().
			SetPatientID(pt.ID).
			SetSourceOrganisationID(in.OrganisationID).
			SetNillableAssignedCategory(assigned).
			SetCategory(access.EffectiveCategory(access.Labelling{Kind: access.KindOther, Assigned: assigned})).
			SetTitle(strings.TrimSpace(in.Title)).
			SetNillableAuthor(in.Author).
			SetSentAt(sentAt).
			SetNillableBody(in.Body).
			SetBodyFormat(format)
		if key != "" {
			c.SetDocumentKey(key).SetDocumentType(pdfType).SetDocumentSize(size)
		}
		l, err := c.Save(ctx)
		if err != nil {
			return err
		}
		id = l.ID
		if err := link(ctx, tx, pt.ID, in.OrganisationID); err != nil {
			return err
		}
		if err := audit(ctx, tx, v, pt.ID, "LETTER_SENT", "Letter"); err != nil {
			return err
		}
		return notify.Record(ctx, tx, notify.Note{Kind: notification.KindLETTER_RECEIVED, Patient: pt.ID, Category: l.Category, Subject: &l.ID}, s.now())
	})
	if err != nil {
		if key != "" {
			logged(ctx, "deleting the document of a letter not sent", s.cfg.Blobs.Delete(context.WithoutCancel(ctx), key))
		}
		return nil, err
	}
	return s.readLetter(ctx, id)
}

// checkLetter validates a letter, collecting every bad field, and returns
// its document ready to stream (nil when there is none).
func checkLetter(in model.SendLetterInput) (io.Reader, error) {
	var v validation
	title := strings.TrimSpace(in.Title)
	v.check(title != "", "input.title", "a title is required")
	v.check(utf8.RuneCountInString(title) <= maxLetterLine, "input.title", "at most 255 characters")
	v.check(in.Author == nil || utf8.RuneCountInString(*in.Author) <= maxLetterLine, "input.author", "at most 255 characters")
	html := in.BodyFormat != nil && *in.BodyFormat == letter.BodyFormatHTML
	v.check(!html || in.Body == nil || !unsafeHTML.MatchString(*in.Body), "input.body",
		"HTML may not contain scripts, embedded objects, event handlers or javascript: links")
	v.check(in.Category == nil || in.Category.Valid() && *in.Category != category.Private, "input.category",
		"PRIVATE is for the patient's own notes")
	var doc io.Reader
	if in.Document != nil {
		var problem string
		doc, problem = checkPDF(in.Document)
		v.check(problem == "", "input.document", problem)
	}
	return doc, v.err()
}

// checkPDF checks that an upload is a PDF within the size allowed, by its
// declared type and its first bytes, and returns a reader of the whole
// file; otherwise it says what is wrong.
func checkPDF(u *graphql.Upload) (io.Reader, string) {
	if u.Size > MaxDocument {
		return nil, "the document is larger than 10 MB"
	}
	if t, _, err := mime.ParseMediaType(u.ContentType); err != nil || t != pdfType {
		return nil, "the document must be a PDF"
	}
	head := make([]byte, len(pdfMagic))
	n, _ := io.ReadFull(u.File, head)
	if !bytes.Equal(head[:n], pdfMagic) {
		return nil, "the document must be a PDF"
	}
	return io.MultiReader(bytes.NewReader(head), u.File), ""
}

// putDocument streams a document into the blob store under a fresh random
// key (not the letter's ID, which clients see).
func (s *Service) putDocument(ctx context.Context, doc io.Reader) (string, int64, error) {
	if s.cfg.Blobs == nil {
		return "", 0, errors.New("clinical: no document store configured")
	}
	key := rand.Text()
	n, err := s.cfg.Blobs.Put(ctx, key, doc, MaxDocument)
	if errors.Is(err, blob.ErrTooLarge) {
		return "", 0, &ValidationError{Fields: []FieldError{{Path: "input.document", Message: "the document is larger than 10 MB"}}}
	}
	return key, n, err
}

// MarkLetterRead records that the viewer has read a letter they can see;
// for the patient, the first read also sets the letter's readAt (their
// unread list). Marking again changes nothing.
func (s *Service) MarkLetterRead(ctx context.Context, id pulid.ID) (*ent.Letter, error) {
	v, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	l, err := s.client.Letter.Get(ctx, id)
	if err != nil {
		return nil, notFound(err)
	}
	now := s.now()
	err = s.inTx(ctx, func(ctx context.Context, tx *ent.Client) error {
		read, err := tx.LetterRead.Query().
			Where(letterread.LetterID(id), letterread.AccountID(v.AccountID)).Exist(ctx)
		if err != nil || read {
			return err
		}
		if err := tx.LetterRead.Create().SetLetterID(id).SetPatientID(l.PatientID).
			SetAccountID(v.AccountID).SetReadAt(now).Exec(ctx); err != nil {
			return err
		}
		if v.Owns(l.PatientID) {
			if err := tx.Letter.Update().Where(letter.ID(id), letter.ReadAtIsNil()).
				SetReadAt(now).Exec(ctx); err != nil {
				return err
			}
		}
		return audit(ctx, tx, v, l.PatientID, "LETTER_READ", "Letter")
	})
	if err != nil {
		return nil, err
	}
	return s.readLetter(ctx, id)
}

// ReadByMe reports whether the viewer has read the letter. It costs one
// query per letter unless the letter is the viewer's own and read; a page
// of letters is at most a page of small indexed lookups.
func (s *Service) ReadByMe(ctx context.Context, l *ent.Letter) (bool, error) {
	v, err := viewer(ctx)
	if err != nil {
		return false, err
	}
	if v.Owns(l.PatientID) && l.ReadAt != nil {
		return true, nil
	}
	return s.client.LetterRead.Query().
		Where(letterread.LetterID(l.ID), letterread.AccountID(v.AccountID)).
		Exist(access.SystemContext(ctx))
}

// readLetter reads a letter back as the viewer, so the policy applies.
func (s *Service) readLetter(ctx context.Context, id pulid.ID) (*ent.Letter, error) {
	l, err := s.client.Letter.Get(ctx, id)
	return l, notFound(err)
}
