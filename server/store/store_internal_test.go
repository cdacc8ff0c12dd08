package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
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

func TestConnectionErrorsAreUnavailableAndStatementErrorsAreNot(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"a pooled connection found dead", driver.ErrBadConn, true},
		{"a connection lost mid-query", fmt.Errorf("ent: %w", mysql.ErrInvalidConn), true},
		{"a refused dial", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"the request's deadline while waiting for the pool", context.DeadlineExceeded, true},
		{"the server shutting down", &mysql.MySQLError{Number: 1053}, true},
		{"a unique violation", &mysql.MySQLError{Number: 1062}, false},
		{"no rows", sql.ErrNoRows, false},
		{"a cancelled client", context.Canceled, false},
	} {
		err := edge(tc.err)
		if got := errors.Is(err, ErrUnavailable); got != tc.want {
			t.Errorf("%s: unavailable %v, want %v", tc.name, got, tc.want)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: the driver's error is lost: %v", tc.name, err)
		}
	}
}
