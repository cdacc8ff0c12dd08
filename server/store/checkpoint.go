package store

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SQLite's write-ahead log is copied back into the database file by a
// checkpoint. By default the connection whose commit takes the log past
// 1,000 pages runs it, inside that request, fsync included: a carer's
// dashboard, which writes its access-log row, had a p99 of 25-27 ms at
// 50 req/s against 16 ms with checkpoints moved out of requests (measured
// with `server bench` over 10,000 patients). So the pool's connections
// never checkpoint (wal_autocheckpoint(0) in the DSN) and the store runs a
// PASSIVE checkpoint on a timer, which waits for no reader or writer.

// checkpointEvery is how often a SQLite store checkpoints its log.
const checkpointEvery = time.Second

// checkpointer runs the timed checkpoints of one store until stopped.
type checkpointer struct {
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(db *sql.DB, every time.Duration) *checkpointer {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*every)
			_, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
			if err != nil {
				// The log keeps growing until a checkpoint succeeds; reads
				// and writes go on meanwhile.
				slog.Warn("store: checkpoint failed", "err", err)
			}
		}
	}()
	return c
}

// Stop ends the checkpoints and waits for one in progress.
func (c *checkpointer) Stop() {
	close(c.stop)
	<-c.done
}
