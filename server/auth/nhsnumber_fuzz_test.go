package auth_test

import (
	"testing"

	"github.com/patientportal/portal/server/auth"
)

// FuzzValidNHSNumber checks the Modulus 11 rule on any input: it never
// panics, takes only ten ASCII digits, and a number it takes is refused
// again after any one digit changes or two neighbours of the first nine
// swap, the errors the check digit exists to catch.
func FuzzValidNHSNumber(f *testing.F) {
	for _, s := range []string{"9434765919", "9990000018", "4010232137", "943 476 5919", "0000000000", "", "943476591x", "94347659190", "\x00\xff٣٣٣٣٣٣٣٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !auth.ValidNHSNumber(s) {
			return
		}
		if len(s) != 10 {
			t.Fatalf("%q accepted with %d bytes", s, len(s))
		}
		sum := 0
		for i := 0; i < 10; i++ {
			if s[i] < '0' || s[i] > '9' {
				t.Fatalf("%q accepted with a non-digit at %d", s, i)
			}
			if i < 9 {
				sum += int(s[i]-'0') * (10 - i)
			}
		}
		if want := (11 - sum%11) % 11; want == 10 || int(s[9]-'0') != want {
			t.Fatalf("%q accepted with check digit %c, want %d", s, s[9], want)
		}
		for i := 0; i < 10; i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == s[i] {
					continue
				}
				changed := []byte(s)
				changed[i] = d
				if auth.ValidNHSNumber(string(changed)) {
					t.Fatalf("%q accepted and so is %q, one digit apart", s, changed)
				}
			}
		}
		for i := 0; i+1 < 9; i++ {
			if s[i] == s[i+1] {
				continue
			}
			swapped := []byte(s)
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
			if auth.ValidNHSNumber(string(swapped)) {
				t.Fatalf("%q accepted and so is %q, two digits swapped", s, swapped)
			}
		}
	})
}
