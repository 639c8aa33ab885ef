package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"

	msqlite "modernc.org/sqlite"
)

// The statement cache. Parsing and planning a statement costs SQLite more
// than running one of Belfry's indexed lookups, and database/sql prepares
// every statement again each time it runs unless the caller keeps a
// *sql.Stmt, which it cannot do across transactions of the single writer.
// So the driver is wrapped: each connection keeps the statements it
// prepared, by SQL text, and hands a free one out again instead of
// preparing anew. database/sql uses one connection from one goroutine at a
// time, so the cache needs no lock.
//
// The wrapped connection deliberately does not implement
// driver.ExecerContext or driver.QueryerContext: without them database/sql
// prepares (here: takes from the cache), runs and closes (here: gives back)
// every statement, which is exactly the cache's life cycle.

// maxCachedStmts bounds each connection's cache; Belfry's SQL is a fixed
// set of texts (a few vary with list lengths), far below it.
const maxCachedStmts = 512

// cachingConnector opens modernc connections wrapped in the cache.
type cachingConnector struct {
	dsn string
	drv *msqlite.Driver
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// inner is what database/sql needs of a modernc connection besides
// driver.Conn.
type inner interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

func (c *cachingConn) in() inner { return c.Conn.(inner) }

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if s := c.stmts[query]; s != nil && !s.busy {
		s.busy = true
		return s, nil
	}
	st, err := c.in().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, taken := c.stmts[query]; taken || len(c.stmts) >= maxCachedStmts {
		return st, nil // the cached one is busy (a nested use), or the cache is full: a plain statement
	}
	s := &cachedStmt{Stmt: st, busy: true}
	c.stmts[query] = s
	return s, nil
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.in().BeginTx(ctx, opts)
}

func (c *cachingConn) Ping(ctx context.Context) error         { return c.in().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.in().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.in().IsValid() }

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.Stmt.Close())
	}
	c.stmts = nil
	return errors.Join(append(errs, c.Conn.Close())...)
}

// cachedStmt is a statement of the cache; Close gives it back.
type cachedStmt struct {
	driver.Stmt
	busy bool
}

func (s *cachedStmt) Close() error { s.busy = false; return nil }

func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
