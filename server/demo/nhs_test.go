package demo

import (
	"errors"
	"testing"
)

// validNHSNumber reports whether s is ten digits whose last is the check
// digit of the first nine.
func validNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	d, ok := nhsCheckDigit(s[:9])
	return ok && s[9] == byte('0'+d)
}

func TestNHSCheckDigit(t *testing.T) {
	tests := []struct {
		name   string
		number string
		valid  bool
	}{
		{"the NHS's published example is valid", "9434765919", true},
		{"a check digit of 0 (remainder 11) is valid", "9990000050", true},
		{"a wrong check digit is invalid", "9434765918", false},
		{"nine digits whose remainder gives 10 begin no valid number", "9990000000", false},
		{"letters are invalid", "99900000A8", false},
		{"nine digits are invalid", "999000001", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := validNHSNumber(tc.number); got != tc.valid {
				t.Errorf("validNHSNumber(%q) = %v, want %v", tc.number, got, tc.valid)
			}
		})
	}
}

func TestDemoPatientHasAValidTestRangeNHSNumber(t *testing.T) {
	nhs, err := withCheckDigit(patientNHSStem)
	if err != nil {
		t.Fatal(err)
	}
	if nhs != "9990000018" || !validNHSNumber(nhs) {
		t.Errorf("demo NHS number %s, want 9990000018 (valid, in the 999 test range)", nhs)
	}
	if _, err := withCheckDigit("999000000"); !errors.Is(err, errNoCheckDigit) {
		t.Errorf("withCheckDigit of a stem with no check digit: got %v, want errNoCheckDigit", err)
	}
}
