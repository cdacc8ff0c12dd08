package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/server/store/storetest"
)

// started is a server run in the background, with the lines it printed.
type started struct {
	url   string
	lines []string
	done  chan error
	stop  context.CancelFunc
}

// start runs the server command and waits for it to report ready.
func start(t *testing.T, args ...string) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{done: make(chan error, 1), stop: cancel}
	// Emails and documents go to the test's folders, not the package's.
	env := map[string]string{"PORTAL_OUTBOX_DIR": t.TempDir(), "PORTAL_BLOB_DIR": t.TempDir()}
	go func() {
		s.done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited: %v (printed %q)", <-s.done, s.lines)
			}
			s.lines = append(s.lines, line)
			if u, found := strings.CutPrefix(line, "patient portal listening on "); found {
				s.url = strings.TrimSuffix(u, "/")
			}
		case <-deadline:
			t.Fatalf("server not ready; printed %q", s.lines)
		case <-time.After(20 * time.Millisecond):
			if s.url != "" && get(s.url+"/readyz") == http.StatusOK {
				go func() {
					for range lines {
					}
				}()
				return s
			}
		}
	}
}

func get(url string) int {
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

var demoLine = regexp.MustCompile(`^demo (organisation .+ ODS code: [A-Z0-9]+|(patient|carer|clinician|admin|privacy-officer|paramedic|analyst|researcher) \S+@\S+ password: \S{10,})$`)

func TestServeCreatesMigratesAndFillsTheEmbeddedStore(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/portal.db"
	s := start(t, "--database", db)
	demo := s.lines[1:]
	if len(demo) < 5 {
		t.Fatalf("printed %q", s.lines)
	}
	for _, l := range demo {
		if !demoLine.MatchString(l) {
			t.Errorf("demo line %q is not in the clients' format", l)
		}
	}
	if get(s.url+"/healthz") != http.StatusOK {
		t.Error("healthz")
	}
	if get(s.url+"/") != http.StatusOK {
		t.Error("development mode serves GraphiQL at /")
	}
	s.stop()
	if err := <-s.done; err != nil {
		t.Fatal(err)
	}
	s.done <- nil

	// A restart keeps the data and prints the same sign-ins again.
	again := start(t, "--database", db)
	if strings.Join(again.lines[1:], "\n") != strings.Join(demo, "\n") {
		t.Errorf("restart printed %q, first start %q", again.lines[1:], demo)
	}
}

func TestProductionModeHasNoGraphiQLNorIntrospection(t *testing.T) {
	s := start(t, "--database", "sqlite:"+t.TempDir()+"/portal.db", "--production", "--trusted-proxy-header", "X-Forwarded-For")
	if code := get(s.url + "/"); code != http.StatusNotFound {
		t.Errorf("GET / = %d in production", code)
	}
	res, err := http.Post(s.url+"/query", "application/json", strings.NewReader(`{"query":"{ __schema { types { name } } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "Patient") || !strings.Contains(string(body), `"code":"INTROSPECTION_DISABLED"`) {
		t.Errorf("introspection answered in production: %s", body)
	}
}

func TestMySQLStoreMustBeMigratedExplicitly(t *testing.T) {
	dsn := os.Getenv(storetest.EnvMySQLDSN)
	if dsn == "" {
		t.Skipf("needs a MySQL server: set %s (CI sets it)", storetest.EnvMySQLDSN)
	}
	url := storetest.MySQLURL(t, dsn)
	noenv := func(string) string { return "" }
	err := run(context.Background(), []string{"--database", url, "--addr", "127.0.0.1:0"}, noenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("serve on an unmigrated MySQL store: %v", err)
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"migrate", "--database", url}, noenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := start(t, "--database", url)
	if len(s.lines) != 1 {
		t.Errorf("demo data loaded silently into MySQL: %q", s.lines)
	}
}

func TestAPIKeyCommandMakesListsAndRevokesKeys(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/portal.db"
	s := start(t, "--database", db)
	var ods string
	for _, l := range s.lines {
		if _, code, ok := strings.Cut(l, " ODS code: "); ok && strings.HasPrefix(l, "demo organisation") {
			ods = code
		}
	}
	noenv := func(string) string { return "" }
	command := func(args ...string) []string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"apikey", "--database", db}, args...), noenv, &out, io.Discard); err != nil {
			t.Fatalf("apikey %v: %v", args, err)
		}
		return strings.Split(strings.TrimSpace(out.String()), "\n")
	}
	post := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/fhir/r4", strings.NewReader(`{"resourceType": "Bundle", "type": "batch", "entry": []}`))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	out := command("--org", strings.ToLower(ods))
	key := out[len(out)-1]
	if !strings.HasPrefix(key, "ppk_") || strings.Contains(key, " ") {
		t.Fatalf("the last line is not the key alone: %q", out)
	}
	if code := post(key); code != http.StatusOK {
		t.Fatalf("the new key was refused: %d", code)
	}
	listed := command("--org", ods, "--list")
	if len(listed) != 1 || !strings.Contains(listed[0], key[:10]) || strings.Contains(listed[0], key) || !strings.HasSuffix(listed[0], "live") {
		t.Fatalf("list: %q", listed)
	}
	id := strings.Fields(listed[0])[0]
	command("--org", ods, "--revoke", id)
	if code := post(key); code != http.StatusUnauthorized {
		t.Errorf("a revoked key answered %d", code)
	}
	if err := run(context.Background(), []string{"apikey", "--database", db, "--org", "NOPE1"}, noenv, io.Discard, io.Discard); err == nil {
		t.Error("a key was made for an unknown organisation")
	}
}

// The portal collects garbage at GOGC 400 unless the operator set GOGC, in
// which case the runtime has read it and the portal leaves it alone.
func TestGCTargetIsTheOperatorsOrFourHundred(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	db := "sqlite:" + t.TempDir() + "/gc.db"
	for _, c := range []struct {
		gogc string
		want int
	}{{"", defaultGCPercent}, {"150", 150}} {
		debug.SetGCPercent(150) // as the runtime would have from GOGC=150
		env := func(k string) string {
			if k == "GOGC" {
				return c.gogc
			}
			return ""
		}
		if err := run(context.Background(), []string{"migrate", "--database", db}, env, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if got := debug.SetGCPercent(150); got != c.want {
			t.Errorf("GOGC=%q: collecting at %d, want %d", c.gogc, got, c.want)
		}
	}
}
