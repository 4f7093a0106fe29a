package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
)

// ExplainList returns the database's plan for the query List runs for q,
// one line per plan row.
func (s *Store) ExplainList(ctx context.Context, q backend.Query) (string, error) {
	query, args, err := s.d.listQuery(q)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, query, args...)
}

// ExplainExpired returns the database's plan for the query Expired runs.
func (s *Store) ExplainExpired(ctx context.Context, t time.Time, limit int) (string, error) {
	return s.explain(ctx, s.stmt.expired, s.d.timeArg(t), limit)
}

func (s *Store) explain(ctx context.Context, query string, args ...any) (string, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.explain+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		last := vals[len(vals)-1] // the detail / plan text column
		if b, ok := last.([]byte); ok {
			last = string(b) // MySQL's JSON plan
		}
		lines = append(lines, fmt.Sprint(last))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// WriteDB returns the connection pool that writes, for tests that load rows
// in bulk.
func (s *Store) WriteDB() *sql.DB { return s.writeDB }

// Dialect names the store's dialect: "sqlite", "postgres" or "mysql".
func (s *Store) Dialect() string { return s.d.name }

// ApplyMigrationsThrough applies the dialect's ("sqlite", "postgres" or "mysql")
// migrations up to and including version to db, to build a database as an
// older binary left it.
func ApplyMigrationsThrough(ctx context.Context, db *sql.DB, dialectName string, version int) error {
	d := sqliteDialect
	switch dialectName {
	case postgresDialect.name:
		d = postgresDialect
	case mysqlDialect.name:
		d = mysqlDialect
	}
	all, err := d.migrations()
	if err != nil {
		return err
	}
	var some []migration
	for _, m := range all {
		if m.version <= version {
			some = append(some, m)
		}
	}
	return applyMigrations(ctx, db, d, some)
}

// SetGroupCommit turns SQLite's group commit on or off for stores opened
// afterwards, so benchmarks can compare the two. Not safe to call while
// other tests open stores.
func SetGroupCommit(on bool) { sqliteDialect.groupCommit = on }
