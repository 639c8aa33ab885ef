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
// and synced while no batch runs, after which the next batch restarts the
// WAL.
//
// That finish is still a pause of the writer: it syncs the WAL and the
// database file, 2-4 ms on a quiet disk and 9-16 ms on a busy one, and
// every send queued meanwhile waits for it. At one finish every round
// (ten a second under load) about one send in nine overlapped one, which
// put the pauses into the p99 of sends at 64 clients. So the writer is
// asked to finish at most every finishEvery, unless the WAL passes
// restartMaxFrames first: two pauses a second reach two or three sends in
// a hundred. A pause is what the writer appended since the checkpointer's
// second copy, copied and synced with the WAL and the database file; a
// restart needs those syncs (the frames it overwrites must be in the synced
// database file).
//
// The WAL stays bounded: while the checkpointer keeps up it restarts every
// finishEvery or once past restartMaxFrames, plus what comes in during the
// round that asks (about 80 MB at 9,500 sends a second); if it does not,
// the backstop checkpoints inside a commit at backstopPages (about
// 128 MiB).

const (
	// checkpointEvery is how often the checkpointer looks for commits.
	checkpointEvery = 100 * time.Millisecond
	// backstopPages is the writer's wal_autocheckpoint (SQLite's default
	// is 1000): about 128 MiB of WAL with 4 KiB pages, twice
	// restartMaxFrames, so that it acts only if the checkpointer falls
	// behind.
	backstopPages = 32000
	// restartFrames is the WAL's length at which the writer may be asked
	// to finish a checkpoint, so that the WAL restarts: about 4 MiB.
	restartFrames = 1000
	// finishEvery is the least time between two finishing checkpoints of
	// the writer while the WAL is shorter than restartMaxFrames. Under
	// the sends load the WAL grows by 15,000-20,000 frames in that time.
	finishEvery = 500 * time.Millisecond
	// restartMaxFrames is the WAL's length past which the writer is asked
	// to finish at the next round whenever it last did: about 64 MiB.
	restartMaxFrames = 16000
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
	// finishedAt is when the writer last finished a checkpoint, in Unix
	// nanoseconds (0: never).
	finishedAt atomic.Int64
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
	if db.finish.Load() {
		// The writer has yet to finish the last round's checkpoint: a
		// copy now would hold SQLite's checkpoint lock, and the writer's
		// finish would find it busy and do nothing.
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	logFrames, _, ok := db.passive(ctx, db.ckpt)
	if !ok || !finishDue(logFrames, time.Since(time.Unix(0, db.finishedAt.Load()))) {
		return
	}
	if _, _, ok := db.passive(ctx, db.ckpt); ok {
		db.finish.Store(true)
	}
}

// finishDue reports whether the checkpointer asks the writer to finish,
// for a WAL of logFrames frames and since its last finish.
func finishDue(logFrames int64, since time.Duration) bool {
	switch {
	case logFrames < restartFrames:
		return false
	case logFrames >= restartMaxFrames:
		return true
	default:
		return since >= finishEvery
	}
}

// passive runs a PASSIVE checkpoint on conn and returns the WAL's length
// in frames and whether every frame is now in the database file (SQLite
// answers busy, and nothing is copied, while another connection holds the
// checkpoint lock); a failure is counted.
func (db *DB) passive(ctx context.Context, conn interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (logFrames int64, all, ok bool) {
	var busy, done int64
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done); err != nil {
		db.failures.Add(1)
		return 0, false, false
	}
	if done > 0 {
		db.frames.Add(done)
	}
	return logFrames, busy == 0 && logFrames >= 0 && done == logFrames, true
}

// finishCheckpoint runs in the write loop, between batches, when the
// checkpointer asked for it: on the writer's connection, with no write in
// progress, it copies the WAL's last frames (and syncs, as every
// checkpoint does), so that the next batch restarts the WAL. Only a finish
// that copied everything counts and starts the next finishEvery: one that
// found the checkpoint busy is asked for again at the next round.
func (db *DB) finishCheckpoint() {
	if !db.finish.CompareAndSwap(true, false) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, all, ok := db.passive(ctx, db.conn); ok && all {
		db.finished.Add(1)
		db.finishedAt.Store(time.Now().UnixNano())
	}
}
