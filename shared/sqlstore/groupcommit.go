package sqlstore

import (
	"context"
	"database/sql"
	"sync"

	"github.com/lockwell/lockwell/shared/errcode"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 128

// groupCommitter makes SQLite's one writer connection serve concurrent
// writers with one fsync per group instead of one per write: a goroutine
// takes the writes queued while the previous group was committing, runs
// each in its own savepoint of one IMMEDIATE transaction (so a failing
// write rolls back alone), commits once, and only then answers each writer.
// An answer of success therefore always comes after the commit that made the
// write durable (synchronous=full fsyncs the WAL at commit), so grouping
// never acknowledges a write that a crash could lose. A write whose context
// ended while it was queued is not run.
//
// Statements are prepared once: a statement a group ran unprepared is
// prepared on the writer between groups (while no transaction holds the one
// connection) and reused by every later group.
type groupCommitter struct {
	db    *sql.DB
	cache *stmtCache
	ops   chan *groupOp
	stop  chan struct{}
	once  sync.Once
	done  sync.WaitGroup
}

type groupOp struct {
	ctx    context.Context
	fn     func(x execer) error
	result chan error
}

func newGroupCommitter(db *sql.DB, cache *stmtCache) *groupCommitter {
	g := &groupCommitter{db: db, cache: cache, ops: make(chan *groupOp), stop: make(chan struct{})}
	g.done.Add(1)
	go g.loop()
	return g
}

// do runs fn in the next group and returns its outcome once the group is
// committed. Errors: fn's, or the commit's (classified), or
// unavailable when ctx ends before fn ran or the store is closing.
func (g *groupCommitter) do(ctx context.Context, fn func(x execer) error) error {
	op := &groupOp{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case g.ops <- op:
	case <-ctx.Done():
		return errcode.Wrap(errcode.Unavailable, ctx.Err(), "gave up waiting to write")
	case <-g.stop:
		return errcode.New(errcode.Unavailable, "the store is closing")
	}
	return <-op.result // always answered: the write may be running already
}

// close stops the loop after the group in progress; later calls do nothing.
func (g *groupCommitter) close() {
	g.once.Do(func() { close(g.stop) })
	g.done.Wait()
}

func (g *groupCommitter) loop() {
	defer g.done.Done()
	for {
		var group []*groupOp
		select {
		case op := <-g.ops:
			group = append(group, op)
		case <-g.stop:
			return
		}
	drain:
		for len(group) < maxGroup {
			select {
			case op := <-g.ops:
				group = append(group, op)
			default:
				break drain
			}
		}
		g.commit(group)
		if g.cache != nil {
			g.cache.prepareWanted()
		}
	}
}

func (g *groupCommitter) commit(group []*groupOp) {
	results := make([]error, len(group))
	answer := func() {
		for i, op := range group {
			op.result <- results[i]
		}
	}
	defer answer()
	ctx := context.Background() // the group outlives any one writer's context
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		err = classify(err, "begin transaction")
		for i := range results {
			results[i] = err
		}
		return
	}
	x := txConn{tx: tx, cache: g.cache}
	for i, op := range group {
		if err := op.ctx.Err(); err != nil {
			results[i] = errcode.Wrap(errcode.Unavailable, err, "gave up waiting to write")
			continue
		}
		if len(group) == 1 {
			results[i] = op.fn(x)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
			results[i] = classify(err, "begin a write in the group")
			continue
		}
		if results[i] = op.fn(x); results[i] != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
				g.fail(tx, results, classify(err, "roll a failed write back"))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE w"); err != nil {
			g.fail(tx, results, classify(err, "end a write in the group"))
			return
		}
	}
	if len(group) == 1 && results[0] != nil {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		err = classify(err, "commit")
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
}

// fail rolls the whole group back and gives err to every write that had
// not failed on its own.
func (g *groupCommitter) fail(tx *sql.Tx, results []error, err error) {
	_ = tx.Rollback()
	for i := range results {
		if results[i] == nil {
			results[i] = err
		}
	}
}
