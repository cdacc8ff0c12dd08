package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store/storetest"
)

// limitReply is an answer with its status and headers.
type limitReply struct {
	status int
	header http.Header
	gqlResponse
}

// do sends req and reads the answer whatever its status.
func (e *testEnv) sendRaw(req *http.Request) limitReply {
	e.t.Helper()
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	out := limitReply{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(body, &out.gqlResponse); err != nil {
		e.t.Fatalf("status %d, body %q: %v", res.StatusCode, body, err)
	}
	out.raw = body
	return out
}

// postBody sends a GraphQL request body as it is.
func (e *testEnv) postBody(body map[string]any, header http.Header) limitReply {
	e.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.server.URL+"/query", bytes.NewReader(raw))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.sendRaw(req)
}

func (x limitReply) wantCode(t *testing.T, code string) {
	t.Helper()
	if !slices.Contains(x.codes(), code) {
		t.Errorf("status %d, codes %v, want %s: %s", x.status, x.codes(), code, x.raw)
	}
}

func (x limitReply) wantNo(t *testing.T, code string) {
	t.Helper()
	if slices.Contains(x.codes(), code) {
		t.Errorf("status %d, want no %s: %s", x.status, code, x.raw)
	}
}

// nested is a query depth fields deep: viewer, patients, then appointment
// pages and their patient in turn, spread through a fragment or an inline
// fragment after the second field when how says so.
func nested(depth int, how string) string {
	path := []string{"viewer", "patients"}
	for len(path) < depth-1 {
		path = append(path, "appointments(first: 1)", "edges", "node", "patient")
	}
	path = path[:depth-1]
	leaf := map[string]string{"edges": "cursor", "appointments(first: 1)": "totalCount"}[path[len(path)-1]]
	if leaf == "" {
		leaf = "id"
	}
	inner := strings.Join(path[2:], " { ") + " { " + leaf + strings.Repeat(" }", len(path)-2)
	switch how {
	case "fragment":
		return "query { viewer { patients { ...P } } }\nfragment P on Patient { " + inner + " }"
	case "inline":
		return "{ viewer { patients { ... on Patient { " + inner + " } } } }"
	}
	return "{ viewer { patients { " + inner + " } } }"
}

func TestQueryDepthIsAtMost12(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name  string
		query string
		limit bool
	}{
		{"12 fields deep runs", nested(12, ""), false},
		{"13 fields deep is refused", nested(13, ""), true},
		{"12 fields deep through a fragment runs", nested(12, "fragment"), false},
		{"a fragment counts where it is spread", nested(13, "fragment"), true},
		{"an inline fragment counts", nested(13, "inline"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := e.postBody(map[string]any{"query": c.query}, http.Header{"Accept": {"application/graphql-response+json"}})
			if !c.limit {
				if len(res.Errors) > 0 {
					t.Errorf("%s", res.raw)
				}
				return
			}
			res.wantCode(t, "QUERY_LIMIT_EXCEEDED")
			if len(res.Errors) > 0 && res.Errors[0].Extensions["limit"] != "depth" {
				t.Errorf("limit %v, want depth", res.Errors[0].Extensions["limit"])
			}
			if res.status != http.StatusBadRequest || len(res.Data) > 0 && string(res.Data) != "null" {
				t.Errorf("status %d, data %s: want 400 and no data", res.status, res.Data)
			}
		})
	}
}

func TestQueryComplexityIsAtMost1000(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	owner := e.signIn(f.Alice.Email, fixturePassword)
	nestedPages := `query($p: ID!, $n: Int) { patient(id: $p) {
	  appointments(first: $n) { edges { node { patient { letters(first: $n) { edges { node { id title } } } } } } } } }`
	for _, c := range []struct {
		name  string
		query string
		pages int
		limit bool
	}{
		{"the dashboard runs", dashboardQuery, 0, false},
		{"nested pages of 10 run", nestedPages, 10, false},
		{"nested pages of 100 are refused", nestedPages, 100, true},
		{"nested default pages of 20 run", nestedPages, 0, false},
		{"six lists of 100 are refused", "query($p: ID!) { patient(id: $p) { " +
			"a0: appointments(first: 100) { edges { node { id } } } a1: letters(first: 100) { edges { node { id } } } a2: allergies(first: 100) { edges { node { id } } } " +
			"a3: results(first: 100) { edges { node { id } } } a4: encounters(first: 100) { edges { node { id } } } a5: symptoms(first: 100) { edges { node { id } } } } }", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]any{"p": string(f.Alice.PatientID), "patient": string(f.Alice.PatientID), "now": e.clock.Now().Format(time.RFC3339)}
			if c.pages > 0 {
				vars["n"] = c.pages
			}
			body := map[string]any{"query": c.query, "variables": vars}
			res := e.postBody(body, http.Header{"Authorization": {"Bearer " + owner}})
			if !c.limit {
				if len(res.Errors) > 0 {
					t.Errorf("%s", res.raw)
				}
				return
			}
			res.wantCode(t, "QUERY_LIMIT_EXCEEDED")
			if len(res.Errors) > 0 && (res.Errors[0].Extensions["limit"] != "complexity" || res.Errors[0].Extensions["max"] != 1000.0) {
				t.Errorf("extensions %v, want complexity with max 1000", res.Errors[0].Extensions)
			}
		})
	}
}

func TestAtMost20AliasesAnd10Operations(t *testing.T) {
	e := newEnv(t)
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			fmt.Fprintf(&b, " a%d: __typename", i)
		}
		return b.String() + " }"
	}
	operations := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "query Q%d { __typename }\n", i)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, query, limit string
	}{
		{"20 aliases run", aliases(20), ""},
		{"21 aliases are refused", aliases(21), "aliases"},
		{"a document of 10 operations runs one", operations(10), ""},
		{"a document of 11 operations is refused", operations(11), "operations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := map[string]any{"query": c.query}
			if strings.HasPrefix(c.query, "query Q0") {
				body["operationName"] = "Q0"
			}
			res := e.postBody(body, nil)
			if c.limit == "" {
				if len(res.Errors) > 0 {
					t.Errorf("%s", res.raw)
				}
				return
			}
			res.wantCode(t, "QUERY_LIMIT_EXCEEDED")
			if len(res.Errors) > 0 && res.Errors[0].Extensions["limit"] != c.limit {
				t.Errorf("limit %v, want %s", res.Errors[0].Extensions["limit"], c.limit)
			}
		})
	}
	t.Run("a JSON array of operations (a batch) is refused", func(t *testing.T) {
		req := e.request("{ __typename }", nil)
		req.Body = io.NopCloser(strings.NewReader(`[{"query": "{ __typename }"}, {"query": "{ __typename }"}]`))
		req.ContentLength = -1
		res, err := e.server.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		x := limitReply{status: res.StatusCode}
		if err := json.NewDecoder(res.Body).Decode(&x.gqlResponse); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if x.status != http.StatusBadRequest {
			t.Errorf("status %d, want 400", x.status)
		}
		x.wantCode(t, "BAD_REQUEST")
	})
}

func TestRequestBodyIsAtMost1MB(t *testing.T) {
	e := newEnv(t)
	// A valid document padded with a comment, so that only its size can
	// refuse it.
	body := func(total int) []byte {
		prefix, suffix := `{"query": "{ __typename } #`, `"}`
		return []byte(prefix + strings.Repeat("x", total-len(prefix)-len(suffix)) + suffix)
	}
	for _, c := range []struct {
		name    string
		size    int
		chunked bool
		refused bool
	}{
		{"1 MB runs", 1 << 20, false, false},
		{"1 MB and a byte is refused with 413", 1<<20 + 1, false, true},
		{"1 MB and a byte sent chunked is refused with 413", 1<<20 + 1, true, true},
		{"a chunked body under 1 MB runs", 1 << 10, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.server.URL+"/query", bytes.NewReader(body(c.size)))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if c.chunked {
				req.Body = io.NopCloser(bytes.NewReader(body(c.size)))
				req.ContentLength = -1
			}
			res := e.sendRaw(req)
			if !c.refused {
				if res.status != http.StatusOK || len(res.Errors) > 0 {
					t.Errorf("status %d: %.200s", res.status, res.raw)
				}
				return
			}
			if res.status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", res.status)
			}
			res.wantCode(t, "REQUEST_TOO_LARGE")
		})
	}
	t.Run("a multipart upload keeps its own bound", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("operations", `{"query": "{ __typename }", "variables": {}}`)
		_ = mw.WriteField("map", `{}`)
		fw, _ := mw.CreateFormFile("0", "letter.pdf")
		_, _ = fw.Write(bytes.Repeat([]byte("%PDF"), 1<<19)) // 2 MB
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, e.server.URL+"/query", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res := e.sendRaw(req)
		if res.status == http.StatusRequestEntityTooLarge {
			t.Errorf("a 2 MB upload was refused: %s", res.raw)
		}
		res.wantNo(t, "REQUEST_TOO_LARGE")
	})
}

func TestRateLimitsPerAddressAndPerViewer(t *testing.T) {
	t.Run("an address over its rate gets 429 with Retry-After until its bucket refills", func(t *testing.T) {
		e := newEnvWith(t, func(string) config.Config {
			return config.Config{AddressRate: 1, AddressBurst: 3}
		})
		query := map[string]any{"query": "{ __typename }"}
		for i := range 3 {
			if res := e.postBody(query, nil); res.status != http.StatusOK {
				t.Fatalf("request %d of the burst: %d %s", i+1, res.status, res.raw)
			}
		}
		res := e.postBody(query, nil)
		if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") != "1" {
			t.Errorf("status %d, Retry-After %q: want 429 and 1", res.status, res.header.Get("Retry-After"))
		}
		res.wantCode(t, "RATE_LIMITED")
		e.clock.Advance(time.Second)
		if res := e.postBody(query, nil); res.status != http.StatusOK {
			t.Errorf("a second later: %d %s", res.status, res.raw)
		}
	})

	t.Run("behind a trusted proxy each client has its own budget, and a forged entry does not help", func(t *testing.T) {
		e := newEnvWith(t, func(string) config.Config {
			return config.Config{AddressRate: 1, AddressBurst: 1, TrustedProxyHeader: "X-Forwarded-For"}
		})
		query := map[string]any{"query": "{ __typename }"}
		from := func(xff string) int {
			return e.postBody(query, http.Header{"X-Forwarded-For": {xff}}).status
		}
		if s := from("203.0.113.7"); s != http.StatusOK {
			t.Fatalf("first client: %d", s)
		}
		if s := from("203.0.113.8"); s != http.StatusOK {
			t.Errorf("second client: %d, want its own budget", s)
		}
		if s := from("198.51.100.1, 203.0.113.7"); s != http.StatusTooManyRequests {
			t.Errorf("first client with a forged first entry: %d, want 429", s)
		}
		if s := from("2001:db8:1:2::1"); s != http.StatusOK {
			t.Errorf("an IPv6 client: %d", s)
		}
		if s := from("2001:db8:1:2::99"); s != http.StatusTooManyRequests {
			t.Errorf("the same IPv6 /64: %d, want 429", s)
		}
	})

	t.Run("a viewer over its rate is refused from every address", func(t *testing.T) {
		e := newEnvWith(t, func(string) config.Config {
			return config.Config{ViewerRate: 1, ViewerBurst: 2, TrustedProxyHeader: "X-Forwarded-For"}
		})
		f := seed(t, e.store.Client, 1, e.clock.Now())
		token := e.signIn(f.Alice.Email, fixturePassword)
		query := map[string]any{"query": "{ viewer { account { id } } }"}
		for i, addr := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
			res := e.postBody(query, http.Header{"Authorization": {"Bearer " + token}, "X-Forwarded-For": {addr}})
			if want := i < 2; want != (res.status == http.StatusOK) {
				t.Errorf("request %d from %s: %d %s", i+1, addr, res.status, res.raw)
			}
			if i == 2 {
				res.wantCode(t, "RATE_LIMITED")
			}
		}
		if res := e.postBody(map[string]any{"query": "{ __typename }"}, nil); res.status != http.StatusOK {
			t.Errorf("signed out from the same address: %d", res.status)
		}
	})
}

func TestProductionModeHidesTheSchema(t *testing.T) {
	prod := newEnvWith(t, func(string) config.Config { return config.Config{Production: true} })
	dev := newEnv(t)
	introspection := []string{
		`{ __schema { types { name } } }`,
		`{ __type(name: "Patient") { fields { name } } }`,
		`query { viewer { account { id } } ...S } fragment S on Query { __schema { queryType { name } } }`,
	}
	for _, q := range introspection {
		prod.postBody(map[string]any{"query": q}, nil).wantCode(t, "INTROSPECTION_DISABLED")
		if res := dev.postBody(map[string]any{"query": q}, nil); len(res.Errors) > 0 {
			t.Errorf("development: %s", res.raw)
		}
	}
	if res := prod.postBody(map[string]any{"query": `{ __typename }`}, nil); len(res.Errors) > 0 {
		t.Errorf("__typename in production: %s", res.raw)
	}
	misspelt := map[string]any{"query": `{ viewr { account { id } } }`}
	res := prod.postBody(misspelt, nil)
	res.wantCode(t, "GRAPHQL_VALIDATION_FAILED")
	if strings.Contains(string(res.raw), "Did you mean") || strings.Contains(string(res.raw), `\"viewer\"`) {
		t.Errorf("production suggests a field: %s", res.raw)
	}
	if res := dev.postBody(misspelt, nil); !strings.Contains(string(res.raw), "Did you mean") {
		t.Errorf("development without a suggestion: %s", res.raw)
	}
}

func TestPersistedQueries(t *testing.T) {
	const doc = `query Me { viewer { account { id } } }`
	sum := sha256.Sum256([]byte(doc))
	hash := hex.EncodeToString(sum[:])
	byHash := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	withText := map[string]any{"query": doc, "extensions": byHash["extensions"]}

	t.Run("automatic: a hash is answered once the document has been sent with it", func(t *testing.T) {
		e := newEnv(t)
		e.postBody(byHash, nil).wantCode(t, "PERSISTED_QUERY_NOT_FOUND")
		if res := e.postBody(withText, nil); len(res.Errors) > 0 {
			t.Fatalf("%s", res.raw)
		}
		if res := e.postBody(byHash, nil); len(res.Errors) > 0 || string(res.Data) != `{"viewer":null}` {
			t.Errorf("%s", res.raw)
		}
		wrong := map[string]any{"query": "{ __typename }", "extensions": byHash["extensions"]}
		e.postBody(wrong, nil).wantCode(t, "BAD_USER_INPUT")
	})

	t.Run("allow-list: only registered documents run, by hash or by text", func(t *testing.T) {
		list := filepath.Join(t.TempDir(), "operations.json")
		raw, _ := json.Marshal(map[string]string{hash: doc})
		if err := os.WriteFile(list, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		e := newEnvWith(t, func(string) config.Config { return config.Config{OperationsAllowlist: list} })
		f := seed(t, e.store.Client, 1, e.clock.Now())
		for name, body := range map[string]map[string]any{"by hash": byHash, "by text": {"query": doc}, "both": withText} {
			if res := e.postBody(body, nil); len(res.Errors) > 0 {
				t.Errorf("%s: %s", name, res.raw)
			}
		}
		ctx := access.SystemContext(context.Background())
		before := e.store.Client.Session.Query().CountX(ctx)
		signIn := map[string]any{"query": signInMutation, "variables": map[string]any{"email": f.Alice.Email, "password": fixturePassword}}
		res := e.postBody(signIn, http.Header{"Accept": {"application/graphql-response+json"}})
		res.wantCode(t, "OPERATION_NOT_ALLOWED")
		if res.status != http.StatusBadRequest || string(res.Data) != "" && string(res.Data) != "null" {
			t.Errorf("status %d, data %s", res.status, res.Data)
		}
		if after := e.store.Client.Session.Query().CountX(ctx); after != before {
			t.Errorf("sessions %d before, %d after a refused sign-in", before, after)
		}
		other := sha256.Sum256([]byte(signInMutation))
		e.postBody(map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(other[:])}}}, nil).
			wantCode(t, "PERSISTED_QUERY_NOT_FOUND")
		// Sending a document with its hash does not register it.
		e.postBody(map[string]any{"query": signInMutation, "variables": signIn["variables"],
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(other[:])}}}, nil).
			wantCode(t, "OPERATION_NOT_ALLOWED")
	})

	t.Run("an allow-list whose hash does not match its document stops the server", func(t *testing.T) {
		list := filepath.Join(t.TempDir(), "operations.json")
		raw, _ := json.Marshal(map[string]string{hash: doc + " "})
		if err := os.WriteFile(list, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		st := storetest.Open(t)
		if _, err := app.New(st.Client, config.Config{OperationsAllowlist: list}, nil); err == nil {
			t.Error("started with a bad allow-list")
		}
	})
}

func TestQueriesAndMutationsHaveADeadline(t *testing.T) {
	e := newEnvWith(t, func(string) config.Config { return config.Config{RequestTimeout: time.Nanosecond} })
	f := seed(t, e.store.Client, 1, e.clock.Now())
	res := e.post("", signInMutation, map[string]any{"email": f.Alice.Email, "password": fixturePassword})
	if !slices.Contains(res.codes(), "TIMEOUT") {
		t.Errorf("codes %v, want TIMEOUT: %s", res.codes(), res.raw)
	}
	ctx := access.SystemContext(context.Background())
	if n := e.store.Client.Session.Query().CountX(ctx); n != 0 {
		t.Errorf("%d sessions after a sign-in past its deadline", n)
	}
}

func TestRateLimitsCountEachOperationOverAWebsocket(t *testing.T) {
	// run sends a query over s as id and returns its error code: "" when
	// it was answered.
	run := func(t *testing.T, s *socket, id string) string {
		t.Helper()
		s.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "{ viewer { account { id } } }"}})
		for {
			m := s.next(5 * time.Second)
			if m == nil {
				t.Fatalf("no answer to %s", id)
			}
			if m["id"] != id {
				continue
			}
			if m["type"] != "next" {
				t.Fatalf("%s answered %v", id, m)
			}
			payload, _ := m["payload"].(map[string]any)
			data, _ := payload["data"].(map[string]any)
			if errs, _ := payload["errors"].([]any); len(errs) > 0 {
				if len(errs) != 1 || data != nil {
					t.Fatalf("%s: %v, want one error and no data", id, m)
				}
				ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
				code, _ := ext["code"].(string)
				return code
			}
			if v, _ := data["viewer"].(map[string]any); v == nil {
				t.Fatalf("%s answered without the viewer: %v", id, m)
			}
			return ""
		}
	}

	t.Run("a viewer's operations over a websocket spend its bucket", func(t *testing.T) {
		e := newEnvWith(t, func(string) config.Config { return config.Config{ViewerRate: 1, ViewerBurst: 3} })
		f := seed(t, e.store.Client, 1, e.clock.Now())
		s := e.subscribe(t, e.signIn(f.Alice.Email, fixturePassword)) // the subscription is the first
		for _, id := range []string{"q1", "q2"} {
			if code := run(t, s, id); code != "" {
				t.Fatalf("%s within the burst: %s", id, code)
			}
		}
		if code := run(t, s, "q3"); code != "RATE_LIMITED" {
			t.Fatalf("the fourth operation of a burst of 3: %q, want RATE_LIMITED", code)
		}
		e.clock.Advance(time.Second)
		if code := run(t, s, "q4"); code != "" {
			t.Fatalf("a second later, on the same connection: %s", code)
		}
	})

	t.Run("an address's operations over a websocket spend its bucket, signed in or not", func(t *testing.T) {
		e := newEnvWith(t, func(string) config.Config { return config.Config{AddressRate: 1, AddressBurst: 4} })
		f := seed(t, e.store.Client, 1, e.clock.Now())
		s := e.subscribe(t, e.signIn(f.Alice.Email, fixturePassword))
		answered := 0
		for i := range 5 {
			code := run(t, s, fmt.Sprintf("q%d", i))
			if code == "RATE_LIMITED" {
				break
			}
			if code != "" {
				t.Fatalf("q%d: %s", i, code)
			}
			answered++
		}
		// The sign-in, the upgrade and the subscription spent three.
		if answered != 1 {
			t.Fatalf("%d queries answered over the socket with a burst of 4, want 1", answered)
		}
		e.clock.Advance(time.Second)
		if code := run(t, s, "later"); code != "" {
			t.Fatalf("a second later: %s", code)
		}
		if res := e.postBody(map[string]any{"query": "{ __typename }"}, nil); res.status != http.StatusTooManyRequests {
			t.Errorf("an HTTP request from the same address right after: %d, want 429 (the socket spent the token)", res.status)
		}
	})
}
