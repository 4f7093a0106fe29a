package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStatements bounds a statement cache. List queries come in a few
// hundred shapes (filters present or not, sort, direction, cursor), so the
// bound is only a guard.
const maxCachedStatements = 512

// stmtCache keeps prepared statements by query text, so that SQLite does not
// parse and plan a statement on every call (pgx caches statements itself).
// Safe for concurrent use.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// wanted are statements a transaction ran unprepared, to prepare once
	// no transaction holds the connection (prepareWanted).
	wanted map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

// stmt returns the prepared statement for query, preparing it on first use;
// nil when the cache is full.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	if len(c.m) >= maxCachedStatements {
		return nil, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

// prepared returns the statement for query if it is prepared already, and
// otherwise notes that query is wanted.
func (c *stmtCache) prepared(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.m[query]
	if st == nil && len(c.m)+len(c.wanted) < maxCachedStatements {
		if c.wanted == nil {
			c.wanted = map[string]bool{}
		}
		c.wanted[query] = true
	}
	return st
}

// prepareWanted prepares the wanted statements. The caller must not hold a
// transaction of the pool (SQLite's writer has one connection). A statement
// that fails to prepare is dropped: it keeps running unprepared.
func (c *stmtCache) prepareWanted() {
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	for q := range wanted {
		_, _ = c.stmt(context.Background(), q)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// conn is a pool, with its statement cache when the dialect wants one.
type conn struct {
	db    *sql.DB
	cache *stmtCache // nil: run statements on db directly
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.cache != nil {
		st, err := c.cache.stmt(ctx, query)
		if err != nil {
			return nil, err
		}
		if st != nil {
			return st.ExecContext(ctx, args...)
		}
	}
	return c.db.ExecContext(ctx, query, args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if c.cache != nil {
		st, err := c.cache.stmt(ctx, query)
		if err != nil {
			return nil, err
		}
		if st != nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return c.db.QueryContext(ctx, query, args...)
}

// queryRow runs a query expected to return at most one row; its error, if
// any, is reported by the returned row's Scan.
func (c conn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if c.cache != nil {
		if st, err := c.cache.stmt(ctx, query); err == nil && st != nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// execer runs statements: a pool (conn) or one transaction (txConn).
type execer interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
}

// txConn runs statements in a transaction, through the pool's cached
// prepared statements when there are any.
type txConn struct {
	tx    *sql.Tx
	cache *stmtCache
}

// stmt returns the transaction's copy of the statement when the pool has it
// prepared already. It never prepares one on the pool: the pool's only
// connection may be the one this transaction holds (SQLite's writer).
func (c txConn) stmt(ctx context.Context, query string) *sql.Stmt {
	if c.cache == nil {
		return nil
	}
	if st := c.cache.prepared(query); st != nil {
		return c.tx.StmtContext(ctx, st)
	}
	return nil
}

func (c txConn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.tx.ExecContext(ctx, query, args...)
}

func (c txConn) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.tx.QueryRowContext(ctx, query, args...)
}

// inTx runs fn in a transaction of the writing pool and commits it when fn
// succeeds (SQLite's writer begins IMMEDIATE: the write lock is taken at
// BEGIN). Everything fn runs must go through the txConn: the SQLite writer
// has one connection.
func (c conn) inTx(ctx context.Context, fn func(tx txConn) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "begin transaction")
	}
	if err := fn(txConn{tx: tx, cache: c.cache}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return classify(err, "commit")
	}
	return nil
}
