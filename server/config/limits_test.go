package config

import (
	"io"
	"reflect"
	"testing"
	"time"
)

func TestLimitsComeFromFlagsOverTheEnvironment(t *testing.T) {
	env := map[string]string{
		"PORTAL_RATE_LIMIT_ADDRESS":   "7.5",
		"PORTAL_RATE_BURST_VIEWER":    "3",
		"PORTAL_REQUEST_TIMEOUT":      "2s",
		"PORTAL_TRUSTED_PROXY_HEADER": "X-Real-IP",
		"PORTAL_MAX_QUERY_DEPTH":      "8",
	}
	c, err := Load("serve", []string{"--rate-limit-viewer", "0", "--trusted-proxy-header", "X-Forwarded-For", "--write-timeout", "90s"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{AddressRate: 7.5, AddressBurst: 200, ViewerRate: 0, ViewerBurst: 3, RequestTimeout: 2 * time.Second,
		TrustedProxyHeader: "X-Forwarded-For", MaxQueryDepth: 8, MaxQueryComplexity: 1000, MaxQueryAliases: 20,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 90 * time.Second, HTTPIdleTimeout: 120 * time.Second}
	got := Config{AddressRate: c.AddressRate, AddressBurst: c.AddressBurst, ViewerRate: c.ViewerRate, ViewerBurst: c.ViewerBurst,
		RequestTimeout: c.RequestTimeout, TrustedProxyHeader: c.TrustedProxyHeader, MaxQueryDepth: c.MaxQueryDepth,
		MaxQueryComplexity: c.MaxQueryComplexity, MaxQueryAliases: c.MaxQueryAliases, ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, HTTPIdleTimeout: c.HTTPIdleTimeout}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for _, bad := range []map[string]string{{"PORTAL_RATE_LIMIT_ADDRESS": "fast"}, {"PORTAL_REQUEST_TIMEOUT": "soon"}, {"PORTAL_MAX_QUERY_ALIASES": "0"}} {
		if _, err := Load("serve", nil, func(k string) string { return bad[k] }, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
