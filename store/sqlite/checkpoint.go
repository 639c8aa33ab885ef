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
//
// Under steady writes a PASSIVE checkpoint never finishes the WAL: the
// writer appends while it copies. SQLite restarts the WAL from its start
// only when a write transaction begins with every frame copied, so the WAL
// used to grow until the backstop's checkpoint ran inside a commit, copying
// thousands of frames and fsyncing both files there: a 15-25 ms stall of
// every queued send, a few times a second (issue 15's p99). So once the WAL
// holds restartFrames, the checkpointer copies twice in a row (the second
// time only what came meanwhile) and asks the writer to finish between two
// batches (finishCheckpoint): what is left then is a few frames, copied
// and synced in about a millisecond or two while no batch runs, after
// which the next batch restarts the WAL.

const (
	// checkpointEvery is how often the checkpointer looks for commits.
	checkpointEvery = 100 * time.Millisecond
	// backstopPages is the writer's wal_autocheckpoint (SQLite's default
	// is 1000): about 32 MiB of WAL with 4 KiB pages.
	backstopPages = 8000
	// restartFrames is the WAL's length at which the writer is asked to
	// finish a checkpoint, so that the WAL restarts: about 4 MiB.
	restartFrames = 1000
)

// checkpointer is the DB's checkpoint loop state.
type checkpointer struct {
	ckpt     *sql.DB // one read-write connection that only checkpoints
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	frames   atomic.Int64 // WAL frames checkpointed by the loop
	failures atomic.Int64
	// finish asks the writer for finishCheckpoint after its batch.
	finish   atomic.Bool
	finished atomic.Int64 // the writer's finishing checkpoints
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
	logFrames, ok := db.passive(ctx, db.ckpt)
	if !ok || logFrames < restartFrames {
		return
	}
	if _, ok := db.passive(ctx, db.ckpt); ok {
		db.finish.Store(true)
	}
}

// passive runs a PASSIVE checkpoint on conn and returns the WAL's length
// in frames; a failure is counted.
func (db *DB) passive(ctx context.Context, conn interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (logFrames int64, ok bool) {
	var busy, done int64
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		db.failures.Add(1)
		return 0, false
	}
	if done > 0 {
		db.frames.Add(done)
	}
	return logFrames, true
}

// finishCheckpoint runs in the write loop, between batches, when the
// checkpointer asked for it: on the writer's connection, with no write in
// progress, it copies the WAL's last frames (and syncs, as every
// checkpoint does), so that the next batch restarts the WAL.
func (db *DB) finishCheckpoint() {
	if !db.finish.CompareAndSwap(true, false) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, ok := db.passive(ctx, db.conn); ok {
		db.finished.Add(1)
	}
}
