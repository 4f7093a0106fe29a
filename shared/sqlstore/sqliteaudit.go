package sqlstore

import (
	"context"
	"strings"
	"sync"

	"github.com/lockwell/lockwell/shared/errcode"
)

// sqliteAuditSchema is the schema of the SQLite audit database: the
// audit_log table of migration 0005, which PostgreSQL and MySQL keep in the
// store's database.
const sqliteAuditSchema = "migrations/sqlite/0005_audit.sql"

// sqliteAuditVersion is the audit database's PRAGMA user_version once its
// schema is in place.
const sqliteAuditVersion = 1

// moveBatch is how many audit rows one transaction moves.
const moveBatch = 500

// openSQLiteAudit creates the audit database's schema, and moves into it
// the records that an earlier version kept in the store's own audit_log
// table. The move is safe to interrupt: rows are copied (keeping those
// already there) before they are deleted from the store's database, so a
// crash between the two copies them again at the next open.
func (s *Store) openSQLiteAudit(ctx context.Context) error {
	tx, err := s.auditWriteDB.BeginTx(ctx, nil) // IMMEDIATE: concurrent openers take turns
	if err != nil {
		return classify(err, "begin the audit database's schema")
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return classify(err, "read the audit database's version")
	}
	switch {
	case version > sqliteAuditVersion:
		return errcode.New(errcode.FailedPrecondition, "the audit database is of a newer Lockwell (version %d); upgrade this binary", version)
	case version < sqliteAuditVersion:
		ddl, err := migrationFiles.ReadFile(sqliteAuditSchema)
		if err != nil {
			return errcode.Wrap(errcode.Internal, err, "read the audit schema")
		}
		if _, err := tx.ExecContext(ctx, string(ddl)); err != nil {
			return classify(err, "create the audit database's schema")
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = 1"); err != nil {
			return classify(err, "set the audit database's version")
		}
		if err := tx.Commit(); err != nil {
			return classify(err, "commit the audit database's schema")
		}
	}
	for {
		moved, err := s.moveAuditRows(ctx)
		if err != nil || moved < moveBatch {
			return err
		}
	}
}

// moveAuditRows moves up to moveBatch rows of the store database's
// audit_log into the audit database and returns how many it moved.
func (s *Store) moveAuditRows(ctx context.Context) (int, error) {
	rows, err := s.writeDB.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq LIMIT ?`, moveBatch)
	if err != nil {
		return 0, classify(err, "read the audit records to move")
	}
	recs, err := scanAudit(rows)
	if err != nil || len(recs) == 0 {
		return 0, err
	}
	insert := strings.Replace(insertAudit, "INSERT INTO", "INSERT OR IGNORE INTO", 1)
	if err := s.aw.inTx(ctx, func(tx txConn) error {
		for _, r := range recs {
			if _, err := tx.exec(ctx, insert, auditArgs(&r)...); err != nil {
				return classify(err, "move an audit record")
			}
		}
		return nil
	}); err != nil {
		return 0, err
	}
	last := recs[len(recs)-1].Seq
	if _, err := s.writeDB.ExecContext(ctx, `DELETE FROM audit_log WHERE seq <= ?`, last); err != nil {
		return 0, classify(err, "remove the moved audit records")
	}
	return len(recs), nil
}

// sqliteAuditWriter writes the SQLite audit database. audit.Log batches the
// records of concurrent requests already, so a batch is one transaction of
// its own on the one writer connection, without a group commit. A batch of
// response records only commits with synchronous=NORMAL when the store runs
// FULL (see the audit_log comment in audit.go); any other batch with FULL.
type sqliteAuditWriter struct {
	c    conn
	full bool

	mu     sync.Mutex
	normal bool // the connection runs NORMAL now
}

func (w *sqliteAuditWriter) write(ctx context.Context, relaxed bool, fn func(x execer) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.full && relaxed != w.normal {
		mode := "FULL"
		if relaxed {
			mode = "NORMAL"
		}
		if _, err := w.c.db.ExecContext(ctx, "PRAGMA synchronous = "+mode); err != nil {
			if !relaxed {
				return classify(err, "restore synchronous=full")
			}
		} else {
			w.normal = relaxed
		}
	}
	err := w.c.inTx(ctx, func(tx txConn) error { return fn(tx) })
	w.c.cache.prepareWanted()
	return err
}
