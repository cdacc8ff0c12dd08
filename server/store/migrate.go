package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"entgo.io/ent/dialect"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// migrations holds the goose files for every engine, one folder each;
// go run ./server/store/migdiff writes them.
//
//go:embed migrations/sqlite/*.sql migrations/mysql/*.sql
var migrations embed.FS

var (
	// ErrNotMigrated reports a database behind the binary's latest migration.
	ErrNotMigrated = errors.New("store: database is not migrated to this binary's schema")
	// ErrUnknownVersion reports a database migrated by a newer binary (or by
	// a migration this binary does not carry).
	ErrUnknownVersion = errors.New("store: database has a migration version this binary does not know")
)

// migrationDir names the folder in migrations for an Ent dialect.
func migrationDir(dia string) (string, error) {
	switch dia {
	case dialect.SQLite:
		return "migrations/sqlite", nil
	case dialect.MySQL:
		return "migrations/mysql", nil
	}
	return "", fmt.Errorf("%w: no migrations for dialect %q", ErrUnsupportedURL, dia)
}

// Migrate applies every embedded migration the database has not yet had.
// On MySQL a lock table serialises servers that start together.
func (s *Store) Migrate(ctx context.Context) error {
	var opts []goose.ProviderOption
	if s.Dialect == dialect.MySQL {
		l, err := lock.NewMySQLTableLocker()
		if err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithLocker(l))
	}
	p, err := s.provider(opts...)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrating: %w", err)
	}
	for _, r := range results {
		slog.InfoContext(ctx, "store: applied migration",
			"version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// CheckVersion reports whether the database is exactly at the latest
// embedded migration, without changing it: nil if so, ErrNotMigrated if it
// is behind, ErrUnknownVersion if it carries a version this binary lacks.
func (s *Store) CheckVersion(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	sources := p.ListSources()
	known := make(map[int64]bool, len(sources))
	for _, src := range sources {
		known[src.Version] = true
	}
	want := sources[len(sources)-1].Version
	have, err := s.dbVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case have != 0 && !known[have]:
		return fmt.Errorf("%w: database is at %d, latest known is %d", ErrUnknownVersion, have, want)
	case have < want:
		return fmt.Errorf("%w: database is at version %d, binary expects %d", ErrNotMigrated, have, want)
	}
	return nil
}

func (s *Store) provider(opts ...goose.ProviderOption) (*goose.Provider, error) {
	gd := map[string]goose.Dialect{dialect.SQLite: goose.DialectSQLite3, dialect.MySQL: goose.DialectMySQL}[s.Dialect]
	dir, err := migrationDir(s.Dialect)
	if err != nil {
		return nil, err
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		goose.WithDisableGlobalRegistry(true), // only the embedded SQL files, never Go migrations registered elsewhere
		goose.WithLogger(goose.NopLogger()),
	)
	p, err := goose.NewProvider(gd, s.DB, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// dbVersion reads goose's version table directly: goose's own getters
// create the table first, and a check must not write.
func (s *Store) dbVersion(ctx context.Context) (int64, error) {
	q := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	gd := goose.DialectSQLite3
	if s.Dialect == dialect.MySQL {
		q = "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
		gd = goose.DialectMySQL
	}
	var n int
	if err := s.DB.QueryRowContext(ctx, q, goose.DefaultTablename).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: reading migration version: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	vs, err := database.NewStore(gd, goose.DefaultTablename)
	if err != nil {
		return 0, err
	}
	v, err := vs.GetLatestVersion(ctx, s.DB)
	if errors.Is(err, database.ErrVersionNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: reading migration version: %w", err)
	}
	return v, nil
}
