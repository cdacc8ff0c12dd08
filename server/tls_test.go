package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/server/config"
)

func TestProductionRefusesToStartWithoutTLS(t *testing.T) {
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--database", "sqlite:" + t.TempDir() + "/portal.db", "--production"},
		func(string) string { return "" }, io.Discard, io.Discard)
	if !errors.Is(err, config.ErrInsecureProduction) {
		t.Fatalf("run = %v, want %v", err, config.ErrInsecureProduction)
	}
	if !strings.Contains(err.Error(), "--tls-cert") || !strings.Contains(err.Error(), "--trusted-proxy-header") {
		t.Errorf("the error does not say what to give: %v", err)
	}
}

func TestServesHTTPSWithTheGivenCertificate(t *testing.T) {
	dir := t.TempDir()
	pool := selfSigned(t, dir)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--database", "sqlite:" + dir + "/portal.db", "--production",
			"--tls-cert", filepath.Join(dir, "cert.pem"), "--tls-key", filepath.Join(dir, "key.pem")},
			func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	sc := bufio.NewScanner(pr)
	var url string
	for url == "" && sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "patient portal listening on "); ok {
			url = strings.TrimSuffix(u, "/")
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("listening on %q, want https://127.0.0.1:<port>", url)
	}
	var res *http.Response
	for range 300 {
		r, err := client.Get(url + "/readyz")
		if err == nil && r.StatusCode == http.StatusOK {
			res = r
			break
		}
		if err == nil {
			r.Body.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res == nil {
		t.Fatal("the HTTPS server never became ready")
	}
	res.Body.Close()
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
		t.Errorf("HSTS over TLS = %q", got)
	}
}

// selfSigned writes cert.pem and key.pem for 127.0.0.1 into dir and
// returns a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "portal test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", "CERTIFICATE", der)
	write("key.pem", "EC PRIVATE KEY", keyDER)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
