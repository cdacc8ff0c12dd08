// Package label decides the privacy label of an item arriving from a trust's
// system, from what the item itself says: its FHIR meta.security codes, then
// its clinical codes against value sets kept in this package. It reads codes
// only, never values or free text, and it never falls back to a default: when
// neither function gives a label, the caller's own rules decide.
package label

import (
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"

	"github.com/patientportal/portal/ent/schema/category"
)

// Coding is a code in a code system, as FHIR writes it.
type Coding struct{ System, Code string }

// Systems that carry the HL7 v3 codes meta.security uses. An empty system is
// accepted too, as some senders omit it.
var (
	actCodeSystems = map[string]bool{
		"": true,
		"http://terminology.hl7.org/CodeSystem/v3-ActCode": true,
		"http://hl7.org/fhir/v3/ActCode":                   true, // before R4
	}
	confidentialitySystems = map[string]bool{
		"": true,
		"http://terminology.hl7.org/CodeSystem/v3-Confidentiality": true,
		"http://hl7.org/fhir/v3/Confidentiality":                   true, // before R4
	}
)

// sensitivity maps v3 ActCode sensitivity codes to labels.
var sensitivity = map[string]category.Category{
	"PSY": category.MentalHealth,
	"MH":  category.MentalHealth,
	"BH":  category.MentalHealth,
	"SEX": category.SexualHealth,
	"STD": category.SexualHealth,
	"HIV": category.SexualHealth,
	"SOC": category.SocialCare,
}

// FromSecurity returns the label meta.security gives, and false when it gives none.
func FromSecurity(security []Coding) (category.Category, bool) {
	var found []category.Category
	restricted := false
	for _, c := range security {
		system, code := strings.TrimSpace(c.System), strings.TrimSpace(c.Code)
		if actCodeSystems[system] {
			if cat, ok := sensitivity[code]; ok {
				found = append(found, cat)
			}
		}
		if confidentialitySystems[system] && (code == "R" || code == "V") {
			restricted = true
		}
	}
	if cat, ok := combine(found); ok {
		// A sensitivity code names who may see the item; R or V beside it
		// only repeats that it is sensitive.
		return cat, true
	}
	if restricted {
		return category.Restricted, true
	}
	return "", false
}

// FromCodes returns the label the value sets give to any of codes, and false when none is listed.
func FromCodes(codes []Coding) (category.Category, bool) {
	var found []category.Category
	for _, c := range codes {
		key := Coding{System: strings.TrimSpace(c.System), Code: strings.TrimSpace(c.Code)}
		if cat, ok := valueSets[key]; ok {
			found = append(found, cat)
		}
	}
	return combine(found)
}

// combine reduces labels to one. Two different sensitive labels make the item
// RESTRICTED, since only a share that covers every label may then see it.
func combine(cats []category.Category) (category.Category, bool) {
	if len(cats) == 0 {
		return "", false
	}
	for _, c := range cats[1:] {
		if c != cats[0] {
			return category.Restricted, true
		}
	}
	return cats[0], true
}

// The value sets: one CSV file per label, header system,code,category,display,
// system being the canonical URI (http://loinc.org, http://snomed.info/sct).
// The codes come from the public LOINC and SNOMED CT International releases,
// many by way of the eCQM value sets published through VSAC. To add one, add a
// row to the file of its label with the display from the release; go test
// checks the file and the code's check digit.
//
//go:embed valuesets/*.csv
var valueSetFiles embed.FS

// valueSets is parsed once; the files are compiled in, so a malformed one is
// a programming error and stops the program (and every test) at start-up.
var valueSets = mustParse(valueSetFiles)

func mustParse(fsys fs.FS) map[Coding]category.Category {
	sets, err := parseValueSets(fsys)
	if err != nil {
		panic(err)
	}
	return sets
}

// parseValueSets reads every valuesets/*.csv in fsys.
func parseValueSets(fsys fs.FS) (map[Coding]category.Category, error) {
	names, err := fs.Glob(fsys, "valuesets/*.csv")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("label: no value sets")
	}
	sets := make(map[Coding]category.Category)
	where := make(map[Coding]string) // for duplicate reports
	for _, name := range names {
		f, err := fsys.Open(name)
		if err != nil {
			return nil, err
		}
		err = parseValueSet(f, name, sets, where)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return sets, nil
}

var csvHeader = []string{"system", "code", "category", "display"}

func parseValueSet(r io.Reader, name string, sets map[Coding]category.Category, where map[Coding]string) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("label: %s: %w", name, err)
	}
	for i := range csvHeader {
		if strings.TrimSpace(head[i]) != csvHeader[i] {
			return fmt.Errorf("label: %s: header is %q, want %q", name, strings.Join(head, ","), strings.Join(csvHeader, ","))
		}
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("label: %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		key := Coding{System: rec[0], Code: rec[1]}
		cat, display := category.Category(rec[2]), rec[3]
		if u, err := url.Parse(key.System); err != nil || u.Scheme == "" {
			return fmt.Errorf("label: %s:%d: system %q is not a URI", name, line, key.System)
		}
		if key.Code == "" || display == "" {
			return fmt.Errorf("label: %s:%d: code and display are required", name, line)
		}
		switch cat {
		case category.MentalHealth, category.SexualHealth, category.SocialCare, category.Restricted:
		default:
			// GENERAL needs no value set, and PRIVATE is the patient's own.
			return fmt.Errorf("label: %s:%d: category %q cannot come from a value set", name, line, cat)
		}
		if prev, dup := where[key]; dup {
			return fmt.Errorf("label: %s:%d: %s|%s already listed at %s", name, line, key.System, key.Code, prev)
		}
		sets[key] = cat
		where[key] = fmt.Sprintf("%s:%d", name, line)
		rows++
	}
	if rows == 0 {
		return fmt.Errorf("label: %s: no codes", name)
	}
	return nil
}
