// Package store opens the portal's database, SQLite by default or MySQL
// (MariaDB) in production, wraps it in an Ent client and applies the
// versioned migrations embedded in the binary. It is the one place where a
// database URL becomes a connection; the schema is only ever changed by the
// migrations under migrations/, never by Ent's auto-migration.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite" // the pure-Go SQLite driver (it registers "sqlite" too)

	"github.com/patientportal/portal/ent"
	_ "github.com/patientportal/portal/ent/runtime" // registers privacy policies and hooks
)

// ErrUnsupportedURL reports a database URL whose scheme or shape the store
// cannot open.
var ErrUnsupportedURL = errors.New("store: unsupported database URL")

// sqlitePragmas go in the DSN because modernc applies them to every pooled
// connection; _txlock=immediate takes the write lock at BEGIN so that
// read-then-write transactions wait on busy_timeout instead of failing;
// wal_autocheckpoint(0) leaves checkpoints to the store's timer
// (checkpoint.go).
const sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(1)" +
	"&_pragma=wal_autocheckpoint(0)&_txlock=immediate"

// sqlitePool is how many connections a SQLite store keeps open: readers
// run in parallel under WAL, a writer at a time.
const sqlitePool = 16

// Store is an open database with its Ent client.
type Store struct {
	// Client is the Ent client; its privacy policies apply to every query.
	Client *ent.Client
	// DB is the underlying pool, for migrations and health checks.
	DB *sql.DB
	// Dialect is dialect.SQLite or dialect.MySQL.
	Dialect string

	checkpoints *checkpointer // SQLite only
}

// Option configures Open.
type Option func(*options)

type options struct {
	counter *StatementCounter
}

// WithStatementCounter counts every statement the Ent client sends,
// including those inside transactions.
func WithStatementCounter(c *StatementCounter) Option {
	return func(o *options) { o.counter = c }
}

// Open connects to the database at url, which is either
// sqlite:<path> (sqlite::memory: for a private in-memory database; a bare
// file: URI also works) or mysql://user:pass@host:port/db. It does not
// migrate; call Migrate or CheckVersion next.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	db, dia, err := openDB(url)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", dia, err)
	}
	if dia == dialect.SQLite {
		if err := dropStat4(ctx, db); err != nil {
			db.Close()
			return nil, err
		}
	}
	var drv dialect.Driver = &edgeDriver{Driver: entsql.OpenDB(dia, db)}
	if o.counter != nil {
		drv = &countingDriver{Driver: drv, n: &o.counter.n}
	}
	st := &Store{Client: ent.NewClient(ent.Driver(drv)), DB: db, Dialect: dia}
	if dia == dialect.SQLite {
		st.checkpoints = startCheckpointer(db, checkpointEvery)
	}
	return st, nil
}

// Close closes the Ent client and the pool beneath it. SQLite checkpoints
// the whole log as its last connection closes.
func (s *Store) Close() error {
	if s.checkpoints != nil {
		s.checkpoints.Stop()
		s.checkpoints = nil
	}
	return s.Client.Close()
}

// openDB picks the driver from the URL scheme.
func openDB(raw string) (*sql.DB, string, error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"), strings.HasPrefix(raw, "sqlite3:"):
		path := raw[strings.Index(raw, ":")+1:]
		if strings.HasPrefix(path, "//") {
			path = path[2:] // sqlite:///abs/path.db and sqlite://rel.db
		}
		return openSQLite(path)
	case strings.HasPrefix(raw, "file:"):
		return openSQLite(raw)
	case strings.HasPrefix(raw, "mysql://"):
		db, err := openMySQL(raw)
		return db, dialect.MySQL, err
	}
	scheme, _, _ := strings.Cut(raw, ":") // never echo the rest: it may hold a password
	return nil, "", fmt.Errorf("%w: scheme %q (want sqlite:<path> or mysql://user:pass@host:port/db)", ErrUnsupportedURL, scheme)
}

func openSQLite(path string) (*sql.DB, string, error) {
	if path == "" {
		return nil, "", fmt.Errorf("%w: sqlite URL has no path", ErrUnsupportedURL)
	}
	if path == ":memory:" {
		// A plain :memory: database is private to one connection, so the
		// pool would see several empty databases. memdb with a unique name
		// is shared by the pool's connections and by nothing else; it lives
		// while the pool keeps a connection, which database/sql does by
		// default.
		path = "file:/portal-" + rand.Text() + "?vfs=memdb"
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	// Each connection keeps its compiled statements (see stmtcache.go); the
	// pool's writers queue at one gate (see writegate.go).
	db := sql.OpenDB(cachingConnector{dsn: path + sep + sqlitePragmas, drv: &sqlite.Driver{}, gate: newWriteGate()})
	// database/sql keeps 2 idle connections by default: under concurrent
	// requests it then opens and closes SQLite connections all the time,
	// each reading the schema, compiling its statements and warming its
	// page cache afresh, and CPU per request more than doubled at 100
	// req/s. A bounded pool that stays open: requests past it queue here.
	db.SetMaxOpenConns(sqlitePool)
	db.SetMaxIdleConns(sqlitePool)
	return db, dialect.SQLite, nil
}

// dropStat4 deletes the histogram samples that ANALYZE writes to
// sqlite_stat4 (this SQLite is built with STAT4), keeping the per-index
// figures in sqlite_stat1. With samples, SQLite re-plans a statement
// whenever a value bound to an indexed range changes, and nearly every
// request binds the current time: the dashboard then spent a fifth of its
// CPU re-compiling statements the connection had cached (see
// stmtcache.go). It runs on Open, while the pool holds only the
// connection Ping opened, and reloads that connection's statistics.
func dropStat4(ctx context.Context, db *sql.DB) error {
	var samples int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat4'").Scan(&samples)
	if err != nil || samples == 0 {
		return err
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_stat4").Scan(&samples); err != nil || samples == 0 {
		return err
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM sqlite_stat4"); err != nil {
		return fmt.Errorf("store: dropping sqlite_stat4: %w", err)
	}
	_, err = db.ExecContext(ctx, "ANALYZE sqlite_schema")
	return err
}

func openMySQL(raw string) (*sql.DB, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password included.
		return nil, fmt.Errorf("%w: malformed mysql URL", ErrUnsupportedURL)
	}
	cfg, err := mysqlConfig(u)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: mysql: %w", err)
	}
	db := sql.OpenDB(conn)
	// Bounded so that a burst of requests queues here rather than
	// exhausting the server's max_connections; recycled well inside
	// MariaDB's wait_timeout and any proxy's idle cut-off.
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxLifetime(5 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// mysqlConfig translates a mysql://user:pass@host:port/db URL into a
// go-sql-driver configuration: times in UTC on both sides (the session
// time zone too, so that NOW() agrees with Go) and a full utf8mb4
// connection. Query parameters in the URL (tls=true, for example) are
// passed to the driver and may override these defaults.
func mysqlConfig(u *url.URL) (*mysql.Config, error) {
	if u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return nil, fmt.Errorf("%w: mysql URL needs a host and a database", ErrUnsupportedURL)
	}
	q := u.Query()
	for k, v := range map[string]string{
		"parseTime": "true",
		"loc":       "UTC",
		"time_zone": "'+00:00'",
		"charset":   "utf8mb4",
		"collation": "utf8mb4_unicode_ci",
		// A database that vanishes from the network fails a dial in
		// seconds, not after the kernel's minutes of retries.
		"timeout": "5s",
	} {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	cfg, err := mysql.ParseDSN("tcp(" + u.Host + ")/" + strings.TrimPrefix(u.Path, "/") + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedURL, err)
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Logger = driverLog{}
	return cfg, nil
}
