// Package fhir takes HL7 FHIR R4 data in from trusts' systems: it
// authenticates an organisation's integration key, reads Bundles and single
// resources, maps each supported resource type onto the portal's records
// (one file per type), labels what it stores, and answers in FHIR's own
// JSON with an outcome for every entry. Every write is scoped to the
// key's organisation. It never answers in a way that tells a trust whether
// a patient is already known to the portal through another organisation.
package fhir
