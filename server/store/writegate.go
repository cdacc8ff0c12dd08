package store

import (
	"context"
	"database/sql/driver"
	"strings"
	"time"
)

// SQLite lets one connection write at a time. A second writer gets
// SQLITE_BUSY and the busy handler sleeps (1, 2, 5, 10 ms and on, up to
// 100 ms a time) before trying again, so a write that loses a race can wait
// far longer than the write it lost to. The pool's connections therefore
// queue for a gate before they write (a transaction, which BEGIN IMMEDIATE
// makes a writer from its start, or a write statement outside one), and a
// writer that leaves hands the gate to the next at once. With four writers
// contending (BenchmarkContendedWrites) the slowest write took about 1 ms
// instead of 130-180 ms; the busy handler, which lets the winner go on
// writing while the others sleep, had twice the throughput at that
// saturation. The gate covers one pool: another process on the same file
// still meets the busy handler.

// gateWait is how long a writer queues at the gate before it goes on
// without it and leaves the wait to SQLite's busy_timeout: a goroutine that
// holds a transaction and writes through another connection would
// otherwise wait for itself.
const gateWait = 5 * time.Second

// writeGate admits one writer of a pool at a time.
type writeGate chan struct{}

func newWriteGate() writeGate { return make(writeGate, 1) }

// enter waits for the gate and returns the function that leaves it; after
// gateWait, or when ctx ends, it returns a no-op and the writer goes on
// ungated.
func (g writeGate) enter(ctx context.Context) (leave func()) {
	select {
	case g <- struct{}{}:
		return g.leave
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return g.leave
	case <-t.C:
	case <-ctx.Done():
	}
	return func() {}
}

func (g writeGate) leave() { <-g }

// writes reports whether query changes the database: those statements
// queue at the gate outside a transaction. Reads and PRAGMAs (the timed
// checkpoint among them) do not.
func writes(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "INSERT", "UPDATE", "DELETE", "REPLAC":
		return true
	}
	return false
}

// gatedTx leaves the gate when the transaction ends.
type gatedTx struct {
	driver.Tx
	end func()
}

func (t *gatedTx) Commit() error {
	defer t.end()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.end()
	return t.Tx.Rollback()
}
