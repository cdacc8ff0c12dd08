package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// exchange is one raw HTTP exchange with /query.
type exchange struct {
	status      int
	contentType string
	header      http.Header
	body        map[string]json.RawMessage
	raw         string
}

func (e *testEnv) do(method, path, contentType, accept, token, body string) exchange {
	e.t.Helper()
	req, err := http.NewRequest(method, e.server.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.server.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	x := exchange{status: res.StatusCode, contentType: res.Header.Get("Content-Type"), header: res.Header, raw: string(b)}
	_ = json.Unmarshal(b, &x.body)
	return x
}

func (x exchange) code() string {
	var errs []gqlError
	_ = json.Unmarshal(x.body["errors"], &errs)
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c
}

func getQuery(q string) string { return "/query?query=" + url.QueryEscape(q) }

func TestGraphQLOverHTTP(t *testing.T) {
	e := newEnv(t)
	f := seed(t, e.store.Client, 1, e.clock.Now())
	token := e.signIn(f.Alice.Email, fixturePassword)
	const (
		js  = "application/json"
		gr  = "application/graphql-response+json"
		doc = `{"query":"{ __typename }"}`
	)

	t.Run("GET runs a query with a bearer token", func(t *testing.T) {
		x := e.do("GET", getQuery(`{ viewer { account { email } } }`), "", "", token, "")
		if x.status != 200 || !strings.Contains(string(x.body["data"]), f.Alice.Email) {
			t.Errorf("%d %s", x.status, x.raw)
		}
	})

	t.Run("GET refuses a mutation with 405, and it does not run", func(t *testing.T) {
		x := e.do("GET", getQuery(`mutation { signOut }`), "", gr, token, "")
		if x.status != http.StatusMethodNotAllowed || x.header.Get("Allow") != "POST" || x.code() != "METHOD_NOT_ALLOWED" {
			t.Errorf("%d Allow=%q %s", x.status, x.header.Get("Allow"), x.raw)
		}
		if got := e.post(token, `{ viewer { account { email } } }`, nil); !strings.Contains(string(got.Data), f.Alice.Email) {
			t.Errorf("the session ended: the mutation ran over GET: %s", got.raw)
		}
	})

	t.Run("the response type follows Accept", func(t *testing.T) {
		for accept, want := range map[string]string{
			"":                                 js,
			"*/*":                              js,
			"application/*":                    js,
			js:                                 js,
			gr:                                 gr,
			gr + ", " + js:                     gr,
			js + ";q=0.9, " + gr:               gr,
			gr + ";q=0.5, " + js:               js,
			"text/html, */*;q=0.8":             js,
			"text/html, " + gr + ";q=0.9, */*": js,
			"text/html, " + js + ";q=0, " + gr: gr,
			gr + "; charset=utf-8, text/plain": gr,
		} {
			x := e.do("POST", "/query", js, accept, "", doc)
			if x.status != 200 || !strings.HasPrefix(x.contentType, want) || string(x.body["data"]) != `{"__typename":"Query"}` {
				t.Errorf("Accept %q: %d %q %s, want %s", accept, x.status, x.contentType, x.raw, want)
			}
		}
	})

	t.Run("nothing acceptable is 406", func(t *testing.T) {
		for _, accept := range []string{"text/html", "application/xml, text/plain", js + ";q=0"} {
			x := e.do("POST", "/query", js, accept, "", doc)
			if x.status != http.StatusNotAcceptable || x.code() != "NOT_ACCEPTABLE" {
				t.Errorf("Accept %q: %d %s", accept, x.status, x.raw)
			}
		}
	})

	t.Run("a body that is not JSON is 415, and a form post changes nothing", func(t *testing.T) {
		form := url.Values{"query": {`mutation { signOut }`}}.Encode()
		for ct, body := range map[string]string{
			"application/x-www-form-urlencoded": form,
			"text/plain":                        `{"query":"mutation { signOut }"}`,
			"multipart/mixed":                   "x",
			"":                                  `{"query":"mutation { signOut }"}`,
			"application/json; charset=latin1":  `{"query":"mutation { signOut }"}`,
		} {
			x := e.do("POST", "/query", ct, "", token, body)
			if x.status != http.StatusUnsupportedMediaType || x.code() != "UNSUPPORTED_MEDIA_TYPE" {
				t.Errorf("Content-Type %q: %d %s", ct, x.status, x.raw)
			}
		}
		if got := e.post(token, `{ viewer { account { email } } }`, nil); !strings.Contains(string(got.Data), f.Alice.Email) {
			t.Errorf("a non-JSON post signed the viewer out: %s", got.raw)
		}
	})

	t.Run("malformed requests are 400", func(t *testing.T) {
		for _, body := range []string{``, `{ "not a JSON`, `[]`, `{"notquery":"{ __typename }"}`, `{"query":1}`,
			`{"query":"{ __typename }","variables":"x"}`, `{"query":"{ __typename }","extensions":[1]}`,
			`{"query":"{ __typename }","operationName":false}`, `{"query":"{ __typename }"} {}`} {
			for _, accept := range []string{js, gr} {
				x := e.do("POST", "/query", js, accept, "", body)
				if x.status != http.StatusBadRequest || x.code() != "BAD_REQUEST" || !strings.HasPrefix(x.contentType, accept) {
					t.Errorf("body %q, Accept %s: %d %q %s", body, accept, x.status, x.contentType, x.raw)
				}
			}
		}
	})

	t.Run("a request error is 400 without data for graphql-response+json, 200 for application/json", func(t *testing.T) {
		for _, body := range []string{
			`{"query":"{"}`,
			`{"query":"{ noSuchField }"}`,
			`{"query":"query($id: ID!) { node(id: $id) { id } }","variables":{"id":null}}`,
		} {
			x := e.do("POST", "/query", js, gr, "", body)
			if _, hasData := x.body["data"]; x.status != http.StatusBadRequest || hasData || x.code() == "" {
				t.Errorf("graphql-response+json, %s: %d %s", body, x.status, x.raw)
			}
			x = e.do("POST", "/query", js, js, "", body)
			if x.status != http.StatusOK || x.code() == "" {
				t.Errorf("application/json, %s: %d %s", body, x.status, x.raw)
			}
		}
	})

	t.Run("an error during execution is 200 with data", func(t *testing.T) {
		x := e.do("POST", "/query", js, gr, "", `{"query":"{ __typename patient(id: \"pt01HZZZZZZZZZZZZZZZZZZZZZZZ\") { id } }"}`)
		if x.status != http.StatusOK || x.body["data"] == nil {
			t.Errorf("%d %s", x.status, x.raw)
		}
	})
}
