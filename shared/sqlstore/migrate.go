package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
)

// migrationFiles holds the schema migrations, one directory per dialect.
// A migration is NNNN_what.sql; NNNN is its version. Migrations are
// append-only: never edit one that has shipped, add the next.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order.
func (d *dialect) migrations() ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "read %s migrations", d.name)
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, errcode.New(errcode.Internal, "migration %s is not named NNNN_what.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "read migration %s", e.Name())
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// migrate brings the schema up to date. In SQLite and PostgreSQL it runs in
// one transaction, so a failed migration leaves the schema as it was. MySQL
// commits at every schema change, so there each migration's statements run
// in turn and a failure can leave part of one migration applied (its
// version is not recorded, and the error names it); write MySQL migrations
// so that each statement is one complete change. Several processes may
// open the store at once: SQLite's BEGIN IMMEDIATE (the writer's
// transactions), PostgreSQL's advisory lock or MySQL's named lock makes
// them take turns, and each applies only the versions schema_migrations does
// not list yet. A database newer than this binary (a version it does not
// know) is refused.
func migrate(ctx context.Context, db *sql.DB, d *dialect) error {
	all, err := d.migrations()
	if err != nil {
		return err
	}
	return applyMigrations(ctx, db, d, all)
}

// applyMigrations applies those of all (in version order) that the database
// has not applied yet.
func applyMigrations(ctx context.Context, db *sql.DB, d *dialect, all []migration) error {
	if d.ddlCommits {
		return applyMigrationsLocked(ctx, db, d, all)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err, "begin migration")
	}
	defer tx.Rollback()
	if d.lockMigrations != "" {
		if _, err := tx.ExecContext(ctx, d.lockMigrations); err != nil {
			return classify(err, "lock migrations")
		}
	}
	changed, err := applyPending(ctx, tx, d, all)
	if err != nil || !changed {
		return err // the deferred rollback ends the (read-only) transaction
	}
	return classify(tx.Commit(), "commit migrations")
}

// applyMigrationsLocked applies the pending migrations on one connection
// that holds the dialect's session lock, for dialects whose schema changes
// commit (ddlCommits). The lock ends with the session if the process dies.
func applyMigrationsLocked(ctx context.Context, db *sql.DB, d *dialect, all []migration) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return classify(err, "connect to migrate")
	}
	defer c.Close()
	var locked sql.NullInt64
	if err := c.QueryRowContext(ctx, d.lockMigrations).Scan(&locked); err != nil {
		return classify(err, "lock migrations")
	}
	if locked.Int64 != 1 {
		return errcode.New(errcode.Unavailable, "another process has been migrating the database for 10 minutes; retry later")
	}
	defer c.ExecContext(context.WithoutCancel(ctx), d.unlockMigrations)
	_, err = applyPending(ctx, c, d, all)
	return err
}

// execQuerier is a transaction or a connection.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// applyPending creates schema_migrations if needed, refuses a database newer
// than all, and applies (and records) each migration it does not list. It
// reports whether it applied any.
func applyPending(ctx context.Context, db execQuerier, d *dialect, all []migration) (bool, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name    TEXT    NOT NULL,
		applied TEXT    NOT NULL
	)`); err != nil {
		return false, classify(err, "create schema_migrations")
	}
	applied := map[int]bool{}
	latest := 0
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return false, classify(err, "read schema_migrations")
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return false, classify(err, "read schema_migrations")
		}
		applied[v] = true
		latest = max(latest, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, classify(err, "read schema_migrations")
	}
	if known := all[len(all)-1].version; latest > known {
		return false, errcode.New(errcode.FailedPrecondition,
			"the database schema is at version %d, newer than this binary knows (%d); upgrade Lockwell", latest, known)
	}
	changed := false
	for _, m := range all {
		if applied[m.version] {
			continue
		}
		stmts := []string{m.sql}
		if d.splitStatements {
			stmts = splitStatements(m.sql)
		}
		for _, st := range stmts {
			if _, err := db.ExecContext(ctx, st); err != nil {
				return false, classify(err, "apply migration "+m.name)
			}
		}
		if _, err := db.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return false, classify(err, "record migration "+m.name)
		}
		changed = true
	}
	return changed, nil
}

// splitStatements splits a migration into its statements: each ends with a
// ";" at the end of a line. Lines holding only a comment (--) or nothing
// belong to the next statement; a part with nothing else is dropped.
func splitStatements(script string) []string {
	var out []string
	var cur strings.Builder
	hasCode := false
	for line := range strings.Lines(script) {
		trimmed := strings.TrimSpace(line)
		if trimmed != "" && !strings.HasPrefix(trimmed, "--") {
			hasCode = true
		}
		if end, ok := strings.CutSuffix(trimmed, ";"); ok && hasCode {
			cur.WriteString(end)
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
			hasCode = false
			continue
		}
		cur.WriteString(line)
	}
	if hasCode {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}
