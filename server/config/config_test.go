package config_test

import (
	"errors"
	"io"
	"testing"

	"github.com/patientportal/portal/server/config"
)

func TestProductionNeedsTLSOrATrustedProxy(t *testing.T) {
	tests := []struct {
		name    string
		command string
		args    []string
		env     map[string]string
		want    error
	}{
		{name: "production without TLS or a proxy refuses to start", command: "serve",
			args: []string{"--production"}, want: config.ErrInsecureProduction},
		{name: "PORTAL_ENV=production without TLS refuses to start", command: "serve",
			env: map[string]string{"PORTAL_ENV": "production"}, want: config.ErrInsecureProduction},
		{name: "production with a certificate and key starts", command: "serve",
			args: []string{"--production", "--tls-cert", "cert.pem", "--tls-key", "key.pem"}},
		{name: "production with TLS from the environment starts", command: "serve",
			env: map[string]string{"PORTAL_ENV": "production", "PORTAL_TLS_CERT": "cert.pem", "PORTAL_TLS_KEY": "key.pem"}},
		{name: "production behind a proxy that terminates TLS starts", command: "serve",
			args: []string{"--production", "--trusted-proxy-header", "X-Forwarded-For"}},
		{name: "the proxy header from the environment counts", command: "serve",
			env: map[string]string{"PORTAL_ENV": "production", "PORTAL_TRUSTED_PROXY_HEADER": "X-Forwarded-For"}},
		{name: "migrating a production database needs no TLS", command: "migrate",
			args: []string{"--production"}},
		{name: "development needs no TLS", command: "serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(tt.command, tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && c.Production && !c.SecureCookie {
				t.Error("a production session cookie is not Secure")
			}
		})
	}
}

func TestTLSCertificateAndKeyGoTogether(t *testing.T) {
	for _, args := range [][]string{{"--tls-cert", "cert.pem"}, {"--tls-key", "key.pem"}} {
		if _, err := config.Load("serve", args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v alone was accepted", args)
		}
	}
	c, err := config.Load("serve", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, func(k string) string {
		return map[string]string{"PORTAL_TLS_CERT": "env.pem"}[k]
	}, io.Discard)
	if err != nil || c.TLSCert != "c.pem" || c.TLSKey != "k.pem" {
		t.Errorf("flags over environment: %+v %v", c, err)
	}
}

func TestAllowedOriginsAreExactOrigins(t *testing.T) {
	for _, o := range []string{"*", "https://*.example.org", "https://app.example.org/", "https://app.example.org/path",
		"app.example.org", "ftp://app.example.org", "https://App.Example.org", "null"} {
		_, err := config.Load("serve", []string{"--allowed-origins", o}, func(string) string { return "" }, io.Discard)
		if !errors.Is(err, config.ErrBadOrigin) {
			t.Errorf("--allowed-origins %q: err = %v, want %v", o, err, config.ErrBadOrigin)
		}
	}
	c, err := config.Load("serve", nil, func(k string) string {
		return map[string]string{"PORTAL_ALLOWED_ORIGINS": "https://app.example.org, http://localhost:5173"}[k]
	}, io.Discard)
	if err != nil || len(c.AllowedOrigins) != 2 || c.AllowedOrigins[1] != "http://localhost:5173" {
		t.Errorf("origins = %q, %v", c.AllowedOrigins, err)
	}
}
