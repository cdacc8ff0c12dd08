package demo

import (
	"errors"
	"fmt"
)

// errNoCheckDigit reports nine digits that begin no valid NHS number.
var errNoCheckDigit = errors.New("demo: no NHS number starts with these digits")

// nhsCheckDigit returns the Modulus 11 check digit of the first nine digits
// of an NHS number. It reports false when they are not nine digits or when
// the remainder gives 10, which NHS numbers never use.
func nhsCheckDigit(stem string) (int, bool) {
	if len(stem) != 9 {
		return 0, false
	}
	sum := 0
	for i, r := range stem {
		if r < '0' || r > '9' {
			return 0, false
		}
		sum += int(r-'0') * (10 - i)
	}
	switch check := 11 - sum%11; check {
	case 11:
		return 0, true
	case 10:
		return 0, false
	default:
		return check, true
	}
}

// withCheckDigit returns the ten-digit NHS number that starts with stem.
func withCheckDigit(stem string) (string, error) {
	d, ok := nhsCheckDigit(stem)
	if !ok {
		return "", fmt.Errorf("%w: %q", errNoCheckDigit, stem)
	}
	return fmt.Sprintf("%s%d", stem, d), nil
}
