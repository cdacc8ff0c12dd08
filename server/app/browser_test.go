package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/ent/session"
	"github.com/patientportal/portal/ent/symptom"
	"github.com/patientportal/portal/server/app"
	"github.com/patientportal/portal/server/auth"
	"github.com/patientportal/portal/server/config"
	"github.com/patientportal/portal/server/store/storetest"
)

// The hosts of the browser test. The pages are on the portal's site
// (127.0.0.1, ports apart), as an SPA on app.trust.example calls
// api.trust.example: SameSite=Strict lets the browser send the cookie from
// both pages, so what keeps the unlisted page out is the server's origin
// check and CORS, not the browser's site rule. A page on localhost, another
// site, is checked too: there SameSite alone keeps the cookie back.
const browserHost = "127.0.0.1"

// sightings are the requests the portal saw from the browser.
type sightings struct {
	mu   sync.Mutex
	seen []sighting
	more chan struct{}
}

type sighting struct {
	Method, Origin, ContentType string
	Cookie                      bool
	Status                      int
}

func (s *sightings) record(x sighting) {
	s.mu.Lock()
	s.seen = append(s.seen, x)
	s.mu.Unlock()
	select {
	case s.more <- struct{}{}:
	default:
	}
}

// from returns what came from origin.
func (s *sightings) from(origin string) []sighting {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sighting
	for _, x := range s.seen {
		if x.Origin == origin {
			out = append(out, x)
		}
	}
	return out
}

// count is how many requests have been seen.
func (s *sightings) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// waitFor waits until a request matching ok has been seen, after the first
// after requests.
func (s *sightings) waitFor(t *testing.T, what string, after int, ok func(sighting) bool) sighting {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		seen := slices.Clone(s.seen[after:])
		s.mu.Unlock()
		for _, x := range seen {
			if ok(x) {
				return x
			}
		}
		select {
		case <-s.more:
		case <-deadline:
			t.Fatalf("the portal never saw %s; it saw %+v", what, seen)
		}
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// listen starts a server for h on host at a free port.
func listen(t *testing.T, host string, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return srv, "http://" + host + ":" + port
}

// pageTemplate is the page both origins serve: the SPA's sign-in and
// dashboard with fetch and the cookie, and two cross-site style forms.
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>portal page</title></head><body>
<pre id="out">nothing yet</pre>
<form id="plain" method="POST" action="{{.Portal}}/query" enctype="text/plain" target="sink">
  <input name='{"query":"mutation { signOut }","x":"' value='"}'>
</form>
<form id="urlencoded" method="POST" action="{{.Portal}}/query" target="sink">
  <input name="query" value="{{.Record}}">
  <input name="variables" value="{{.RecordVars}}">
</form>
<iframe name="sink"></iframe>
<script>
const portal = {{.Portal}};
async function gql(query, variables) {
  const res = await fetch(portal + '/query', {
    method: 'POST', credentials: 'include',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({query, variables}),
  });
  return res.json();
}
// run signs in (unless already) and shows the dashboard, with the cookie
// only: the page never sees a token.
async function run(email, password, dashboard) {
  try {
    if (email) {
      const s = await gql('mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p}) { account { id } } }', {e: email, p: password});
      if (s.errors) throw new Error('signIn: ' + JSON.stringify(s.errors));
    }
    const v = await gql('{ viewer { patients { id } } }');
    if (!v.data || !v.data.viewer) throw new Error('no viewer: ' + JSON.stringify(v));
    const d = await gql(dashboard, {patient: v.data.viewer.patients[0].id, now: new Date().toISOString()});
    document.getElementById('out').textContent = JSON.stringify(d);
    return {ok: true, body: JSON.stringify(d)};
  } catch (e) {
    document.getElementById('out').textContent = 'failed: ' + e;
    return {ok: false, error: String(e)};
  }
}
// simple sends the dashboard as text/plain, which needs no preflight:
// the one cross-origin POST a page can make with the cookie from fetch.
async function simple(dashboard, patient) {
  try {
    const res = await fetch(portal + '/query', {method: 'POST', credentials: 'include',
      headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({query: dashboard, variables: {patient, now: new Date().toISOString()}})});
    return {ok: true, body: await res.text()};
  } catch (e) {
    return {ok: false, error: String(e)};
  }
}
</script></body></html>`))

type pageResult struct {
	OK    bool   `json:"ok"`
	Body  string `json:"body"`
	Error string `json:"error"`
}

func TestBrowser(t *testing.T) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs Debian's chromium (apt-get install chromium); CI installs it")
	}
	st := storetest.Open(t)
	now := time.Now().UTC()
	f := seed(t, st.Client, 3, now)

	// The portal, with every request it sees from a browser recorded.
	seen := &sightings{more: make(chan struct{}, 1)}
	var handler http.Handler
	_, portal := listen(t, browserHost, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		handler.ServeHTTP(sw, r)
		if r.URL.Path == "/query" {
			_, err := r.Cookie(auth.CookieName)
			seen.record(sighting{Method: r.Method, Origin: r.Header.Get("Origin"), ContentType: r.Header.Get("Content-Type"), Cookie: err == nil, Status: sw.status})
		}
	}))

	// Two page servers on the portal's site, one listed; one on another site.
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars, _ := json.Marshal(map[string]any{"input": map[string]any{"patientId": f.Alice.PatientID, "name": "Headache",
			"severity": 3, "occurredAt": now.Format(time.RFC3339)}})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = pageTemplate.Execute(w, map[string]any{"Portal": portal,
			"Record": `mutation($input: RecordSymptomInput!) { recordSymptom(input: $input) { id } }`, "RecordVars": string(vars)})
	})
	_, allowed := listen(t, browserHost, pages)
	_, unlisted := listen(t, browserHost, pages)
	_, otherSite := listen(t, "localhost", pages)

	a, err := app.New(st.Client, config.Config{AllowedOrigins: []string{allowed}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.SetReady()
	handler = a

	ctx := chromium(t, path)
	dashboard, _ := json.Marshal(dashboardQuery)
	runPage := func(origin, email, password string) pageResult {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
			t.Fatalf("%s: %v", origin, err)
		}
		res, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](
			fmt.Sprintf("run(%q, %q, %s)", email, password, dashboard), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", origin, err)
		}
		return res
	}

	t.Run("a page from the listed origin signs in with the cookie and shows the dashboard", func(t *testing.T) {
		res := runPage(allowed, f.Alice.Email, fixturePassword)
		if !res.OK || !strings.Contains(res.Body, `"givenName":"Alice"`) || !strings.Contains(res.Body, `"appointments"`) {
			t.Fatalf("dashboard: %+v", res)
		}
		shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("out")))
		if err != nil || !strings.Contains(shown, "Alice") {
			t.Errorf("the page shows %q (%v)", shown, err)
		}
		// The session is an HttpOnly cookie the page cannot read.
		visible, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
		if err != nil || strings.Contains(visible, auth.CookieName) {
			t.Errorf("document.cookie = %q (%v)", visible, err)
		}
		withCookie := 0
		for _, x := range seen.from(allowed) {
			if x.Method == http.MethodPost && x.Cookie {
				withCookie++
			}
		}
		if withCookie < 2 {
			t.Errorf("the dashboard did not travel with the cookie: %+v", seen.from(allowed))
		}
	})

	t.Run("the same page from an unlisted origin of the same site gets nothing", func(t *testing.T) {
		res := runPage(unlisted, "", "")
		if res.OK || strings.Contains(res.Body+res.Error, "Alice") {
			t.Fatalf("the unlisted origin read: %+v", res)
		}
		// Its preflight was refused, so no JSON request followed.
		for _, x := range seen.from(unlisted) {
			if x.Method == http.MethodPost {
				t.Errorf("a JSON POST got past the preflight: %+v", x)
			}
		}
		if len(seen.from(unlisted)) == 0 {
			t.Error("no preflight reached the portal: the test proves nothing")
		}
		// A text/plain POST needs no preflight: the browser sends it with the
		// cookie (same site), and the page still reads nothing.
		simple, err := chromedp.Run(ctx, chromedp.Evaluate[pageResult](
			fmt.Sprintf("simple(%s, %q)", dashboard, f.Alice.PatientID), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if simple.OK || strings.Contains(simple.Body, "Alice") {
			t.Errorf("a simple request read: %+v", simple)
		}
		x := seen.waitFor(t, "the simple request", 0, func(x sighting) bool {
			return x.Origin == unlisted && x.Method == http.MethodPost && strings.HasPrefix(x.ContentType, "text/plain")
		})
		if !x.Cookie {
			t.Errorf("the browser did not send the cookie, so this proves only SameSite: %+v", x)
		}
		if x.Status != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain POST answered %d", x.Status)
		}
	})

	t.Run("a page from another site gets nothing either", func(t *testing.T) {
		if res := runPage(otherSite, "", ""); res.OK || strings.Contains(res.Body+res.Error, "Alice") {
			t.Errorf("another site read: %+v", res)
		}
	})

	t.Run("cross-site form posts change nothing", func(t *testing.T) {
		sys := access.SystemContext(context.Background())
		symptoms := func() int {
			n, err := st.Client.Symptom.Query().Where(symptom.PatientID(f.Alice.PatientID)).Count(sys)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		live := func() int {
			n, err := st.Client.Session.Query().Where(session.AccountID(f.Alice.AccountID), session.EndedAtIsNil()).Count(sys)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		beforeSymptoms, beforeSessions := symptoms(), live()
		for _, origin := range []string{unlisted, otherSite} {
			for _, form := range []string{"plain", "urlencoded"} {
				n := seen.count()
				if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/"),
					chromedp.Evaluate[chromedp.Void](fmt.Sprintf("document.getElementById(%q).submit()", form))); err != nil {
					t.Fatal(err)
				}
				x := seen.waitFor(t, "the "+form+" form post from "+origin, n, func(x sighting) bool {
					return x.Origin == origin && x.Method == http.MethodPost
				})
				if x.Status != http.StatusUnsupportedMediaType {
					t.Errorf("%s form from %s answered %d", form, origin, x.Status)
				}
				if origin == unlisted && !x.Cookie {
					t.Errorf("the same-site form post went without the cookie, so this proves only SameSite: %+v", x)
				}
				if origin == otherSite && x.Cookie {
					t.Errorf("a cross-site form post carried the SameSite=Strict cookie: %+v", x)
				}
			}
		}
		if got := symptoms(); got != beforeSymptoms {
			t.Errorf("a form post recorded a symptom: %d -> %d", beforeSymptoms, got)
		}
		if got := live(); got != beforeSessions || got == 0 {
			t.Errorf("a form post signed the patient out: live sessions %d -> %d", beforeSessions, got)
		}
		// And the listed page still works with the same cookie.
		if res := runPage(allowed, "", ""); !res.OK || !strings.Contains(res.Body, "Alice") {
			t.Errorf("after the form posts the listed page gets %+v", res)
		}
	})

	t.Run("GraphiQL's policy blocks nothing it loads", func(t *testing.T) {
		if err := chromedp.Do(ctx,
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
					Source: `window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`})
				return err
			}),
			chromedp.Navigate(portal+"/")); err != nil {
			t.Fatal(err)
		}
		violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__csp`))
		if err != nil {
			t.Fatal(err)
		}
		// Without internet the scripts on jsDelivr fail to load, which is
		// no violation; with it, GraphiQL runs and must break no rule either.
		for _, v := range violations {
			t.Errorf("GraphiQL's policy blocks what it needs: %s", v)
		}
	})
}

// chromium starts a headless Chromium with a fresh profile.
func chromium(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Containers give /dev/shm 64 MB, which Chromium fills.
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}
