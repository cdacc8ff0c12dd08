package fhir

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"
)

// metadata answers GET /fhir/r4/metadata without a key, as FHIR clients
// ask before anything else: what this endpoint takes and how to
// authenticate. It says nothing about any organisation or patient.
func metadata(w http.ResponseWriter, _ *http.Request) {
	type interaction struct {
		Code string `json:"code"`
	}
	type resource struct {
		Type        string        `json:"type"`
		Interaction []interaction `json:"interaction"`
	}
	types := make([]string, 0, len(mappers))
	for t := range mappers {
		types = append(types, t)
	}
	slices.Sort(types)
	resources := make([]resource, len(types))
	for i, t := range types {
		resources[i] = resource{Type: t, Interaction: []interaction{{"create"}, {"update"}}}
	}
	statement := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         capabilityDate,
		"kind":         "instance",
		"fhirVersion":  "4.0.1",
		"format":       []string{contentType, "json"},
		"implementation": map[string]string{
			"description": "Patient portal ingest: trusts' systems push records with an organisation's integration key.",
		},
		"rest": []map[string]any{{
			"mode": "server",
			"security": map[string]any{
				"description": "Authorization: Bearer <integration key> (server apikey --org <ODS code>). " +
					"A key writes its organisation's data and reads its own import reports, nothing else.",
			},
			"resource":    resources,
			"interaction": []interaction{{"transaction"}, {"batch"}},
		}},
	}
	body, _ := json.Marshal(statement)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	write(w, http.StatusOK, body)
}

// capabilityDate is when the statement last changed.
var capabilityDate = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
