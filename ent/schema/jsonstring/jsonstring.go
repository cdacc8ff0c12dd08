// Package jsonstring writes strings into GraphQL answers as JSON strings.
package jsonstring

import (
	"encoding/json"
	"io"
)

// Write writes s to w as a JSON string. An ID or a label is plain ASCII
// and is written as it is, with no allocation (a dashboard writes hundreds
// of them); anything else goes through encoding/json, since strconv.Quote
// would write Go escapes (\x00) that JSON does not have.
func Write(w io.Writer, s string) {
	if !plain(s) {
		b, _ := json.Marshal(s)
		_, _ = w.Write(b)
		return
	}
	_, _ = io.WriteString(w, `"`)
	_, _ = io.WriteString(w, s)
	_, _ = io.WriteString(w, `"`)
}

// plain reports whether s needs no escaping inside a JSON string.
func plain(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
