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

// migrate brings the schema up to date in one transaction, so a failed
// migration leaves the schema as it was. Several processes may open the
// store at once: SQLite's BEGIN IMMEDIATE (the writer's transactions) or
// PostgreSQL's advisory lock makes them take turns, and each applies only the
// versions schema_migrations does not list yet. A database newer than this
// binary (a version it does not know) is refused.
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
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY,
		name    TEXT    NOT NULL,
		applied TEXT    NOT NULL
	)`); err != nil {
		return classify(err, "create schema_migrations")
	}
	applied := map[int]bool{}
	latest := 0
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return classify(err, "read schema_migrations")
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return classify(err, "read schema_migrations")
		}
		applied[v] = true
		latest = max(latest, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify(err, "read schema_migrations")
	}
	if known := all[len(all)-1].version; latest > known {
		return errcode.New(errcode.FailedPrecondition,
			"the database schema is at version %d, newer than this binary knows (%d); upgrade Lockwell", latest, known)
	}
	changed := false
	for _, m := range all {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return classify(err, "apply migration "+m.name)
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`),
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return classify(err, "record migration "+m.name)
		}
		changed = true
	}
	if !changed {
		return nil // the deferred rollback ends the read-only transaction
	}
	return classify(tx.Commit(), "commit migrations")
}
