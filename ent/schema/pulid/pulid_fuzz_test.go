package pulid_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patientportal/portal/ent/schema/pulid"
)

// FuzzValidate checks ID decoding on any input: it never panics, a
// well-formed ID is exactly a lowercase prefix and a canonical ULID, its
// table is known or it is refused as malformed, and it survives the
// round trips through the database and GraphQL unchanged; whatever it
// holds, it is written to an answer as a JSON string of itself.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{string(pulid.New("pt")), string(pulid.New("zz")), "pt01JD8W4ZQ6TBN3CZ1P5X2R7Q9M", "PT01JD8W4ZQ6TBN3CZ1P5X2R7Q9M",
		"pt81JD8W4ZQ6TBN3CZ1P5X2R7Q9M", "pt01jd8w4zq6tbn3cz1p5x2r7q9m", "pt", "", "pt01JD8W4ZQ6TBN3CZ1P5X2R7Q9", "é01JD8W4ZQ6TBN3CZ1P5X2R7Q9M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id := pulid.ID(s)
		var out bytes.Buffer
		id.MarshalGQL(&out)
		var written string
		if err := json.Unmarshal(out.Bytes(), &written); err != nil || (utf8.ValidString(s) && written != s) {
			t.Fatalf("%q written to GraphQL as %s (%v)", s, out.Bytes(), err)
		}
		table, tableErr := pulid.TableOf(id)
		if err := id.Validate(); err != nil {
			if !errors.Is(err, pulid.ErrMalformed) {
				t.Fatalf("%q: %v is not ErrMalformed", s, err)
			}
			if tableErr == nil {
				t.Fatalf("%q is malformed but names table %s", s, table)
			}
			return
		}
		if len(s) != pulid.PrefixLen+26 || strings.ToLower(id.Prefix()) != id.Prefix() {
			t.Fatalf("%q accepted with a wrong shape", s)
		}
		if _, known := pulid.Types[id.Prefix()]; known != (tableErr == nil) {
			t.Fatalf("%q: prefix known %v, TableOf error %v", s, known, tableErr)
		}
		var scanned pulid.ID
		if err := scanned.Scan([]byte(s)); err != nil || scanned != id {
			t.Fatalf("%q scanned from bytes as %q, %v", s, scanned, err)
		}
		var fromGQL pulid.ID
		if err := fromGQL.UnmarshalGQL(s); err != nil || fromGQL != id {
			t.Fatalf("%q unmarshalled as %q, %v", s, fromGQL, err)
		}
	})
}
