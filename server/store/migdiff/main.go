// Command migdiff writes the next versioned migration for every database
// engine the portal supports. It replays the existing files under
// server/store/migrations/<engine>/ on an empty dev database, diffs the
// result against the Ent schema (ent/migrate.Tables) and writes the
// difference as one goose file per engine, plus a fresh atlas.sum.
//
// After changing ent/schema and running go generate, from the repository
// root:
//
//	go run ./server/store/migdiff -name <change>
//
// SQLite is diffed on a modernc in-memory database, MySQL on a throwaway
// database that migdiff creates and drops on the server named by -mysql-dev
// (a go-sql-driver DSN, default root@tcp(127.0.0.1:3306)/). Both files of
// one run share a version. Nothing is written for an engine whose
// migrations already match the schema.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqltool"
	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"
	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	entmigrate "github.com/patientportal/portal/ent/migrate"
)

// foreignKeysOff is what Atlas emits before rebuilding a SQLite table; the
// pragma is a no-op inside a transaction, which goose would otherwise open.
var foreignKeysOff = regexp.MustCompile(`(?i)PRAGMA\s+foreign_keys\s*=\s*(off|0|false)`)

func main() {
	name := flag.String("name", "", "name of the change, e.g. add_symptom_severity (required)")
	devDSN := flag.String("mysql-dev", "root@tcp(127.0.0.1:3306)/", "go-sql-driver DSN of a MySQL server where a throwaway dev database may be created")
	engine := flag.String("engine", "all", "all, sqlite or mysql")
	root := flag.String("dir", "server/store/migrations", "folder holding one migration folder per engine")
	flag.Parse()
	if *name == "" || flag.NArg() > 0 || !slices.Contains([]string{"all", "sqlite", "mysql"}, *engine) {
		flag.Usage()
		os.Exit(2)
	}
	if _, err := os.Stat(*root); err != nil {
		log.Fatalf("migdiff: %s not found: run from the repository root", *root)
	}
	ctx := context.Background()
	version := migrate.NewVersion()
	if *engine == "all" || *engine == "sqlite" {
		if err := diffSQLite(ctx, filepath.Join(*root, "sqlite"), *name, version); err != nil {
			log.Fatalf("migdiff: sqlite: %v", err)
		}
	}
	if *engine == "all" || *engine == "mysql" {
		if err := diffMySQL(ctx, *devDSN, filepath.Join(*root, "mysql"), *name, version); err != nil {
			log.Fatalf("migdiff: mysql: %v", err)
		}
	}
}

func diffSQLite(ctx context.Context, path, name, version string) error {
	// Atlas's URL opener wants the cgo driver; an ent driver over modernc
	// works. One connection, or each would see its own empty :memory:.
	db, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return diff(ctx, entsql.OpenDB(dialect.SQLite, db), path, name, version)
}

func diffMySQL(ctx context.Context, devDSN, path, name, version string) error {
	cfg, err := mysql.ParseDSN(devDSN)
	if err != nil {
		return err
	}
	server, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer server.Close()
	dev := "migdiff_" + strings.ToLower(rand.Text()[:12])
	if _, err := server.ExecContext(ctx, "CREATE DATABASE `"+dev+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return fmt.Errorf("creating dev database (is MySQL running at %s?): %w", cfg.Addr, err)
	}
	defer func() {
		// A fresh context: the dev database must go even if ctx has ended.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := server.ExecContext(ctx, "DROP DATABASE `"+dev+"`"); err != nil {
			log.Printf("migdiff: dropping dev database %s: %v", dev, err)
		}
	}()
	cfg.DBName = dev
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	return diff(ctx, entsql.OpenDB(dialect.MySQL, db), path, name, version)
}

// diff replays path on the empty database behind drv and writes the
// changes that bring it to the Ent schema.
func diff(ctx context.Context, drv dialect.Driver, path, name, version string) error {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	dir, err := sqltool.NewGooseDir(path)
	if err != nil {
		return err
	}
	m, err := schema.NewMigrate(drv,
		schema.WithDir(dir),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(drv.Dialect()),
		schema.WithFormatter(formatter{version}),
		schema.WithForeignKeys(true),
		schema.WithDropIndex(true),
		schema.WithDropColumn(true),
		schema.WithErrNoPlan(true),
	)
	if err != nil {
		return err
	}
	switch err := m.NamedDiff(ctx, name, entmigrate.Tables...); {
	case errors.Is(err, migrate.ErrNoPlan):
		fmt.Printf("%s: no changes\n", path)
		return nil
	case err != nil:
		return err
	}
	fmt.Printf("%s: wrote %s_%s.sql\n", path, version, name)
	return nil
}

// formatter is Atlas's goose format with the run's version in the file
// name, and NO TRANSACTION where a table rebuild needs foreign keys off.
// It edits before the planner hashes the files, so atlas.sum stays right.
type formatter struct{ version string }

func (f formatter) Format(plan *migrate.Plan) ([]migrate.File, error) {
	files, err := sqltool.GooseFormatter.Format(plan)
	if err != nil {
		return nil, err
	}
	out := make([]migrate.File, len(files))
	for i, file := range files {
		_, rest, _ := strings.Cut(file.Name(), "_")
		b := file.Bytes()
		if foreignKeysOff.Match(b) {
			b = append([]byte("-- +goose NO TRANSACTION\n"), b...)
		}
		out[i] = migrate.NewLocalFile(f.version+"_"+rest, bytes.Clone(b))
	}
	return out, nil
}
