// Package category defines the privacy labels every clinical or
// patient-recorded item carries. It holds only the values; the rules about
// who may see which label live in package access.
package category

import (
	"fmt"
	"io"

	"github.com/patientportal/portal/ent/schema/jsonstring"
)

// Category is a privacy label.
type Category string

// The privacy labels, PKB's four plus two.
const (
	General      Category = "GENERAL"
	MentalHealth Category = "MENTAL_HEALTH"
	SexualHealth Category = "SEXUAL_HEALTH"
	SocialCare   Category = "SOCIAL_CARE"
	Restricted   Category = "RESTRICTED"
	Private      Category = "PRIVATE"
)

// All lists every label in a fixed order.
var All = []Category{General, MentalHealth, SexualHealth, SocialCare, Restricted, Private}

// Values implements ent's EnumValues.
func (Category) Values() []string {
	vs := make([]string, len(All))
	for i, c := range All {
		vs[i] = string(c)
	}
	return vs
}

// Valid reports whether c is one of the labels.
func (c Category) Valid() bool {
	for _, v := range All {
		if c == v {
			return true
		}
	}
	return false
}

// String returns the label's name.
func (c Category) String() string { return string(c) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (c *Category) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !Category(s).Valid() {
		return fmt.Errorf("%v is not a valid Category", v)
	}
	*c = Category(s)
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (c Category) MarshalGQL(w io.Writer) {
	jsonstring.Write(w, string(c))
}
