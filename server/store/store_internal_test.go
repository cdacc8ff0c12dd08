package store

import (
	"net/url"
	"testing"
	"time"
)

func TestMySQLConfigFromURL(t *testing.T) {
	u, err := url.Parse("mysql://portal:p%40ss%3Aw%2Frd@db.example:3307/portal?tls=skip-verify")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := mysqlConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "portal" || cfg.Passwd != "p@ss:w/rd" || cfg.Addr != "db.example:3307" || cfg.DBName != "portal" {
		t.Errorf("got user %q pass %q addr %q db %q", cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName)
	}
	if !cfg.ParseTime || cfg.Loc != time.UTC || cfg.Collation != "utf8mb4_unicode_ci" || cfg.MultiStatements {
		t.Errorf("parseTime %v loc %v collation %q multiStatements %v", cfg.ParseTime, cfg.Loc, cfg.Collation, cfg.MultiStatements)
	}
	if cfg.TLSConfig != "skip-verify" {
		t.Errorf("tls from the URL was dropped: %q", cfg.TLSConfig)
	}
}
