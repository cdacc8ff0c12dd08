package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// auditDir holds the graphql-http audit: package.json, its lock file and
// audit.mjs; `npm ci` there installs it (.ci/run does).
const auditDir = "../.ci/graphql-http"

// TestGraphQLOverHTTPAudit runs the graphql-http package's server audit
// (the GraphQL-over-HTTP spec's MUSTs, SHOULDs and MAYs) against the
// server as `go run ./server` starts it, signed out. Every MUST and every
// SHOULD has to pass; MAYs are reported.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("needs Node.js (node) for the graphql-http audit; CI has it")
	}
	if _, err := os.Stat(filepath.Join(auditDir, "node_modules", "graphql-http")); err != nil {
		t.Skipf("needs graphql-http installed: run `npm ci --prefix %s` (.ci/run does)", strings.TrimPrefix(auditDir, "../"))
	}
	s := start(t, "--database", "sqlite:"+t.TempDir()+"/portal.db")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "audit.mjs", s.url+"/query")
	cmd.Dir = auditDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	var seen int
	for sc.Scan() {
		var r struct {
			ID, Name, Status, Reason string
			Total                    int
		}
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			continue
		}
		t.Log(sc.Text())
		switch {
		case r.Total > 0:
			seen = r.Total
		case r.Status != "ok" && !strings.HasPrefix(r.Name, "MAY"):
			t.Errorf("%s %s: %s", r.ID, r.Name, r.Reason)
		}
	}
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, stderr.String())
	}
	if seen == 0 {
		t.Fatalf("the audit reported nothing:\n%s\n%s", out, stderr.String())
	}
}
