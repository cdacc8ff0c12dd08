package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/organisation"
	"github.com/patientportal/portal/ent/privacy"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

func TestOpenRejectsUnsupportedURLs(t *testing.T) {
	for _, url := range []string{
		"postgres://u:secret@localhost/portal",
		"portal.db",
		"sqlite:",
		"mysql://",
		"mysql://u:secret@localhost:3306",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := store.Open(t.Context(), url)
			if !errors.Is(err, store.ErrUnsupportedURL) {
				t.Fatalf("got %v, want ErrUnsupportedURL", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the password", err)
			}
		})
	}
}

func TestOpenSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"), // sqlite:///abs/path
		"file:" + filepath.Join(dir, "c.db"),
		"sqlite:file:" + filepath.Join(dir, "d.db") + "?cache=private",
		"sqlite::memory:",
	} {
		t.Run(url, func(t *testing.T) {
			s := storetest.OpenEmpty(t, url)
			var fk int
			if err := s.DB.QueryRowContext(t.Context(), "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
				t.Fatalf("foreign_keys = %d, %v; want 1", fk, err)
			}
		})
	}
	for _, name := range []string{"a.db", "b.db", "c.db", "d.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("database file not where the URL put it: %v", err)
		}
	}
}

func TestMemoryDatabaseIsSharedByThePoolAndPrivateToTheStore(t *testing.T) {
	ctx := t.Context()
	a := storetest.OpenEmpty(t, "sqlite::memory:")
	b := storetest.OpenEmpty(t, "sqlite::memory:")
	if _, err := a.DB.ExecContext(ctx, "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	// Hold one connection so the next query needs another.
	conn, err := a.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := a.DB.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("second connection does not see the table: %v", err)
	}
	if _, err := b.DB.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err == nil {
		t.Fatal("a second store sees the first one's memory database")
	}
}

func TestPrivacyPoliciesAreRegistered(t *testing.T) {
	s := storetest.Open(t)
	// No viewer in the context: the runtime's policies must refuse.
	if _, err := s.Client.Patient.Query().All(t.Context()); !errors.Is(err, privacy.Deny) {
		t.Fatalf("query without a viewer: got %v, want privacy.Deny", err)
	}
}

func TestStatementCounterCountsInsideAndOutsideTransactions(t *testing.T) {
	var c store.StatementCounter
	s := storetest.Open(t, store.WithStatementCounter(&c))
	ctx := privacy.DecisionContext(t.Context(), privacy.Allow)
	c.Reset()

	tx, err := s.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Organisation.Create().SetOdsCode("RX1").SetName("Test Trust").
		SetKind(organisation.KindTRUST).Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := c.Count(); got != 1 {
		t.Errorf("after one insert in a transaction: %d statements, want 1", got)
	}
	if n, err := s.Client.Organisation.Query().Count(ctx); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	rows, err := s.Client.QueryContext(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if got := c.Count(); got != 3 {
		t.Errorf("after a query and a raw query: %d statements, want 3", got)
	}
	c.Reset()
	if got := c.Count(); got != 0 {
		t.Errorf("after Reset: %d", got)
	}
}

func TestMySQLSessionIsUTF8MB4AndUTC(t *testing.T) {
	if storetest.Engine() != "mysql" {
		t.Skipf("needs MySQL: set %s", storetest.EnvMySQLDSN)
	}
	s := storetest.Open(t)
	var coll, tz string
	if err := s.DB.QueryRowContext(t.Context(), "SELECT @@collation_connection, @@time_zone").Scan(&coll, &tz); err != nil {
		t.Fatal(err)
	}
	if coll != "utf8mb4_unicode_ci" || tz != "+00:00" {
		t.Errorf("collation_connection = %s, time_zone = %s", coll, tz)
	}
	// Sanity: emoji survive the round trip, which utf8 (utf8mb3) would reject.
	if _, err := s.DB.ExecContext(t.Context(),
		"INSERT INTO organisations (id, created_at, updated_at, ods_code, name, kind) VALUES ('og0', NOW(6), NOW(6), 'X1', '🏥 Trust', 'TRUST')"); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := s.DB.QueryRowContext(t.Context(), "SELECT name FROM organisations WHERE id = 'og0'").Scan(&name); err != nil || name != "🏥 Trust" {
		t.Errorf("name = %q, %v", name, err)
	}
}

// A SQLite store that an operator ANALYZEd keeps its per-index statistics
// but loses STAT4's samples when it is next opened: with them SQLite
// re-plans every statement whose bound time changed, which is nearly every
// statement of every request.
func TestOpenSQLiteDropsStat4SamplesAndKeepsIndexStatistics(t *testing.T) {
	ctx := t.Context()
	url := "sqlite:" + filepath.Join(t.TempDir(), "a.db")
	count := func(s *store.Store, table string) int {
		t.Helper()
		var n int
		if err := s.DB.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s := storetest.OpenEmpty(t, url)
	for _, q := range []string{
		"CREATE TABLE t (x int, y int)",
		"CREATE INDEX t_x ON t (x)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO t SELECT i % 50, i FROM n",
		"ANALYZE",
	} {
		if _, err := s.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if count(s, "sqlite_stat4") == 0 {
		t.Fatal("ANALYZE wrote no STAT4 samples: the driver's SQLite changed, and with it the reason for dropping them")
	}
	s.Close()

	s = storetest.OpenEmpty(t, url)
	if n := count(s, "sqlite_stat4"); n != 0 {
		t.Errorf("sqlite_stat4 holds %d samples after Open, want none", n)
	}
	if count(s, "sqlite_stat1") == 0 {
		t.Error("Open dropped sqlite_stat1 too: the planner lost its index statistics")
	}
}

// A SQLite store's requests never run a checkpoint (the pool's connections
// have wal_autocheckpoint 0), yet what they write reaches the database
// file within a few seconds: the store checkpoints on a timer.
func TestSQLiteCheckpointsOnATimerNotInRequests(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a.db")
	s := storetest.OpenEmpty(t, "sqlite:"+path)
	var auto int
	if err := s.DB.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	for _, q := range []string{
		"CREATE TABLE t (x blob)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t SELECT randomblob(4000) FROM n",
	} {
		if _, err := s.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	const written = 2000 * 4000
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= written {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file is %d bytes 10 s after %d were written: the log was never checkpointed", fi.Size(), written)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
