package sqlite

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/belfryhq/belfry/store"
	"github.com/belfryhq/belfry/store/sqlstore"
)

// Group commit. Update hands its fn to the write loop, which runs the
// Updates queued meanwhile (up to maxBatch) one after the other in a single
// SQLite transaction. One COMMIT then makes them all durable together, and
// each Update returns only after it. The store.Store contract is
// unchanged: every Update is atomic, they are serializable (they run one
// at a time), and AfterCommit functions run in commit order, before the
// next batch begins.
//
// Batch size. Most of a commit's cost is the same for one Update or
// sixty: BEGIN and COMMIT, and the pages every send rewrites (the last
// leaf of the message table and of its time and id indexes, the channel's
// row, the outbox's last page, the sequence table, the header), written to
// the WAL once a commit. Yet on a busy server the queue was nearly empty
// whenever a batch began, five Updates on average at 64 clients on two
// cores: the goroutines of the next requests were ready to run but waited
// for a processor the write loop held. So the loop yields once before it
// takes a batch (runtime.Gosched puts it behind the goroutines ready to
// run, which run up to their Update; no timer, no idle processor), and a
// batch takes in, one after the other until its COMMIT, the Updates
// queued (up to maxBatch). Batches grew to about 23 Updates, and the
// writer's CPU per send and the sends' p99 fell (docs/benchmarks.md). With
// nothing else ready to run, the yield returns at once.
//
// Undo. A failing fn must undo only its own writes. Most fns that fail do
// so before they write (a refusal after reads), and those need no undo;
// so a batch runs first without savepoints (runPlain). Only when an fn
// fails after writing (or a statement failed in a way that may have ended
// the transaction) is the transaction rolled back and the batch run again
// with each fn under its own SAVEPOINT (runGuarded), the failed fn
// included: its outcome may rest on writes of the discarded run.
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
	// q runs fn's statements and notes whether they wrote; tx is fn's
	// transaction on q, before its BeforeCommit functions.
	q      detachedQuerier
	tx     sqlstore.Tx
	before []func(context.Context) error
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
		if len(db.queue) < maxBatch {
			// Let the request goroutines that are ready to run reach the
			// queue first: see "Batch size" above.
			runtime.Gosched()
		}
		batch := make([]*writeReq, 1, maxBatch)
		batch[0] = r
		db.runBatch(batch) // which takes in the queued Updates as it runs
		db.finishCheckpoint()
	}
}

// runBatch runs a batch in one transaction and answers its requests:
// first without savepoints (runPlain); if an Update has to be undone, the
// batch again with a savepoint per Update (runGuarded).
func (db *DB) runBatch(batch []*writeReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	var ok bool
	if batch, ok = db.runPlain(batch); !ok {
		batch = db.runGuarded(batch)
	}
}

// begin begins the batch's transaction, failing the batch if it cannot.
// The transaction is begun and ended with statements on the writer's
// connection (see detachedQuerier); IMMEDIATE as the DSN's _txlock.
func (db *DB) begin(batch []*writeReq) bool {
	if _, err := db.conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		fail(batch, fmt.Errorf("sqlite: begin: %w", err))
		return false
	}
	return true
}

func (db *DB) rollback() { _, _ = db.conn.ExecContext(context.Background(), "ROLLBACK") }

// fail fails the batch's requests that have not failed yet.
func fail(batch []*writeReq, err error) {
	for _, r := range batch {
		if r.ok() {
			r.err = err
		}
	}
}

// runPlain runs the batch's fns one after the other in one transaction,
// without savepoints: a SAVEPOINT and RELEASE for every Update cost two
// statements, and SQLite copies each page an Update first changes into
// the sub-journal, to undo what is almost never undone. An fn that fails
// without having written (see detachedQuerier.wrote) needs no undo. When
// one fails after writing, panics after writing, has its ctx end while
// it runs after writing, or a statement fails in a way that may have
// ended the transaction, runPlain rolls the whole transaction back and
// reports false: the batch must run again, in runGuarded, every fn in it,
// the failed one too. No outcome of the discarded run is kept, not even a
// failure: an fn's result may rest on what an earlier fn of the batch
// wrote, and that earlier fn writes something else when it runs again (a
// new message id: a retry answered with the discarded run's id would
// name a message that does not exist). The discarded run's AfterCommit
// functions are dropped; its fns run again, as a store may run them.
// It returns the batch with the Updates it took in.
func (db *DB) runPlain(batch []*writeReq) ([]*writeReq, bool) {
	if !db.begin(batch) {
		return batch, true
	}
	ran := 0
	// What was queued while the batch ran joins it: see "Batch size".
	for i := 0; i < len(batch) || db.takeQueued(&batch); i++ {
		r := batch[i]
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		r.panic, r.err = db.call(r)
		if r.ok() {
			r.err = r.ctx.Err() // cancelled while fn ran: undo it all the same
		}
		if r.q.broken || !r.ok() && r.q.wrote {
			db.rollback()
			for _, o := range batch {
				o.err, o.panic, o.hooks = nil, nil, nil
			}
			return batch, false
		}
		if r.ok() {
			ran++
		}
	}
	db.commit(batch, ran)
	return batch, true
}

// takeQueued appends to the batch an Update waiting in the queue, if the
// batch has room and one is there, and reports whether it did.
func (db *DB) takeQueued(batch *[]*writeReq) bool {
	if len(*batch) >= maxBatch {
		return false
	}
	select {
	case r, ok := <-db.queue:
		if ok {
			*batch = append(*batch, r)
		}
		return ok
	default:
		return false
	}
}

// runGuarded runs the batch's fns, each under its own SAVEPOINT: a
// failing fn rolls back to its savepoint and undoes only its own writes.
// It too takes in what is queued, and returns the batch with it.
func (db *DB) runGuarded(batch []*writeReq) []*writeReq {
	bg := context.Background()
	conn := db.conn
	if !db.begin(batch) {
		return batch
	}
	ran := 0
	for i := 0; i < len(batch) || db.takeQueued(&batch); i++ {
		r := batch[i]
		if err := r.ctx.Err(); err != nil {
			r.err = err
			continue
		}
		if _, err := conn.ExecContext(bg, "SAVEPOINT u"); err != nil {
			db.rollback()
			fail(batch, fmt.Errorf("sqlite: savepoint: %w", err))
			return batch
		}
		r.panic, r.err = db.call(r)
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
			db.rollback()
			fail(batch, fmt.Errorf("sqlite: %s: %w", undo, err))
			return batch
		}
	}
	db.commit(batch, ran)
	return batch
}

// commit commits the batch's transaction, in which ran fns succeeded, and
// runs their AfterCommit functions.
func (db *DB) commit(batch []*writeReq, ran int) {
	if ran == 0 {
		db.rollback()
		return
	}
	if _, err := db.conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		// A failed COMMIT may leave the transaction open: end it, so
		// that the next batch can begin.
		db.rollback()
		fail(batch, fmt.Errorf("sqlite: commit: %w", translate(err)))
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
func (db *DB) call(r *writeReq) (p any, err error) {
	defer func() {
		if v := recover(); v != nil {
			p = v
		}
	}()
	// The transaction's parts live in r, which is on the heap already,
	// rather than in allocations of their own.
	r.q = detachedQuerier{conn: db.conn}
	r.before = nil
	r.tx = sqlstore.NewTx(&r.q, &dialect, &r.hooks, &r.before)
	if err := r.fn(&r.tx); err != nil {
		return nil, err
	}
	// A BeforeCommit function may register another; run them all.
	for i := 0; i < len(r.before); i++ {
		if err := r.before[i](r.ctx); err != nil {
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
