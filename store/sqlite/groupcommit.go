package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// Group commit. Update hands its fn to the write loop, which runs the
// Updates queued meanwhile (up to maxBatch) one after the other in a single
// SQLite transaction, each under its own SAVEPOINT: a failing fn rolls back
// to its savepoint and undoes only its own writes. One COMMIT then makes
// them all durable together, and each Update returns only after it. The
// store.Store contract is unchanged: every Update is atomic, they are
// serializable (they run one at a time), and AfterCommit functions run in
// commit order, before the next batch begins.
//
// Cancellation: an Update whose ctx ends before its fn has returned
// returns the ctx's error and keeps nothing; but a started fn's statements
// are not interrupted (see detachedQuerier).

// maxBatch bounds a batch, so one commit never waits on too many fns.
const maxBatch = 64

var errClosed = errors.New("sqlite: database is closed")

// writeReq is one Update on its way through the write loop.
type writeReq struct {
	ctx   context.Context
	fn    func(store.Tx) error
	err   error
	panic any
	hooks []func()
	done  chan struct{}
}

// ok reports whether the request's fn succeeded so far.
func (r *writeReq) ok() bool { return r.err == nil && r.panic == nil }

// writeQueue is the DB's write loop state.
type writeQueue struct {
	mu       sync.RWMutex // guards closed against sends on a closed queue
	closed   bool
	queue    chan *writeReq
	loopDone chan struct{}

	queued, batches, committed atomic.Int64
}

func (db *DB) startWriter() {
	db.queue = make(chan *writeReq, 4*maxBatch)
	db.loopDone = make(chan struct{})
	go db.writeLoop()
}

// stopWriter lets the queued Updates finish and stops the loop.
func (db *DB) stopWriter() {
	db.mu.Lock()
	if !db.closed {
		db.closed = true
		close(db.queue)
	}
	db.mu.Unlock()
	<-db.loopDone
}

// Update implements store.Store.
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	db.queued.Add(1)
	defer db.queued.Add(-1)
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return errClosed
	}
	db.queue <- r
	db.mu.RUnlock()
	<-r.done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

func (db *DB) writeLoop() {
	defer close(db.loopDone)
	for r := range db.queue {
		batch := []*writeReq{r}
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-db.queue:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		db.runBatch(batch)
		db.finishCheckpoint()
	}
}

// runBatch runs a batch in one transaction and answers its requests.
func (db *DB) runBatch(batch []*writeReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	bg := context.Background()
	fail := func(err error) {
		for _, r := range batch {
			if r.ok() {
				r.err = err
			}
		}
	}
	// The transaction is begun and ended with statements on the writer's
	// connection (see detachedQuerier); IMMEDIATE as the DSN's _txlock.
	conn := db.conn
	rollback := func() { _, _ = conn.ExecContext(bg, "ROLLBACK") }
	if _, err := conn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	ran := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if _, err := conn.ExecContext(bg, "SAVEPOINT u"); err != nil {
			rollback()
			fail(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		r.panic, r.err = call(r, conn)
		if r.ok() {
			r.err = r.ctx.Err() // cancelled while fn ran: undo it all the same
		}
		undo := "RELEASE u"
		if !r.ok() {
			undo = "ROLLBACK TO u; RELEASE u"
		} else {
			ran++
		}
		if _, err := conn.ExecContext(bg, undo); err != nil {
			rollback()
			fail(fmt.Errorf("sqlite: %s: %w", undo, err))
			return
		}
	}
	if ran == 0 {
		rollback()
		return
	}
	if _, err := conn.ExecContext(bg, "COMMIT"); err != nil {
		// A failed COMMIT may leave the transaction open: end it, so
		// that the next batch can begin.
		rollback()
		fail(fmt.Errorf("sqlite: commit: %w", translate(err)))
		return
	}
	db.batches.Add(1)
	db.committed.Add(int64(ran))
	for _, r := range batch {
		if r.ok() {
			runHooks(r)
		}
	}
}

// call runs r's fn, catching a panic so that the batch survives it; Update
// panics again in the caller's goroutine.
func call(r *writeReq, conn *sql.Conn) (p any, err error) {
	defer func() {
		if v := recover(); v != nil {
			p = v
		}
	}()
	var before []func(context.Context) error
	wtx := sqlstore.NewTx(detachedQuerier{conn}, &dialect, &r.hooks, &before)
	if err := r.fn(wtx); err != nil {
		return nil, err
	}
	// A BeforeCommit function may register another; run them all.
	for i := 0; i < len(before); i++ {
		if err := before[i](r.ctx); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// runHooks runs r's AfterCommit functions; a panic in one goes to r's
// caller, as if the hook had run there.
func runHooks(r *writeReq) {
	defer func() {
		if v := recover(); v != nil {
			r.panic = v
		}
	}()
	for _, f := range r.hooks {
		f()
	}
}
