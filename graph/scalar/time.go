// Package scalar holds the GraphQL scalars the API defines itself.
package scalar

import (
	"errors"
	"io"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// ErrInvalidTime reports a Time input that is not RFC 3339.
var ErrInvalidTime = errors.New("time must be an RFC 3339 string")

// MarshalTime writes a time as RFC 3339 in UTC.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		// RFC 3339 needs no escaping: append it between quotes, in one
		// buffer, rather than format, quote and copy.
		b := make([]byte, 0, len(time.RFC3339Nano)+2)
		b = append(b, '"')
		b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		_, _ = w.Write(append(b, '"'))
	})
}

// UnmarshalTime reads an RFC 3339 time and normalises it to UTC: SQLite
// compares times as text, which orders correctly only within one offset.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, ErrInvalidTime
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, ErrInvalidTime
	}
	return t.UTC(), nil
}
