package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints run beside the writer, not in it. SQLite's automatic
// checkpoint runs inside the commit that takes the WAL past
// wal_autocheckpoint pages, on the writer's connection: every Update queued
// behind that commit waited while the WAL was copied into the database file
// and both were fsynced (9 % of the writer's time in a profile of sends).
// Here a connection of its own checkpoints PASSIVE — never waiting for the
// writer or a reader — shortly after commits, and the writer's automatic
// checkpoint is kept only as a backstop, at backstopPages, for a
// checkpointer that falls behind. Durability is unchanged: a commit is in
// the WAL when Update returns, whoever checkpoints it later.

const (
	// checkpointEvery is how often the checkpointer looks for commits.
	checkpointEvery = 100 * time.Millisecond
	// backstopPages is the writer's wal_autocheckpoint (SQLite's default
	// is 1000): about 32 MiB of WAL with 4 KiB pages.
	backstopPages = 8000
)

// checkpointer is the DB's checkpoint loop state.
type checkpointer struct {
	ckpt     *sql.DB // one read-write connection that only checkpoints
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	frames   atomic.Int64 // WAL frames checkpointed by the loop
	failures atomic.Int64
}

func (db *DB) startCheckpointer(ckpt *sql.DB) {
	db.ckpt = ckpt
	db.stop = make(chan struct{})
	db.stopped = make(chan struct{})
	go db.checkpointLoop()
}

// stopCheckpointer stops the loop; the writer's close, as the file's last
// connection, checkpoints what is left.
func (db *DB) stopCheckpointer() {
	db.stopOnce.Do(func() { close(db.stop) })
	<-db.stopped
}

func (db *DB) checkpointLoop() {
	defer close(db.stopped)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var seen int64
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		if n := db.batches.Load(); n != seen {
			seen = n
			db.checkpoint()
		}
	}
}

// checkpoint copies what it can of the WAL into the database file. A
// failure is left to the next round, or to the writer's backstop.
func (db *DB) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var busy, logFrames, done int64
	if err := db.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		db.failures.Add(1)
		return
	}
	if done > 0 {
		db.frames.Add(done)
	}
}
