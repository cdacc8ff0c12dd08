// Package storetest gives each test a database of its own: a SQLite file in
// the test's temporary directory, or, when PORTAL_TEST_MYSQL_DSN names a
// MySQL server (a go-sql-driver DSN such as root@tcp(127.0.0.1:3306)/), a
// new database on that server that is dropped when the test ends.
// It is for tests only.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/patientportal/portal/server/store"
)

// EnvMySQLDSN is the environment variable that switches tests to MySQL.
const EnvMySQLDSN = "PORTAL_TEST_MYSQL_DSN"

// Engine returns "mysql" when tests run on MySQL and "sqlite" otherwise,
// for messages and skips.
func Engine() string {
	if os.Getenv(EnvMySQLDSN) != "" {
		return "mysql"
	}
	return "sqlite"
}

// Open returns a store on a fresh database with every migration applied,
// closed (and on MySQL dropped) when the test ends.
func Open(t testing.TB, opts ...store.Option) *store.Store {
	t.Helper()
	s := OpenEmpty(t, URL(t), opts...)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("storetest: migrating %s: %v", Engine(), err)
	}
	return s
}

// OpenEmpty opens the database at url without migrating it and closes it
// when the test ends.
func OpenEmpty(t testing.TB, url string, opts ...store.Option) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// URL returns the URL of a fresh, empty database on the engine that Engine
// names.
func URL(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvMySQLDSN); dsn != "" {
		return MySQLURL(t, dsn)
	}
	return SQLiteURL(t)
}

// SQLiteURL returns the URL of a new SQLite file in the test's temporary
// directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "portal.db")
}

// MySQLURL creates an empty database on the server that dsn (a
// go-sql-driver DSN) names, drops it when the test ends, and returns its
// mysql:// URL.
func MySQLURL(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("storetest: %s: %v", EnvMySQLDSN, err)
	}
	if cfg.Net != "tcp" {
		t.Fatalf("storetest: %s must use tcp, not %s", EnvMySQLDSN, cfg.Net)
	}
	cfg.DBName = ""
	server, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	name := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := server.ExecContext(t.Context(),
		"CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		server.Close()
		t.Fatalf("storetest: creating a database on the MySQL server at %s: %v", cfg.Addr, err)
	}
	t.Cleanup(func() {
		defer server.Close()
		// t.Context() is already done when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := server.ExecContext(ctx, "DROP DATABASE `"+name+"`"); err != nil {
			t.Errorf("storetest: dropping %s: %v", name, err)
		}
	})
	u := url.URL{Scheme: "mysql", Host: cfg.Addr, Path: "/" + name}
	if cfg.Passwd != "" {
		u.User = url.UserPassword(cfg.User, cfg.Passwd)
	} else if cfg.User != "" {
		u.User = url.User(cfg.User)
	}
	return u.String()
}
