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
