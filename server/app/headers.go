package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/rs/cors"
)

// Security headers every response carries.
const (
	// framePolicy keeps every page out of frames (clickjacking).
	framePolicy = "frame-ancestors 'none'"
	// hsts pins browsers to HTTPS for two years, subdomains included.
	hsts = "max-age=63072000; includeSubDomains"
)

// securityHeaders sets the headers every response carries. behindProxy
// says a trusted proxy terminates TLS and reports the scheme it was
// reached by in X-Forwarded-Proto.
func securityHeaders(next http.Handler, behindProxy bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", framePolicy)
		// Everything here is about someone's health: no cache keeps it,
		// in the browser or on the way.
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil || (behindProxy && forwardedHTTPS(r)) {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedHTTPS reports whether the proxy was reached over HTTPS: the
// first X-Forwarded-Proto entry is the client's side of the first proxy.
func forwardedHTTPS(r *http.Request) bool {
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// corsFor lets exactly the listed origins read API responses from a
// browser, with credentials. rs/cors reads an empty list as "every
// origin", so the list is matched here, exactly: none listed, none allowed.
func corsFor(origins []string) *cors.Cors {
	return cors.New(cors.Options{
		AllowOriginFunc:  func(origin string) bool { return slices.Contains(origins, origin) },
		AllowedMethods:   []string{http.MethodGet, http.MethodPost},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Accept"},
		AllowCredentials: true,
		MaxAge:           600,
	})
}

// inlineScript finds GraphiQL's inline bootstrap script.
var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// graphiQL serves the development GraphiQL page under a policy that lets
// it load and nothing more: gqlgen pins React and GraphiQL on jsDelivr with
// subresource integrity, its inline bootstrap script is allowed by hash,
// GraphiQL injects style attributes, and it queries this origin only.
func graphiQL() http.Handler {
	page := playground.Handler("Patient portal", "/query")
	rec := &recorder{header: http.Header{}}
	page.ServeHTTP(rec, &http.Request{Method: http.MethodGet})
	sources := []string{"https://cdn.jsdelivr.net"}
	for _, m := range inlineScript.FindAllSubmatch(rec.body.Bytes(), -1) {
		sum := sha256.Sum256(m[1])
		sources = append(sources, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	policy := strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(sources, " "),
		"style-src https://cdn.jsdelivr.net 'unsafe-inline'",
		"font-src https://cdn.jsdelivr.net data:",
		"img-src 'self' data: https://cdn.jsdelivr.net",
		"connect-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		framePolicy,
	}, "; ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		page.ServeHTTP(w, r)
	})
}

// recorder captures the GraphiQL page once, at start-up, to hash its
// inline script.
type recorder struct {
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(int)             {}
