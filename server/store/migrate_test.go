package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"ariga.io/atlas/sql/migrate"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/schema"

	entmigrate "github.com/patientportal/portal/ent/migrate"
	"github.com/patientportal/portal/server/store"
	"github.com/patientportal/portal/server/store/storetest"
)

// engines lists the engines to test on: SQLite always, MySQL as well when
// the test DSN is set. Each call makes fresh, empty databases.
func engines(t *testing.T) map[string]func(*testing.T) string {
	m := map[string]func(*testing.T) string{
		"sqlite": func(t *testing.T) string { return storetest.SQLiteURL(t) },
	}
	if dsn := os.Getenv(storetest.EnvMySQLDSN); dsn != "" {
		m["mysql"] = func(t *testing.T) string { return storetest.MySQLURL(t, dsn) }
	}
	return m
}

func TestMigrationsMatchEntSchema(t *testing.T) {
	for engine, url := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			s := storetest.OpenEmpty(t, url(t))
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			changes, err := schemaChanges(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			if changes != "" {
				t.Fatalf("server/store/migrations/%s is behind ent/schema; "+
					"from the repository root run\n\tgo run ./server/store/migdiff -name <change>\n"+
					"Missing:\n%s", engine, changes)
			}

			// The check must see drift: remove a table and look again.
			table := unreferencedTable(t)
			if _, err := s.DB.ExecContext(t.Context(), "DROP TABLE "+table); err != nil {
				t.Fatal(err)
			}
			if changes, err := schemaChanges(t.Context(), s); err != nil || !strings.Contains(changes, table) {
				t.Fatalf("after dropping %s the diff is %q, %v", table, changes, err)
			}
		})
	}
}

// unreferencedTable names a table no foreign key points at, so that MySQL
// lets it be dropped.
func unreferencedTable(t *testing.T) string {
	referenced := map[string]bool{}
	for _, tbl := range entmigrate.Tables {
		for _, fk := range tbl.ForeignKeys {
			referenced[fk.RefTable.Name] = true
		}
	}
	for _, tbl := range entmigrate.Tables {
		if !referenced[tbl.Name] {
			return tbl.Name
		}
	}
	t.Fatal("every table is referenced")
	return ""
}

// schemaChanges returns the SQL that would bring the database to the Ent
// schema, or "" when it is already there.
func schemaChanges(ctx context.Context, s *store.Store) (string, error) {
	dir := &migrate.MemDir{}
	m, err := schema.NewMigrate(entsql.OpenDB(s.Dialect, s.DB), // not closed: it shares s.DB
		schema.WithDir(dir),
		schema.WithDialect(s.Dialect),
		schema.WithMigrationMode(schema.ModeInspect),
		schema.WithForeignKeys(true),
		schema.WithDropIndex(true),
		schema.WithDropColumn(true),
		schema.WithErrNoPlan(true),
	)
	if err != nil {
		return "", err
	}
	if err := m.NamedDiff(ctx, "check", entmigrate.Tables...); errors.Is(err, migrate.ErrNoPlan) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	files, err := dir.Files()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".up.sql") {
			b.Write(f.Bytes())
		}
	}
	return b.String(), nil
}

func TestCheckVersion(t *testing.T) {
	for engine, url := range engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			s := storetest.OpenEmpty(t, url(t))

			if err := s.CheckVersion(ctx); !errors.Is(err, store.ErrNotMigrated) {
				t.Fatalf("fresh database: got %v, want ErrNotMigrated", err)
			}
			for range 2 { // a second run finds nothing to do
				if err := s.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CheckVersion(ctx); err != nil {
				t.Fatalf("migrated database: got %v, want nil", err)
			}
			// As if a newer binary had migrated the database.
			if _, err := s.DB.ExecContext(ctx,
				"INSERT INTO goose_db_version (version_id, is_applied) VALUES (99991231235959, true)"); err != nil {
				t.Fatal(err)
			}
			if err := s.CheckVersion(ctx); !errors.Is(err, store.ErrUnknownVersion) {
				t.Fatalf("database from a newer binary: got %v, want ErrUnknownVersion", err)
			}
		})
	}
}

// TestMySQLTimesAreDatetime6 guards against MySQL's timestamp, which ends
// in 2038 and converts through the session time zone.
func TestMySQLTimesAreDatetime6(t *testing.T) {
	files, err := filepath.Glob("migrations/mysql/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no MySQL migrations found: %v", err)
	}
	column := regexp.MustCompile("(?i)`([^`]+)` (timestamp|datetime)(\\(\\d+\\))?")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range column.FindAllStringSubmatch(string(b), -1) {
			if strings.ToLower(m[2]) != "datetime" || m[3] != "(6)" {
				t.Errorf("%s: column %s is %s%s; give the field SchemaType{dialect.MySQL: \"datetime(6)\"}",
					filepath.Base(f), m[1], m[2], m[3])
			}
		}
	}
}

func TestMigrationsHaveTheSameVersionsOnEveryEngine(t *testing.T) {
	versions := func(engine string) (vs []string) {
		files, err := filepath.Glob(filepath.Join("migrations", engine, "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			v, _, _ := strings.Cut(filepath.Base(f), "_")
			vs = append(vs, v)
		}
		return vs
	}
	sqlite, mysql := versions("sqlite"), versions("mysql")
	if strings.Join(sqlite, ",") != strings.Join(mysql, ",") {
		t.Errorf("sqlite migrations %v, mysql %v: run migdiff for both engines at once", sqlite, mysql)
	}
}
