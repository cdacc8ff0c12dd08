package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// openGated opens a SQLite pool as Open does and returns its gate too.
func openGated(t testing.TB) (*sql.DB, writeGate) {
	t.Helper()
	gate := newWriteGate()
	return openPool(t, gate), gate
}

// openPool opens a SQLite pool of 4 connections with gate (nil: none)
// over a new database holding one table, t.
func openPool(t testing.TB, gate writeGate) *sql.DB {
	t.Helper()
	db := sql.OpenDB(cachingConnector{dsn: filepath.Join(t.TempDir(), "g.db") + "?" + sqlitePragmas, drv: &sqlite.Driver{}, gate: gate})
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (x integer)"); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestATransactionHoldsTheWriteGateUntilItEnds(t *testing.T) {
	ctx := t.Context()
	db, gate := openGated(t)
	for _, end := range []string{"commit", "rollback"} {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(gate) != 1 {
			t.Fatalf("%s: an open transaction does not hold the gate", end)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			t.Fatalf("%s: a write inside the transaction: %v", end, err)
		}
		if end == "commit" {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(gate) != 0 {
			t.Fatalf("%s: the gate is still held after the transaction ended", end)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows = %d, %v; want the committed one only", n, err)
	}
}

func TestWritesQueueAtTheGateAndReadsDoNot(t *testing.T) {
	ctx := t.Context()
	db, gate := openGated(t)
	gate <- struct{}{} // another writer holds it
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	var n int
	if err := db.QueryRowContext(short, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatalf("a read waited for the writer: %v", err)
	}
	if _, err := db.ExecContext(short, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		t.Fatalf("a checkpoint waited for the writer: %v", err)
	}
	if _, err := db.ExecContext(short, "INSERT INTO t VALUES (1)"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write beside a held gate: %v; want it to queue until its deadline", err)
	}
	<-gate
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	if len(gate) != 0 {
		t.Fatal("an autocommit write kept the gate")
	}
}

func TestConcurrentWritersAllCommit(t *testing.T) {
	ctx := t.Context()
	db, gate := openGated(t)
	const writers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				var err error
				if (w+i)%2 == 0 {
					_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (?)", i)
				} else {
					err = inTx(ctx, db, i)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d, write %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != writers*each {
		t.Fatalf("rows = %d, %v; want %d", n, err, writers*each)
	}
	if len(gate) != 0 {
		t.Fatal("the gate is held after every writer finished")
	}
}

func inTx(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t VALUES (?)", v); err != nil {
		return err
	}
	return tx.Commit()
}

func TestWritesClassifiesStatements(t *testing.T) {
	for q, want := range map[string]bool{
		"INSERT INTO `audit_events` (`id`) VALUES (?)": true,
		"  update t set x = 1":                         true,
		"DELETE FROM t":                                true,
		"REPLACE INTO t VALUES (1)":                    true,
		"SELECT * FROM t":                              false,
		"PRAGMA wal_checkpoint(PASSIVE)":               false,
		"ANALYZE":                                      false,
		"":                                             false,
	} {
		if got := writes(q); got != want {
			t.Errorf("writes(%q) = %v, want %v", q, got, want)
		}
	}
}

// BenchmarkContendedWrites is four writers at once, each a read and an
// insert in a transaction, as an access-log entry or a recorded symptom
// is: with the gate they take turns; without it the losers sleep in
// SQLite's busy handler.
func BenchmarkContendedWrites(b *testing.B) {
	for _, c := range []struct {
		name string
		gate writeGate
	}{{"gate", newWriteGate()}, {"busy-handler", nil}} {
		b.Run(c.name, func(b *testing.B) {
			db := openPool(b, c.gate)
			var mu sync.Mutex
			var took []time.Duration
			b.SetParallelism(2) // 4 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					if err := inTx(b.Context(), db, 1); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				took = append(took, mine...)
				mu.Unlock()
			})
			slices.Sort(took)
			if len(took) > 0 {
				b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
				b.ReportMetric(float64(took[len(took)-1].Microseconds()), "max-µs")
			}
		})
	}
}
