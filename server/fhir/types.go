package fhir

import "encoding/json"

// The FHIR R4 datatypes the mappings read. Only the elements the portal
// uses are declared; the rest of a resource is ignored.

// Coding is a code in a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept as codings and text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is a business identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference points at another resource.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Display    string      `json:"display,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
}

// Period is a time range.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a measured amount.
type Quantity struct {
	Value      *float64 `json:"value,omitempty"`
	Comparator string   `json:"comparator,omitempty"`
	Unit       string   `json:"unit,omitempty"`
	System     string   `json:"system,omitempty"`
	Code       string   `json:"code,omitempty"`
}

// Attachment is content inline (base64) or by URL.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Data        string `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// Extension is an extension with the value types the portal reads.
type Extension struct {
	URL           string `json:"url"`
	ValueDateTime string `json:"valueDateTime,omitempty"`
}

// Meta is a resource's metadata.
type Meta struct {
	Security []Coding `json:"security,omitempty"`
}

// Head is what every resource has.
type Head struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *Meta        `json:"meta,omitempty"`
	Identifier   []Identifier `json:"-"`
}

// headJSON reads identifiers that may be one object (Bundle, DocumentReference.masterIdentifier aside) or a list.
type headJSON struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id,omitempty"`
	Meta         *Meta           `json:"meta,omitempty"`
	Identifier   json.RawMessage `json:"identifier,omitempty"`
}

// UnmarshalJSON reads a head whose identifier is a list in most resources
// and a single Identifier in a few (Bundle).
func (h *Head) UnmarshalJSON(data []byte) error {
	var raw headJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	h.ResourceType, h.ID, h.Meta = raw.ResourceType, raw.ID, raw.Meta
	h.Identifier = nil
	if len(raw.Identifier) == 0 {
		return nil
	}
	if raw.Identifier[0] == '{' {
		var one Identifier
		if err := json.Unmarshal(raw.Identifier, &one); err != nil {
			return err
		}
		h.Identifier = []Identifier{one}
		return nil
	}
	return json.Unmarshal(raw.Identifier, &h.Identifier)
}

// Bundle is a FHIR Bundle as a client sends it.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	Type         string        `json:"type"`
	Entry        []BundleEntry `json:"entry"`
}

// BundleEntry is one entry of a Bundle.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Request  *EntryRequest   `json:"request,omitempty"`
}

// EntryRequest is how a transaction or batch entry asks to be stored.
type EntryRequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
}
