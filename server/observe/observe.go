// Package observe makes the service observable: a request id for every
// request (taken from X-Request-Id when well-formed, else generated, and
// echoed back), one structured log line per request, a log handler that
// stamps the id on every record logged with the request's context, and the
// Prometheus metrics.
//
// It never records personal or clinical data: no query text, variables,
// headers, cookies, tokens, addresses or bodies reach a log line or a
// metric; only the path, status, timing, the GraphQL operation's name and
// type, and error codes.
package observe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
)

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-Id"

// maxRequestID bounds an id taken from a client.
const maxRequestID = 64

type requestKey struct{}

// Request is what one request's log line collects while it runs.
type Request struct {
	// ID is the request id.
	ID string

	mu        sync.Mutex
	operation string
	kind      string
	codes     []string
}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// FromContext returns the request ctx carries, or nil.
func FromContext(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if r := FromContext(ctx); r != nil {
		return r.ID
	}
	return ""
}

// SetOperation records the GraphQL operation the request runs. A
// websocket carries several; the first is kept.
func (r *Request) SetOperation(name, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind == "" {
		r.operation, r.kind = logName(name), kind
	}
}

// AddError records the code of an error in the response.
func (r *Request) AddError(code string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.codes) < 20 {
		r.codes = append(r.codes, code)
	}
}

func (r *Request) snapshot() (operation, kind string, codes []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.operation, r.kind, append([]string(nil), r.codes...)
}

// requestID returns the client's id when it is well-formed (1 to 64 of
// letters, digits, '-', '_', '.', ':'), so that a trace can cross a proxy;
// anything else is replaced, so that no free text reaches the log.
func requestID(given string) string {
	if len(given) > 0 && len(given) <= maxRequestID {
		ok := true
		for _, c := range []byte(given) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
				ok = false
				break
			}
		}
		if ok {
			return given
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// graphqlName reports whether s is a GraphQL name of at most 64 bytes.
func graphqlName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// logName is the operation name as logged: "" for none, "invalid" for
// anything that is not a short GraphQL name.
func logName(name string) string {
	if name == "" || graphqlName(name) {
		return name
	}
	return "invalid"
}
