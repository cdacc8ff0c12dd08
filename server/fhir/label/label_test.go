package label

import (
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/patientportal/portal/ent/schema/category"
)

const (
	actCode         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	confidentiality = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	loinc           = "http://loinc.org"
	snomed          = "http://snomed.info/sct"
)

func TestFromSecurity(t *testing.T) {
	tests := []struct {
		name     string
		security []Coding
		want     category.Category
		ok       bool
	}{
		{"PSY in meta.security is mental health", []Coding{{actCode, "PSY"}}, category.MentalHealth, true},
		{"MH is mental health", []Coding{{actCode, "MH"}}, category.MentalHealth, true},
		{"BH is mental health", []Coding{{actCode, "BH"}}, category.MentalHealth, true},
		{"HIV in meta.security is sexual health", []Coding{{actCode, "HIV"}}, category.SexualHealth, true},
		{"STD is sexual health", []Coding{{actCode, "STD"}}, category.SexualHealth, true},
		{"SEX is sexual health", []Coding{{actCode, "SEX"}}, category.SexualHealth, true},
		{"SOC is social care", []Coding{{actCode, "SOC"}}, category.SocialCare, true},
		{"the pre-R4 ActCode system is accepted", []Coding{{"http://hl7.org/fhir/v3/ActCode", "PSY"}}, category.MentalHealth, true},
		{"a sensitivity code with no system is accepted", []Coding{{"", "HIV"}}, category.SexualHealth, true},
		{"spaces around system and code are trimmed", []Coding{{" " + actCode + " ", " SOC "}}, category.SocialCare, true},
		{"codes compare case-sensitively: psy is not PSY", []Coding{{actCode, "psy"}}, "", false},
		{"confidentiality R alone is restricted", []Coding{{confidentiality, "R"}}, category.Restricted, true},
		{"confidentiality V alone is restricted", []Coding{{confidentiality, "V"}}, category.Restricted, true},
		{"the pre-R4 confidentiality system is accepted", []Coding{{"http://hl7.org/fhir/v3/Confidentiality", "V"}}, category.Restricted, true},
		{"confidentiality R with no system is restricted", []Coding{{"", "R"}}, category.Restricted, true},
		{"confidentiality r is not R", []Coding{{confidentiality, "r"}}, "", false},
		{"confidentiality R with HIV is sexual health, not restricted", []Coding{{confidentiality, "R"}, {actCode, "HIV"}}, category.SexualHealth, true},
		{"confidentiality V with PSY is mental health", []Coding{{actCode, "PSY"}, {confidentiality, "V"}}, category.MentalHealth, true},
		{"two sensitive categories make it restricted", []Coding{{actCode, "PSY"}, {actCode, "HIV"}}, category.Restricted, true},
		{"three sensitive categories make it restricted", []Coding{{actCode, "SOC"}, {actCode, "STD"}, {actCode, "BH"}}, category.Restricted, true},
		{"two codes for the same category keep it", []Coding{{actCode, "PSY"}, {actCode, "MH"}}, category.MentalHealth, true},
		{"confidentiality N gives nothing", []Coding{{confidentiality, "N"}}, "", false},
		{"confidentiality U, L and M give nothing", []Coding{{confidentiality, "U"}, {confidentiality, "L"}, {confidentiality, "M"}}, "", false},
		{"the PDS's unrestricted patient gives nothing", []Coding{{confidentiality, "U"}}, "", false},
		{"unknown ActCode gives nothing", []Coding{{actCode, "ETH"}}, "", false},
		{"unknown system ignored", []Coding{{"https://fhir.nhs.uk/CodeSystem/Example", "PSY"}}, "", false},
		{"R from an unknown system is not restricted", []Coding{{"https://fhir.nhs.uk/CodeSystem/Example", "R"}}, "", false},
		{"a sensitivity code under the confidentiality system is ignored", []Coding{{confidentiality, "HIV"}}, "", false},
		{"a confidentiality code under the ActCode system is ignored", []Coding{{actCode, "R"}}, "", false},
		{"no security codes give nothing", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromSecurity(tt.security)
			if got != tt.want || ok != tt.ok {
				t.Errorf("FromSecurity(%v) = %q, %v; want %q, %v", tt.security, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestFromCodes(t *testing.T) {
	tests := []struct {
		name  string
		codes []Coding
		want  category.Category
		ok    bool
	}{
		{"Synthea's HIV status observation is sexual health", []Coding{{loinc, "55277-8"}}, category.SexualHealth, true},
		{"a chlamydia NAAT is sexual health", []Coding{{loinc, "21613-5"}}, category.SexualHealth, true},
		{"an RPR for syphilis is sexual health", []Coding{{loinc, "20507-0"}}, category.SexualHealth, true},
		{"an HIV infection diagnosis in SNOMED CT is sexual health", []Coding{{snomed, "86406008"}}, category.SexualHealth, true},
		{"a PHQ-9 total score is mental health", []Coding{{loinc, "44261-6"}}, category.MentalHealth, true},
		{"a schizophrenia diagnosis is mental health", []Coding{{snomed, "58214004"}}, category.MentalHealth, true},
		{"housing status is social care", []Coding{{loinc, "71802-3"}}, category.SocialCare, true},
		{"abuse status is restricted", []Coding{{loinc, "28245-9"}}, category.Restricted, true},
		{"sexual orientation is restricted", []Coding{{loinc, "76690-7"}}, category.Restricted, true},
		{"a full blood count has no label from codes", []Coding{{loinc, "58410-2"}, {loinc, "718-7"}, {loinc, "777-3"}}, "", false},
		{"a hepatitis B surface antigen test has no label", []Coding{{loinc, "10674-0"}}, "", false},
		{"a LOINC code under the SNOMED CT system is not matched", []Coding{{snomed, "55277-8"}}, "", false},
		{"a code with no system is not matched", []Coding{{"", "55277-8"}}, "", false},
		{"spaces around system and code are trimmed", []Coding{{" " + loinc, "55277-8 "}}, category.SexualHealth, true},
		{"one sensitive code among ordinary ones labels the item", []Coding{{loinc, "718-7"}, {loinc, "55277-8"}}, category.SexualHealth, true},
		{"a LOINC and a SNOMED CT code for the same thing keep its label", []Coding{{loinc, "55277-8"}, {snomed, "165816005"}}, category.SexualHealth, true},
		{"codes of two categories make it restricted", []Coding{{loinc, "55277-8"}, {loinc, "44261-6"}}, category.Restricted, true},
		{"a restricted code beside a sensitive one stays restricted", []Coding{{loinc, "76690-7"}, {loinc, "71802-3"}}, category.Restricted, true},
		{"no codes give nothing", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromCodes(tt.codes)
			if got != tt.want || ok != tt.ok {
				t.Errorf("FromCodes(%v) = %q, %v; want %q, %v", tt.codes, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseValueSets(t *testing.T) {
	const head = "system,code,category,display\n"
	const good = "http://loinc.org,55277-8,SEXUAL_HEALTH,HIV status\n"
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string // substring; empty means success
	}{
		{"a well-formed file parses", map[string]string{"valuesets/a.csv": head + good}, ""},
		{"a quoted display with a comma parses", map[string]string{"valuesets/a.csv": head + `http://loinc.org,68961-2,SEXUAL_HEALTH,"HIV 1 Ab [Presence] in Serum, Plasma or Blood by Rapid immunoassay"` + "\n"}, ""},
		{"no files is an error", map[string]string{"other/a.csv": head + good}, "no value sets"},
		{"an empty file is an error", map[string]string{"valuesets/a.csv": ""}, "a.csv"},
		{"a header alone is an error", map[string]string{"valuesets/a.csv": head}, "no codes"},
		{"a wrong header is an error", map[string]string{"valuesets/a.csv": "system,code,label,display\n" + good}, "header"},
		{"a missing column is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org,55277-8,SEXUAL_HEALTH\n"}, "wrong number of fields"},
		{"an extra column is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org,55277-8,SEXUAL_HEALTH,HIV status,x\n"}, "wrong number of fields"},
		{"an unknown category is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org,55277-8,SEXUAL,HIV status\n"}, "cannot come from a value set"},
		{"GENERAL is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org,718-7,GENERAL,Hemoglobin\n"}, "cannot come from a value set"},
		{"PRIVATE is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org,718-7,PRIVATE,Hemoglobin\n"}, "cannot come from a value set"},
		{"a system that is not a URI is an error", map[string]string{"valuesets/a.csv": head + "LOINC,55277-8,SEXUAL_HEALTH,HIV status\n"}, "not a URI"},
		{"an empty code is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org, ,SEXUAL_HEALTH,HIV status\n"}, "required"},
		{"an empty display is an error", map[string]string{"valuesets/a.csv": head + "http://loinc.org,55277-8,SEXUAL_HEALTH,\n"}, "required"},
		{"a code listed twice in one file is an error", map[string]string{"valuesets/a.csv": head + good + good}, "already listed at valuesets/a.csv:2"},
		{"a code listed in two files is an error", map[string]string{
			"valuesets/a.csv": head + good,
			"valuesets/b.csv": head + "http://loinc.org,55277-8,RESTRICTED,HIV status\n",
		}, "already listed"},
		{"the error names the file and line", map[string]string{"valuesets/a.csv": head + good + "http://loinc.org,44261-6,MENTAL,PHQ-9\n"}, "valuesets/a.csv:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for name, data := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(data)}
			}
			_, err := parseValueSets(fsys)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parseValueSets: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("parseValueSets: no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("parseValueSets: %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestValueSetFiles checks what parsing cannot: every row sits in the file of
// its label, and every LOINC and SNOMED CT code has a valid check digit, which
// catches most mistyped codes.
func TestValueSetFiles(t *testing.T) {
	fileLabel := map[string]category.Category{
		"valuesets/sexual-health.csv": category.SexualHealth,
		"valuesets/mental-health.csv": category.MentalHealth,
		"valuesets/social-care.csv":   category.SocialCare,
		"valuesets/restricted.csv":    category.Restricted,
	}
	names, err := fs.Glob(valueSetFiles, "valuesets/*.csv")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, name := range names {
		want, known := fileLabel[name]
		if !known {
			t.Errorf("%s: unexpected value set file; add it to this test", name)
			continue
		}
		data, err := fs.ReadFile(valueSetFiles, name)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(string(data))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, row := range rows[1:] {
			line := i + 2
			system, code, cat := row[0], row[1], category.Category(row[2])
			if cat != want {
				t.Errorf("%s:%d: %s is %s, but the file holds %s", name, line, code, cat, want)
			}
			switch system {
			case loinc:
				if !validLOINC(code) {
					t.Errorf("%s:%d: %s is not a valid LOINC code", name, line, code)
				}
			case snomed:
				if !validSCTConcept(code) {
					t.Errorf("%s:%d: %s is not a valid SNOMED CT concept id", name, line, code)
				}
			default:
				t.Errorf("%s:%d: system %s has no check here; add one", name, line, system)
			}
		}
		t.Logf("%s: %d codes", name, len(rows)-1)
		total += len(rows) - 1
	}
	if total != len(valueSets) {
		t.Errorf("files hold %d rows, parsed value sets hold %d", total, len(valueSets))
	}
}

func TestCheckDigits(t *testing.T) {
	for _, code := range []string{"718-7", "55277-8", "6690-2", "58410-2", "100700-4"} {
		if !validLOINC(code) {
			t.Errorf("validLOINC(%q) = false, want true", code)
		}
	}
	for _, code := range []string{"718-6", "55277-7", "7187", "-7", "718-", "71a-7"} {
		if validLOINC(code) {
			t.Errorf("validLOINC(%q) = true, want false", code)
		}
	}
	for _, code := range []string{"138875005", "22298006", "86406008", "38341003", "840539006", "454711000124102"} {
		if !validSCTConcept(code) {
			t.Errorf("validSCTConcept(%q) = false, want true", code)
		}
	}
	// 86406009 has a wrong check digit; 86406018 is not a concept partition.
	for _, code := range []string{"86406009", "86406018", "123", "8640600x"} {
		if validSCTConcept(code) {
			t.Errorf("validSCTConcept(%q) = true, want false", code)
		}
	}
}

// validLOINC reports whether code is digits, a hyphen and the LOINC mod-10
// check digit.
func validLOINC(code string) bool {
	body, check, ok := strings.Cut(code, "-")
	if !ok || body == "" || len(check) != 1 || !allDigits(body) || !allDigits(check) {
		return false
	}
	sum := 0
	for i := 0; i < len(body); i++ {
		d := int(body[len(body)-1-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return int(check[0]-'0') == (10-sum%10)%10
}

// validSCTConcept reports whether id is a SNOMED CT concept id: a concept
// partition (00 or 10) and a valid Verhoeff check digit.
func validSCTConcept(id string) bool {
	if len(id) < 6 || len(id) > 18 || !allDigits(id) {
		return false
	}
	if p := id[len(id)-3 : len(id)-1]; p != "00" && p != "10" {
		return false
	}
	d := [10][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	p := [8][10]int{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	c := 0
	for i := 0; i < len(id); i++ {
		c = d[c][p[i%8][id[len(id)-1-i]-'0']]
	}
	return c == 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// fhirCoding and observation are the little of FHIR JSON the sample test reads.
type fhirCoding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type observation struct {
	Meta struct {
		Security []fhirCoding `json:"security"`
	} `json:"meta"`
	Category []struct {
		Coding []fhirCoding `json:"coding"`
	} `json:"category"`
	Code struct {
		Coding []fhirCoding `json:"coding"`
	} `json:"code"`
}

func codings(cs []fhirCoding) []Coding {
	out := make([]Coding, len(cs))
	for i, c := range cs {
		out[i] = Coding{System: c.System, Code: c.Code}
	}
	return out
}

// TestSyntheaSamples labels every Observation in the Synthea sample bundles:
// the sensitive social-history ones get their label, a full blood count gets
// none, and nothing else is labelled.
func TestSyntheaSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "fhir-samples", "synthea")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the Synthea sample bundles are not at %s (%v); they come with the shared FHIR samples", dir, err)
	}
	labelled := map[string]category.Category{
		"55277-8": category.SexualHealth, // HIV status
		"71802-3": category.SocialCare,   // Housing status
		"28245-9": category.Restricted,   // Abuse status
		"76690-7": category.Restricted,   // Sexual orientation
	}
	cbc := map[string]bool{
		"6690-2": true, "789-8": true, "718-7": true, "4544-3": true,
		"787-2": true, "785-6": true, "786-4": true, "777-3": true,
	}
	seen := map[string]int{}
	observations := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var bundle struct {
			Entry []struct {
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &bundle); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		for _, e := range bundle.Entry {
			// Other resources shape category and code differently.
			var kind struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(e.Resource, &kind); err != nil || kind.ResourceType != "Observation" {
				continue
			}
			var obs observation
			if err := json.Unmarshal(e.Resource, &obs); err != nil {
				t.Errorf("%s: %v", path, err)
				continue
			}
			observations++
			fromCodes, codesOK := FromCodes(codings(obs.Code.Coding))
			fromSecurity, securityOK := FromSecurity(codings(obs.Meta.Security))
			laboratory := false
			for _, c := range obs.Category {
				for _, cc := range c.Coding {
					laboratory = laboratory || cc.Code == "laboratory"
				}
			}
			for _, c := range obs.Code.Coding {
				if c.System != loinc {
					continue
				}
				switch want, sensitive := labelled[c.Code]; {
				case sensitive:
					seen[c.Code]++
					if !codesOK || fromCodes != want {
						t.Errorf("%s: Observation %s labelled %q, %v; want %q", filepath.Base(path), c.Code, fromCodes, codesOK, want)
					}
				case laboratory && cbc[c.Code]:
					seen["CBC"]++
					if codesOK || securityOK {
						t.Errorf("%s: full blood count Observation %s labelled %q/%q; want no label", filepath.Base(path), c.Code, fromCodes, fromSecurity)
					}
				case codesOK:
					t.Errorf("%s: Observation %s labelled %q; want no label", filepath.Base(path), c.Code, fromCodes)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"55277-8", "71802-3", "28245-9", "76690-7", "CBC"} {
		if seen[code] == 0 {
			t.Errorf("no %s Observation in the samples; the test checked nothing for it", code)
		}
	}
	t.Logf("%d Observations read; checked %v", observations, seen)
}
