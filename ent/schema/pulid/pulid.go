// Package pulid provides the application-generated, time-ordered primary keys
// of every entity: a two-letter type prefix followed by a ULID, so that a
// global ID names its own type and no sequential number is ever exposed.
package pulid

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"

	"github.com/oklog/ulid/v2"

	"github.com/patientportal/portal/ent/schema/jsonstring"
)

// ID is a prefixed ULID, e.g. "pt01JD8W4ZQ6TBN3CZ1P5X2R7Q9M".
type ID string

// PrefixLen is the length of the type prefix of every ID.
const PrefixLen = 2

// idLen is the total length of a well-formed ID.
const idLen = PrefixLen + ulid.EncodedSize

// ErrMalformed reports an ID that is not a prefixed ULID.
var ErrMalformed = errors.New("malformed id")

// New returns a new ID with the given prefix. ulid.Make uses a
// goroutine-safe monotonic source, so concurrent creates never race.
func New(prefix string) ID {
	return ID(prefix + ulid.Make().String())
}

// Prefix returns the type prefix of a well-formed ID.
func (id ID) Prefix() string {
	if len(id) < PrefixLen {
		return ""
	}
	return string(id[:PrefixLen])
}

// Validate reports whether id has the shape of an ID: a lowercase prefix
// and a valid ULID. It does not say whether the prefix is known.
func (id ID) Validate() error {
	if len(id) != idLen {
		return ErrMalformed
	}
	for _, c := range id[:PrefixLen] {
		if c < 'a' || c > 'z' {
			return ErrMalformed
		}
	}
	if _, err := ulid.ParseStrict(string(id[PrefixLen:])); err != nil {
		return ErrMalformed
	}
	return nil
}

// Scan implements sql.Scanner; MySQL returns []byte, SQLite string.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		*id = ID(v)
	case []byte:
		*id = ID(string(v))
	case ID:
		*id = v
	default:
		return fmt.Errorf("pulid: cannot scan %T", src)
	}
	return nil
}

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) {
	return string(id), nil
}

// UnmarshalGQL implements graphql.Unmarshaler. It accepts any string so that
// the caller can tell a malformed ID (BAD_USER_INPUT) from a missing one.
func (id *ID) UnmarshalGQL(v any) error {
	switch s := v.(type) {
	case string:
		*id = ID(s)
	case ID:
		*id = s
	default:
		return fmt.Errorf("%w: id must be a string", ErrMalformed)
	}
	return nil
}

// MarshalGQL implements graphql.Marshaler.
func (id ID) MarshalGQL(w io.Writer) {
	jsonstring.Write(w, string(id))
}
