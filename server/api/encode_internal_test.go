package api

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// encodeResponse must say what json.Marshal says of the same response
// (less the data entry when there is none: a request refused before
// execution has no data), so that clients cannot tell which wrote it.
func TestEncodeResponseWritesWhatEncodingJSONWrites(t *testing.T) {
	yes := true
	for name, resp := range map[string]*graphql.Response{
		"data":   {Data: json.RawMessage(`{"patient":{"id":"pt01","allergies":[{"substance":"Penicillin <G>"}]}}`)},
		"errors": {Errors: gqlerror.List{{Message: "not found", Path: ast.Path{ast.PathName("patient")}, Extensions: map[string]any{"code": "NOT_FOUND"}}}},
		"both": {Data: json.RawMessage(`{"patient":null}`), Errors: gqlerror.List{{Message: "not found"}},
			Extensions: map[string]any{"retryAfter": 2}},
		"null data":       {Data: json.RawMessage(`null`)},
		"incremental":     {Data: json.RawMessage(`{"a":1}`), Label: "later", Path: ast.Path{ast.PathName("a"), ast.PathIndex(0)}, HasNext: &yes},
		"nothing at all":  {},
		"extensions only": {Extensions: map[string]any{"persistedQuery": map[string]any{"sha256Hash": "x"}}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := encodeResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			var whole any = resp
			if resp.Data == nil {
				whole = struct {
					Errors     gqlerror.List  `json:"errors,omitempty"`
					Extensions map[string]any `json:"extensions,omitempty"`
				}{resp.Errors, resp.Extensions}
			}
			want, err := json.Marshal(whole)
			if err != nil {
				t.Fatal(err)
			}
			var g, w any
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("not JSON: %s: %v", got, err)
			}
			_ = json.Unmarshal(want, &w)
			gb, _ := json.Marshal(g)
			wb, _ := json.Marshal(w)
			if string(gb) != string(wb) {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}
