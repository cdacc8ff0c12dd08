package nhslogin

import (
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// claims are the ID token claims the portal reads.
type claims struct {
	NHSNumber string `json:"nhs_number"`
	Birthdate string `json:"birthdate"`
	Email     string `json:"email"`
	Proofing  string `json:"identity_proofing_level"`
	VOT       string `json:"vot"`
}

// identityFrom reads a verified ID token. A claim that is present but not
// well formed refuses the sign-in rather than being dropped: it means the
// provider is not the one the portal was written for.
func identityFrom(idt *oidc.IDToken) (Identity, error) {
	if idt.Subject == "" {
		return Identity{}, fmt.Errorf("%w: no sub", ErrClaimsInvalid)
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", ErrClaimsInvalid, err)
	}
	id := Identity{
		Subject: idt.Subject,
		Email:   c.Email,
		Level:   levelOf(c.Proofing, c.VOT),
	}
	if c.NHSNumber != "" {
		if !validNHSNumber(c.NHSNumber) {
			return Identity{}, fmt.Errorf("%w: nhs_number fails its check", ErrClaimsInvalid)
		}
		id.NHSNumber = c.NHSNumber
	}
	if c.Birthdate != "" {
		d, err := time.Parse(time.DateOnly, c.Birthdate)
		if err != nil {
			// The error would echo the date.
			return Identity{}, fmt.Errorf("%w: birthdate is not YYYY-MM-DD", ErrClaimsInvalid)
		}
		id.Birthdate = d
	}
	return id, nil
}

// levelOf returns the identity level from identity_proofing_level ("P9"),
// else from the vector of trust ("P9.Cp.Cd"), else LevelP0.
func levelOf(proofing, vot string) string {
	if l, ok := knownLevel(proofing); ok {
		return l
	}
	first, _, _ := strings.Cut(vot, ".")
	if l, ok := knownLevel(first); ok {
		return l
	}
	return LevelP0
}

func knownLevel(s string) (string, bool) {
	switch s {
	case LevelP0, LevelP5, LevelP9:
		return s, true
	}
	return "", false
}

// validNHSNumber reports whether s is ten digits whose last is the
// Modulus 11 check digit of the first nine.
func validNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := range 10 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return false
	}
	return int(s[9]-'0') == check
}
