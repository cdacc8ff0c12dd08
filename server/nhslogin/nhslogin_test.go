package nhslogin_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"testing"

	"github.com/patientportal/portal/server/nhslogin"
	"github.com/patientportal/portal/server/nhslogin/nhslogintest"
	"github.com/patientportal/portal/server/store/storetest"
)

func TestNewRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	client := storetest.Open(t).Client
	op := nhslogintest.New(t)
	keyPEM, _ := nhslogintest.NewClientKey(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)})
	complete := func(http.ResponseWriter, *http.Request, nhslogin.Identity, string) {}
	valid := func() nhslogin.Config {
		return nhslogin.Config{Issuer: op.Issuer(), ClientID: clientID,
			RedirectURL: "https://portal.example" + nhslogin.CallbackPath, PrivateKeyPEM: keyPEM}
	}

	tests := []struct {
		name       string
		cfg        func(*nhslogin.Config)
		noComplete bool
	}{
		{name: "no issuer", cfg: func(c *nhslogin.Config) { c.Issuer = "" }},
		{name: "no client ID", cfg: func(c *nhslogin.Config) { c.ClientID = "" }},
		{name: "neither secret nor key", cfg: func(c *nhslogin.Config) { c.PrivateKeyPEM = nil }},
		{name: "both secret and key", cfg: func(c *nhslogin.Config) { c.ClientSecret = "s" }},
		{name: "key that is not PEM", cfg: func(c *nhslogin.Config) { c.PrivateKeyPEM = []byte("not a key") }},
		{name: "RSA key under 2048 bits", cfg: func(c *nhslogin.Config) { c.PrivateKeyPEM = smallPEM }},
		{name: "relative redirect URL", cfg: func(c *nhslogin.Config) { c.RedirectURL = nhslogin.CallbackPath }},
		{name: "redirect URL to another path", cfg: func(c *nhslogin.Config) { c.RedirectURL = "https://portal.example/callback" }},
		{name: "no CompleteFunc", cfg: func(*nhslogin.Config) {}, noComplete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid()
			tt.cfg(&cfg)
			done := nhslogin.CompleteFunc(complete)
			if tt.noComplete {
				done = nil
			}
			_, err := nhslogin.New(t.Context(), cfg, client, nil, done)
			if !errors.Is(err, nhslogin.ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}

	t.Run("valid configuration is accepted", func(t *testing.T) {
		t.Parallel()
		if _, err := nhslogin.New(t.Context(), valid(), client, nil, complete); err != nil {
			t.Errorf("New: %v", err)
		}
	})
}

func TestNewFailsWhenDiscoveryFails(t *testing.T) {
	t.Parallel()
	client := storetest.Open(t).Client
	keyPEM, _ := nhslogintest.NewClientKey(t)
	cfg := nhslogin.Config{Issuer: "http://127.0.0.1:1", ClientID: clientID,
		RedirectURL: "https://portal.example" + nhslogin.CallbackPath, PrivateKeyPEM: keyPEM}
	_, err := nhslogin.New(t.Context(), cfg, client, nil, func(http.ResponseWriter, *http.Request, nhslogin.Identity, string) {})
	if err == nil {
		t.Fatal("New succeeded with an unreachable issuer")
	}
}
