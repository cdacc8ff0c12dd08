package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/patientportal/portal/ent/access"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// A store that cannot answer in time says so with ErrUnavailable, through
// the Ent client and through Ping; once it can, both succeed again.
func TestAStoreThatCannotAnswerIsUnavailable(t *testing.T) {
	s := storetest.Open(t)
	ctx, cancel := context.WithDeadline(access.SystemContext(context.Background()), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := s.Client.Organisation.Query().Count(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a query past its deadline: %v, want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("a ping past its deadline: %v, want ErrUnavailable", err)
	}
	live := access.SystemContext(context.Background())
	if _, err := s.Client.Organisation.Query().Count(live); err != nil {
		t.Errorf("a query afterwards: %v", err)
	}
	if err := s.Ping(live); err != nil {
		t.Errorf("a ping afterwards: %v", err)
	}
}

// A SQLite file whose write lock another process holds past the busy
// timeout (5 s) is unavailable to writers, not broken: the write fails
// with ErrUnavailable, reads go on, and the next write after the lock is
// released succeeds.
func TestASQLiteFileLockedByAnotherProcessIsUnavailableToWriters(t *testing.T) {
	ctx := access.SystemContext(t.Context())
	path := filepath.Join(t.TempDir(), "locked.db")
	s := storetest.OpenEmpty(t, "sqlite:"+path)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Another process: its own connection to the file, outside the
	// store's pool and its write gate.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	create := func(code string) error {
		return s.Client.Organisation.Create().SetOdsCode(code).SetName("Trust " + code).SetKind("TRUST").Exec(ctx)
	}
	if err := create("RA1"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("a write while another process holds the lock: %v, want ErrUnavailable", err)
	}
	if n, err := s.Client.Organisation.Query().Count(ctx); err != nil || n != 0 {
		t.Fatalf("a read meanwhile: %d, %v", n, err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := create("RA2"); err != nil {
		t.Fatalf("a write once the lock is released: %v", err)
	}
}
