package auth

import (
	"errors"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Europe/London on machines without a zoneinfo database

	"github.com/trustelem/zxcvbn/frequency"
)

// Password rules.
const (
	MinPasswordLength = 10
	maxPasswordLength = 256
	commonPasswords   = 10000
)

// ErrWeakPassword is returned for a password that is too short, too long or
// among the most common ones.
var ErrWeakPassword = errors.New("password must be 10 to 256 characters and not a commonly used one")

// ErrAgeRestricted is returned when someone under 16 tries to register.
var ErrAgeRestricted = errors.New("only people aged 16 or over can register")

// MinimumAge is the youngest a patient may register at.
const MinimumAge = 16

var (
	commonOnce sync.Once
	common     map[string]bool
)

// isCommon reports whether password is among the 10,000 most common, from
// zxcvbn's ranked list (embedded in the binary through the module).
func isCommon(password string) bool {
	commonOnce.Do(func() {
		list := frequency.FrequencyLists["passwords"]
		n := min(commonPasswords, len(list))
		common = make(map[string]bool, n)
		for _, p := range list[:n] {
			common[strings.ToLower(p)] = true
		}
	})
	return common[strings.ToLower(password)]
}

// ValidatePassword applies the password rules.
func ValidatePassword(password string) error {
	n := len([]rune(password))
	if n < MinPasswordLength || n > maxPasswordLength || isCommon(password) {
		return ErrWeakPassword
	}
	return nil
}

var london = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// AgeOn returns a person's age in whole years on the UK calendar day of at.
func AgeOn(dateOfBirth, at time.Time) int {
	y, m, d := at.In(london).Date()
	by, bm, bd := dateOfBirth.Date()
	age := y - by
	if m < bm || (m == bm && d < bd) {
		age--
	}
	return age
}

// ParseDate reads a YYYY-MM-DD date as UTC midnight.
func ParseDate(s string) (time.Time, error) {
	return time.Parse(time.DateOnly, strings.TrimSpace(s))
}
