package fhir

import (
	"encoding/json"
	"mime"
	"strings"
)

func init() { mappers["DocumentReference"] = storeDocumentReference }

// documentReferenceResource is the part of a FHIR DocumentReference the
// portal keeps.
type documentReferenceResource struct {
	Status        string            `json:"status"`
	DocStatus     string            `json:"docStatus"`
	Type          *CodeableConcept  `json:"type"`
	Category      []CodeableConcept `json:"category"`
	Subject       *Reference        `json:"subject"`
	Date          string            `json:"date"`
	Author        []Reference       `json:"author"`
	Description   string            `json:"description"`
	SecurityLabel []CodeableConcept `json:"securityLabel"`
	Content       []struct {
		Attachment Attachment `json:"attachment"`
	} `json:"content"`
	Context *struct {
		PracticeSetting *CodeableConcept `json:"practiceSetting"`
	} `json:"context"`
}

// storeDocumentReference keeps a document or clinical note as a letter.
// A superseded document is kept like a current one: it is still what the
// patient was sent (Synthea marks every note but the latest superseded,
// each being a different encounter's); one entered in error is taken out.
func storeDocumentReference(r *run, it *item) (*stored, error) {
	var d documentReferenceResource
	if err := json.Unmarshal(it.raw, &d); err != nil {
		return nil, refuse("the DocumentReference is not valid FHIR JSON")
	}
	switch {
	case d.Status == "entered-in-error" || d.DocStatus == "entered-in-error":
		return removeLetter(r, it)
	case d.Status != "current" && d.Status != "superseded":
		return nil, skip("a document with status %s is not kept", safeName(d.Status))
	}
	var typ, setting CodeableConcept
	if d.Type != nil {
		typ = *d.Type
	}
	if d.Context != nil && d.Context.PracticeSetting != nil {
		setting = *d.Context.PracticeSetting
	}
	if err := r.excluded(setting, typ); err != nil {
		return nil, err
	}
	patientID, err := r.patient(d.Subject)
	if err != nil {
		return nil, err
	}
	if len(d.Content) == 0 {
		return nil, refuse("DocumentReference.content is missing")
	}
	// The first content the portal can show, else the first content.
	att := d.Content[0].Attachment
	for _, c := range d.Content {
		if c.Attachment.Data != "" && keptContent(c.Attachment.ContentType) {
			att = c.Attachment
			break
		}
	}
	in := letterInput{Patient: patientID, Codes: append([]CodeableConcept{typ, setting}, d.Category...)}
	for _, cc := range d.SecurityLabel {
		in.Security = append(in.Security, cc.Coding...)
	}
	in.Title = firstNonBlank(d.Description, typ.text(), att.Title, "Document")
	for i := range d.Author {
		if in.Author, err = r.name(&d.Author[i]); err != nil {
			return nil, err
		}
		if in.Author != nil {
			break
		}
	}
	if t, ok := parseTime(d.Date); ok {
		in.SentAt = t
	} else if t, ok := parseTime(att.Creation); ok {
		in.SentAt = t
	}
	var note string
	media, _, _ := mime.ParseMediaType(att.ContentType)
	switch {
	case att.Data == "":
		in.Document = &att // storeLetter notes that a URL was not fetched
	case media == "text/plain" || media == "text/html":
		text, why, err := attachmentText(&att)
		if err != nil {
			return nil, err
		}
		note = why
		if why == "" && media == "text/html" {
			in.HTML = &text
		} else if why == "" {
			in.Text = &text
		}
	case media == pdfType:
		in.Document = &att
	default:
		note = "only text, HTML and PDF content is kept: only the document's title is kept"
	}
	res, err := storeLetter(r, it, in)
	if res != nil && res.note == "" {
		res.note = note
	}
	return res, err
}

// keptContent reports whether content of this type becomes a letter's
// body or document.
func keptContent(contentType string) bool {
	media, _, err := mime.ParseMediaType(contentType)
	return err == nil && (media == "text/plain" || media == "text/html" || media == pdfType)
}

// firstNonBlank is the first of ss that is not blank, trimmed.
func firstNonBlank(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
