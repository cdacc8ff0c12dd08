package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
)

// ErrUnavailable reports that the database could not be reached or did not
// answer in time: a dropped or refused connection, a server shutting down,
// a lock held past the busy timeout. The request may succeed if retried;
// nothing about the data is wrong. Every statement the Ent client sends
// has its connection errors wrapped in it, so callers test errors.Is.
var ErrUnavailable = errors.New("store: database unavailable")

// pingTimeout bounds a readiness check, so that a black-holed database
// answers "not ready" rather than hanging the probe.
const pingTimeout = 2 * time.Second

// Ping reports whether the database answers now, as ErrUnavailable when it
// does not. database/sql opens a fresh connection when the pooled ones
// are dead, so a Ping after the database returns succeeds at once.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := s.DB.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// MySQL server errors that mean the server, not the statement, failed.
var mysqlUnavailable = map[uint16]bool{
	1040: true, // ER_CON_COUNT_ERROR: too many connections
	1053: true, // ER_SERVER_SHUTDOWN
	1927: true, // ER_CONNECTION_KILLED (MariaDB)
	2006: true, // CR_SERVER_GONE_ERROR
	2013: true, // CR_SERVER_LOST
}

// SQLite primary result codes that mean the database is busy: a lock held
// past busy_timeout.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// unavailable reports whether err, as a driver returned it, means the
// database is unreachable or overloaded rather than the statement wrong.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return false
	}
	var (
		opErr  *net.OpError
		myErr  *mysql.MySQLError
		sqlErr *sqlite.Error
	)
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		// The request's deadline passed while it waited for the pool or
		// for an answer: the database did not answer in time.
		return true
	case errors.As(err, &opErr):
		return true
	case errors.As(err, &myErr):
		return mysqlUnavailable[myErr.Number]
	case errors.As(err, &sqlErr):
		code := sqlErr.Code() & 0xff
		return code == sqliteBusy || code == sqliteLocked
	}
	return false
}

// edge wraps connection errors in ErrUnavailable and leaves the rest as
// they are (a unique violation stays a driver error for its callers).
func edge(err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// edgeDriver translates driver errors at the boundary between Ent and
// database/sql, including errors that surface while rows are read and
// when a transaction commits.
type edgeDriver struct {
	dialect.Driver
}

func (d *edgeDriver) Exec(ctx context.Context, query string, args, v any) error {
	return edge(d.Driver.Exec(ctx, query, args, v))
}

func (d *edgeDriver) Query(ctx context.Context, query string, args, v any) error {
	if err := d.Driver.Query(ctx, query, args, v); err != nil {
		return edge(err)
	}
	wrapRows(v)
	return nil
}

func (d *edgeDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	drv, ok := d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, errUnsupported
	}
	res, err := drv.ExecContext(ctx, query, args...)
	return res, edge(err)
}

func (d *edgeDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	drv, ok := d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, errUnsupported
	}
	rows, err := drv.QueryContext(ctx, query, args...)
	return rows, edge(err)
}

func (d *edgeDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	if err != nil {
		return nil, edge(err)
	}
	return &edgeTx{Tx: tx}, nil
}

// BeginTx is what ent.Client.BeginTx asserts for.
func (d *edgeDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	drv, ok := d.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return nil, errUnsupported
	}
	tx, err := drv.BeginTx(ctx, opts)
	if err != nil {
		return nil, edge(err)
	}
	return &edgeTx{Tx: tx}, nil
}

type edgeTx struct {
	dialect.Tx
}

func (t *edgeTx) Exec(ctx context.Context, query string, args, v any) error {
	return edge(t.Tx.Exec(ctx, query, args, v))
}

func (t *edgeTx) Query(ctx context.Context, query string, args, v any) error {
	if err := t.Tx.Query(ctx, query, args, v); err != nil {
		return edge(err)
	}
	wrapRows(v)
	return nil
}

func (t *edgeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, ok := t.Tx.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, errUnsupported
	}
	res, err := tx.ExecContext(ctx, query, args...)
	return res, edge(err)
}

func (t *edgeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx, ok := t.Tx.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, errUnsupported
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	return rows, edge(err)
}

// Commit of a transaction whose connection dropped has an unknown outcome;
// it is reported unavailable, and the caller's retry must be idempotent.
func (t *edgeTx) Commit() error { return edge(t.Tx.Commit()) }

func (t *edgeTx) Rollback() error { return edge(t.Tx.Rollback()) }

// wrapRows makes the errors of reading a result (a connection lost half
// way) go through edge too.
func wrapRows(v any) {
	if rows, ok := v.(*entsql.Rows); ok && rows.ColumnScanner != nil {
		rows.ColumnScanner = edgeRows{rows.ColumnScanner}
	}
}

type edgeRows struct {
	entsql.ColumnScanner
}

func (r edgeRows) Scan(dest ...any) error { return edge(r.ColumnScanner.Scan(dest...)) }
func (r edgeRows) Err() error             { return edge(r.ColumnScanner.Err()) }
func (r edgeRows) Close() error           { return edge(r.ColumnScanner.Close()) }

// driverLog sends go-sql-driver's own messages ("unexpected EOF" when a
// connection drops) to the structured log instead of bare stderr. They
// carry no data.
type driverLog struct{}

func (driverLog) Print(v ...any) {
	slog.Warn("mysql driver", "msg", fmt.Sprint(v...))
}
