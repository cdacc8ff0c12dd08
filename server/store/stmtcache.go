package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
)

// The SQLite driver compiles every statement it is sent, each time: the
// dashboard's 18 statements spent a quarter of its CPU time in SQLite's
// parser and planner (measured with `server bench`). Each pooled SQLite
// connection therefore keeps its compiled statements by SQL text, as
// database/sql's own prepared statements would if Ent used them. The
// SQL text Ent builds is the same for every request of a kind (values are
// bound), so a small cache holds all of them.

// Bounds of a connection's statement cache.
const (
	stmtCacheSize = 256
	// stmtCacheMaxSQL keeps bulk INSERTs of many rows out of the cache.
	stmtCacheMaxSQL = 8 << 10
)

// cachingConnector opens SQLite connections that keep their statements.
type cachingConnector struct {
	dsn  string
	drv  driver.Driver
	gate writeGate // shared by the pool's connections (see writegate.go)
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	cc, err := newCachingConn(conn)
	if err != nil {
		return nil, err
	}
	cc.gate = c.gate
	return cc, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// errNoContext is a driver connection without the context methods the
// cache needs; modernc's has them all.
var errNoContext = errors.New("store: the SQLite driver lacks context methods")

// sqliteConn is what the cache needs of the driver's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
	driver.ConnBeginTx
}

// cachingConn is a driver connection with a statement cache. database/sql
// uses a connection from one goroutine at a time (Rows included), so the
// cache needs no lock.
type cachingConn struct {
	sqliteConn
	stmts map[string]*cachedStmt
	order []string // oldest first, for eviction
	gate  writeGate
	// endTx leaves the gate for the open transaction; nil outside one.
	endTx func()
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtQueryContext
		driver.StmtExecContext
	}
	// busy is set while rows of the statement are open: a second query
	// with the same text (a nested read in a transaction) then compiles
	// its own.
	busy bool
}

func newCachingConn(c driver.Conn) (*cachingConn, error) {
	sc, ok := c.(sqliteConn)
	if !ok {
		_ = c.Close()
		return nil, errNoContext
	}
	return &cachingConn{sqliteConn: sc, stmts: map[string]*cachedStmt{}}, nil
}

// cached returns the compiled statement for query, or nil when it is not
// to be cached or is in use.
func (c *cachingConn) cached(ctx context.Context, query string) (*cachedStmt, error) {
	if len(query) > stmtCacheMaxSQL {
		return nil, nil
	}
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil, nil
		}
		return s, nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	full, ok := st.(interface {
		driver.Stmt
		driver.StmtQueryContext
		driver.StmtExecContext
	})
	if !ok {
		_ = st.Close()
		return nil, nil
	}
	if len(c.order) >= stmtCacheSize {
		oldest := c.order[0]
		if old := c.stmts[oldest]; !old.busy {
			_ = old.stmt.Close()
			delete(c.stmts, oldest)
			c.order = c.order[1:]
		}
	}
	s := &cachedStmt{stmt: full}
	if len(c.order) < stmtCacheSize {
		c.stmts[query] = s
		c.order = append(c.order, query)
	}
	return s, nil
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, s: s}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.gate != nil && c.endTx == nil && writes(query) {
		defer c.gate.enter(ctx)()
	}
	s, err := c.cached(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return s.stmt.ExecContext(ctx, args)
}

// BeginTx queues at the pool's write gate: with _txlock=immediate every
// transaction takes SQLite's write lock at BEGIN.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.gate == nil {
		return c.sqliteConn.BeginTx(ctx, opts)
	}
	leave := c.gate.enter(ctx)
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil {
		leave()
		return nil, err
	}
	ended := false
	end := func() {
		if !ended {
			ended, c.endTx = true, nil
			leave()
		}
	}
	c.endTx = end
	return &gatedTx{Tx: tx, end: end}, nil
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	if c.endTx != nil {
		// database/sql ends a transaction before it closes the
		// connection; should one close inside a transaction anyway, the
		// other writers must not wait for it.
		c.endTx()
	}
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	c.stmts, c.order = nil, nil
	return errors.Join(append(errs, c.sqliteConn.Close())...)
}

// The optional interfaces database/sql looks for, passed through.

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.sqliteConn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.sqliteConn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.sqliteConn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows frees its statement for reuse when closed (the driver resets
// it rather than finalizing it).
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

// The column type methods of the driver's rows pass through.
type columnTyped interface {
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(columnTyped); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(columnTyped); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(columnTyped); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(columnTyped); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(columnTyped); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
