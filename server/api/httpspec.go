package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Media types of the GraphQL-over-HTTP specification.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Requests the endpoint refuses before any GraphQL runs; classify gives
// each its code.
var (
	// ErrBadRequest is a request that is not a GraphQL-over-HTTP request:
	// bad JSON, a missing query, parameters of the wrong type.
	ErrBadRequest = errors.New("bad request")
	// ErrUnsupportedMediaType is a POST body that is not application/json.
	ErrUnsupportedMediaType = errors.New("send the request as application/json")
	// ErrNotAcceptable is an Accept header that allows neither JSON type.
	ErrNotAcceptable = errors.New("accept application/graphql-response+json or application/json")
	// ErrMutationOverGET is a mutation or subscription sent with GET.
	ErrMutationOverGET = errors.New("GET runs queries only: send mutations with POST")
)

// httpSpec serves GET and POST as the GraphQL-over-HTTP draft
// (https://graphql.github.io/graphql-over-http/draft/) specifies, where
// gqlgen's own GET and POST transports differ from it: the response type
// follows Accept (application/graphql-response+json when asked for,
// application/json otherwise, 406 when neither is acceptable); POST takes
// application/json only (415 for anything else, which also turns away HTML
// form posts); a malformed request is a 400; GET refuses mutations with
// 405; and with application/graphql-response+json a request that fails
// before execution (parse, validation, variables) is a 400 without data,
// while with application/json it is a 200, as the draft asks of that
// legacy type.
//
// It is added after the transports that claim particular requests
// (websocket upgrades, server-sent events, multipart uploads) and takes
// every other GET and POST.
type httpSpec struct{}

var _ graphql.Transport = httpSpec{}

// Supports implements graphql.Transport.
func (httpSpec) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

// Do implements graphql.Transport.
func (httpSpec) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx := r.Context()
	media, ok := negotiate(r.Header.Values("Accept"))
	if !ok {
		refuse(w, r, exec, mediaJSON, http.StatusNotAcceptable, ErrNotAcceptable)
		return
	}
	start := graphql.Now()
	params, status, err := readParams(r)
	if err != nil {
		refuse(w, r, exec, media, status, err)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// Nothing ran: the response has no data.
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		write(w, media, status, exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs))
		return
	}
	if r.Method == http.MethodGet {
		if op := opCtx.Doc.Operations.ForName(opCtx.OperationName); op == nil || op.Operation != ast.Query {
			w.Header().Set("Allow", http.MethodPost)
			refuse(w, r, exec, media, http.StatusMethodNotAllowed, ErrMutationOverGET)
			return
		}
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	write(w, media, http.StatusOK, responses(ctx))
}

// readParams reads the request's parameters: from the query string of a
// GET, from the JSON body of a POST. The status goes with the error.
func readParams(r *http.Request) (*graphql.RawParams, int, error) {
	var wire struct {
		Query         json.RawMessage `json:"query"`
		OperationName json.RawMessage `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("%w: the query string is malformed", ErrBadRequest)
		}
		p := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
		if v := q.Get("variables"); v != "" {
			wire.Variables = json.RawMessage(v)
		}
		if v := q.Get("extensions"); v != "" {
			wire.Extensions = json.RawMessage(v)
		}
		if err := decodeMaps(p, wire.Variables, wire.Extensions); err != nil {
			return nil, http.StatusBadRequest, err
		}
		return p, http.StatusBadRequest, checkQuery(p)
	}

	mediaType, ps, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != mediaJSON {
		return nil, http.StatusUnsupportedMediaType, ErrUnsupportedMediaType
	}
	if cs, ok := ps["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("%w in UTF-8", ErrUnsupportedMediaType)
	}
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: at most %d bytes", ErrBodyTooLarge, tooLarge.Limit)
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("%w: the body could not be read", ErrBadRequest)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&wire); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("%w: the body is not a JSON object", ErrBadRequest)
	}
	if dec.More() {
		return nil, http.StatusBadRequest, fmt.Errorf("%w: the body holds more than one JSON value", ErrBadRequest)
	}
	p := &graphql.RawParams{}
	if err := decodeString(wire.Query, &p.Query, "query"); err != nil {
		return nil, http.StatusBadRequest, err
	}
	if err := decodeString(wire.OperationName, &p.OperationName, "operationName"); err != nil {
		return nil, http.StatusBadRequest, err
	}
	if err := decodeMaps(p, wire.Variables, wire.Extensions); err != nil {
		return nil, http.StatusBadRequest, err
	}
	return p, http.StatusBadRequest, checkQuery(p)
}

// checkQuery refuses a request without a document, unless it names a
// persisted one in its extensions.
func checkQuery(p *graphql.RawParams) error {
	if p.Query == "" && p.Extensions["persistedQuery"] == nil {
		return fmt.Errorf("%w: the query parameter is missing", ErrBadRequest)
	}
	return nil
}

// decodeString reads a string parameter that may be absent or null.
func decodeString(raw json.RawMessage, into *string, name string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%w: %s must be a string", ErrBadRequest, name)
	}
	return nil
}

// decodeMaps reads variables and extensions, each a JSON object, absent or
// null. Numbers stay json.Number, as gqlgen's scalars expect.
func decodeMaps(p *graphql.RawParams, variables, extensions json.RawMessage) error {
	for _, m := range []struct {
		raw  json.RawMessage
		into *map[string]any
		name string
	}{{variables, &p.Variables, "variables"}, {extensions, &p.Extensions, "extensions"}} {
		if len(m.raw) == 0 || string(m.raw) == "null" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(m.raw))
		dec.UseNumber()
		if err := dec.Decode(m.into); err != nil || *m.into == nil {
			return fmt.Errorf("%w: %s must be a JSON object", ErrBadRequest, m.name)
		}
	}
	return nil
}

// negotiate picks the response type from the Accept header: the one of
// the two JSON types with the higher quality, an exact mention beating a
// wildcard; application/json when there is no header, or when only
// wildcards match, since older clients know nothing else.
func negotiate(accept []string) (string, bool) {
	if len(accept) == 0 {
		return mediaJSON, true
	}
	type score struct {
		q     float64
		exact bool
	}
	var best [2]score // mediaGraphQLResponse, mediaJSON
	for _, header := range accept {
		for _, item := range strings.Split(header, ",") {
			mt, ps, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := ps["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil {
					continue
				}
			}
			for i, candidate := range []string{mediaGraphQLResponse, mediaJSON} {
				exact := mt == candidate
				if !exact && mt != "*/*" && mt != "application/*" {
					continue
				}
				s := score{q, exact}
				// A more specific range decides the quality of a type.
				if exact && !best[i].exact || exact == best[i].exact && q > best[i].q {
					best[i] = s
				}
			}
		}
	}
	gr, js := best[0], best[1]
	switch {
	case gr.q <= 0 && js.q <= 0:
		return "", false
	case gr.q > js.q, gr.q == js.q && gr.exact && !js.exact, gr.q == js.q && gr.exact && js.exact:
		return mediaGraphQLResponse, true
	default:
		return mediaJSON, true
	}
}

// requestMessage is the text of a refused request's error, without the
// GraphQL wrapper's prefix.
func requestMessage(err error) string {
	var g *gqlerror.Error
	if errors.As(err, &g) && g.Err != nil {
		return g.Err.Error()
	}
	return err.Error()
}

// refuse answers a request the endpoint will not run with a GraphQL error
// response and status.
func refuse(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, media string, status int, err error) {
	resp := exec.DispatchError(r.Context(), gqlerror.List{gqlerror.WrapIfUnwrapped(err)})
	write(w, media, status, resp)
}

// write sends resp. A response without data leaves the entry out, as the
// draft asks for a request that never reached execution.
func write(w http.ResponseWriter, media string, status int, resp *graphql.Response) {
	b, err := encodeResponse(resp)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// encodeResponse writes resp as encoding/json would, in the same order of
// entries, but copies resp.Data as it is: the executor wrote it as compact
// JSON already, and json.Marshal would check and copy all of it again (a
// dashboard's answer is tens of kilobytes).
func encodeResponse(resp *graphql.Response) ([]byte, error) {
	out := make([]byte, 0, len(resp.Data)+128)
	out = append(out, '{')
	var err error
	add := func(name string, value any) {
		if err != nil {
			return
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = strconv.AppendQuote(out, name)
		out = append(out, ':')
		if raw, ok := value.(json.RawMessage); ok {
			out = append(out, raw...)
			return
		}
		var b []byte
		b, err = json.Marshal(value)
		out = append(out, b...)
	}
	if len(resp.Errors) > 0 {
		add("errors", resp.Errors)
	}
	if resp.Data != nil {
		data := resp.Data
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		add("data", data)
	}
	if resp.Label != "" {
		add("label", resp.Label)
	}
	if len(resp.Path) > 0 {
		add("path", resp.Path)
	}
	if resp.HasNext != nil {
		add("hasNext", resp.HasNext)
	}
	if len(resp.Extensions) > 0 {
		add("extensions", resp.Extensions)
	}
	return append(out, '}'), err
}
