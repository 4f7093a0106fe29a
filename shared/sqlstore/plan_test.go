package sqlstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

// bulkLoad inserts n synthetic secrets straight into a fresh store's table
// (names in an order unrelated to ids, one in ten private, a 256-byte
// stand-in for sealed values), then gathers planner statistics. Only List
// may run on these rows: their "sealed values" do not open.
func bulkLoad(t testing.TB, s *sqlstore.Store, n int) {
	t.Helper()
	var query string
	switch s.Dialect() {
	case "sqlite":
		query = `INSERT INTO secrets (id, name, private, owner, keys, sealed, version, created, updated)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			SELECT printf('%08x-0000-7000-8000-%012x', i, i), printf('app-%08x', (i * 2654435761) % 4294967296),
				i % 10 = 0, 'user' || (i % 7), '["password","user"]', zeroblob(256), 1,
				1700000000000000 + i * 1000, 1700000000000000 + ((i * 7919) % ?) * 1000
			FROM n`
	case "mysql":
		// A recursive CTE (MariaDB 10.2, MySQL 8.0; MySQL needs
		// cte_max_recursion_depth raised above n).
		query = `INSERT INTO secrets (id, name, private, owner, "keys", sealed, version, created, updated)
			WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			SELECT LOWER(CONCAT(LPAD(HEX(i), 8, '0'), '-0000-7000-8000-', LPAD(HEX(i), 12, '0'))),
				CONCAT('app-', LPAD(LOWER(HEX((i * 2654435761) % 4294967296)), 8, '0')),
				i % 10 = 0, CONCAT('user', i % 7), '["password","user"]', UNHEX(REPEAT(MD5(i), 8)), 1,
				TIMESTAMP '2023-11-14 22:13:20' + INTERVAL i * 1000 MICROSECOND,
				TIMESTAMP '2023-11-14 22:13:20' + INTERVAL ((i * 7919) % ?) * 1000 MICROSECOND
			FROM n`
	default:
		query = `INSERT INTO secrets (id, name, private, owner, keys, sealed, version, created, updated)
			SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'),
				'app-' || lpad(to_hex((i::bigint * 2654435761) % 4294967296), 8, '0'),
				i % 10 = 0, 'user' || (i % 7), '["password","user"]', decode(repeat(md5(i::text), 8), 'hex'), 1,
				timestamptz '2023-11-14 22:13:20+00' + i * interval '1 millisecond',
				timestamptz '2023-11-14 22:13:20+00' + ((i * 7919) % $2) * interval '1 millisecond'
			FROM generate_series(1, $1) AS i`
	}
	ctx := context.Background()
	conn, err := s.WriteDB().Conn(ctx) // one session (SQLite's writer has only one)
	require.NoError(t, err)
	defer conn.Close()
	if s.Dialect() == "mysql" {
		// Each server knows one of these and refuses the other.
		conn.ExecContext(ctx, "SET SESSION max_recursive_iterations = "+strconv.Itoa(n+1)) // MariaDB
		conn.ExecContext(ctx, "SET SESSION cte_max_recursion_depth = "+strconv.Itoa(n+1))  // MySQL
	}
	_, err = conn.ExecContext(ctx, query, n, n)
	require.NoError(t, err)
	analyze := "ANALYZE"
	if s.Dialect() == "mysql" {
		analyze = "ANALYZE TABLE secrets"
	}
	_, err = conn.ExecContext(ctx, analyze)
	require.NoError(t, err)
	if s.Dialect() == "sqlite" {
		// Move the load out of the WAL into the database file, as the
		// automatic checkpoints of a running store do: otherwise every read
		// looks pages up in a WAL of the whole load.
		_, err = conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		require.NoError(t, err)
	}
}

// deleteSome moves one in 16 of the rows bulkLoad made into the recovery
// window (those whose id ends in 0), with a purge time, then gathers
// planner statistics again.
func deleteSome(t testing.TB, s *sqlstore.Store) {
	t.Helper()
	query := `UPDATE secrets SET deleted = updated, purge_after = created WHERE id LIKE '%0'`
	analyze := "ANALYZE"
	if s.Dialect() == "mysql" {
		analyze = "ANALYZE TABLE secrets"
	}
	for _, q := range []string{query, analyze} {
		_, err := s.WriteDB().ExecContext(context.Background(), q)
		require.NoError(t, err)
	}
}

// middleCursor returns a cursor halfway through the listing in sort order.
func middleCursor(t testing.TB, s *sqlstore.Store, viewer string, srt backend.Sort, n int) *backend.Cursor {
	t.Helper()
	var after *backend.Cursor
	for skipped := 0; skipped < n/2; {
		page, err := s.List(context.Background(), backend.Query{Viewer: viewer, Sort: srt, After: after, Limit: min(1000, n/2-skipped)})
		require.NoError(t, err)
		require.NotEmpty(t, page)
		skipped += len(page)
		after = backend.CursorAfter(page[len(page)-1], srt.Field)
	}
	return after
}

// TestListUsesTheSortIndex checks the plan of a deep keyset page: the
// database walks the sort field's index from the cursor and stops after the
// page, rather than scanning and sorting the table; the deleted filter does
// not change that. Listings of deleted secrets and the search for expired
// ones read the index of deleted rows instead of scanning the table.
func TestListUsesTheSortIndex(t *testing.T) {
	const rows = 2000
	for _, d := range []struct {
		name string
		open func(t *testing.T) *sqlstore.Store
		bad  []string // plan fragments of a sort, of a scan (the second), and of further sorts
		// deep is a fragment a cursor page's plan must have: MySQL reports
		// walking the index from its start ("index") and walking it from
		// the cursor ("range") alike, with the right index and no sort.
		deep string
	}{
		{"sqlite", func(t *testing.T) *sqlstore.Store { s, _ := openSQLite(t); return s }, []string{"TEMP B-TREE", "SCAN secrets\n"}, ""},
		{"postgres", func(t *testing.T) *sqlstore.Store { s, _ := openPostgres(t, testSealer(t)); return s }, []string{"Sort Key", "Seq Scan"}, ""},
		// EXPLAIN FORMAT=JSON: MariaDB names a sort "filesort", MySQL 8
		// says "using_filesort": true; a full scan is access type ALL.
		{"mysql", func(t *testing.T) *sqlstore.Store { s, _ := openMySQL(t, testSealer(t)); return s },
			[]string{`"filesort": {`, `"access_type": "ALL"`, `"using_filesort": true`}, `"access_type": "range"`},
	} {
		t.Run(d.name, func(t *testing.T) {
			s := d.open(t)
			bulkLoad(t, s, rows)
			deleteSome(t, s)
			for _, srt := range []backend.Sort{
				{Field: backend.ByName}, {Field: backend.ByName, Desc: true},
				{Field: backend.ByCreated}, {Field: backend.ByCreated, Desc: true},
				{Field: backend.ByUpdated}, {Field: backend.ByUpdated, Desc: true},
			} {
				for _, q := range []backend.Query{
					{Viewer: "user3", Sort: srt, Limit: 50},
					{Viewer: "user3", Sort: srt, Limit: 50, After: middleCursor(t, s, "user3", srt, rows)},
					{Viewer: "user3", Sort: srt, Limit: 50, NamePrefix: "app-8", NameContains: "f"},
				} {
					name := fmt.Sprintf("sort=%s desc=%v after=%v prefix=%q", srt.Field, srt.Desc, q.After != nil, q.NamePrefix)
					plan, err := s.ExplainList(context.Background(), q)
					require.NoError(t, err)
					plan += "\n"
					if q.NamePrefix != "" {
						// A prefix is a range of the name index; the few rows
						// in it may rightly be sorted by another field.
						assert.Contains(t, plan, "secrets_by_name", "%s: plan:\n%s", name, plan)
						assert.NotContains(t, plan, d.bad[1], "%s: plan:\n%s", name, plan)
						continue
					}
					assert.Contains(t, plan, "secrets_by_"+string(srt.Field), "%s: plan:\n%s", name, plan)
					if q.After != nil && d.deep != "" {
						assert.Contains(t, plan, d.deep, "%s: plan:\n%s", name, plan)
					}
					for _, bad := range d.bad {
						assert.NotContains(t, plan, bad, "%s: plan:\n%s", name, plan)
					}
				}
				// The deleted rows are few: found through their index,
				// then sorted.
				q := backend.Query{Viewer: "user3", Sort: srt, Limit: 50, Deleted: true}
				plan, err := s.ExplainList(context.Background(), q)
				require.NoError(t, err)
				plan += "\n"
				assert.Contains(t, plan, "secrets_deleted", "deleted listing, sort=%s desc=%v: plan:\n%s", srt.Field, srt.Desc, plan)
				assert.NotContains(t, plan, d.bad[1], "deleted listing, sort=%s desc=%v: plan:\n%s", srt.Field, srt.Desc, plan)
			}
			plan, err := s.ExplainExpired(context.Background(), time.Now(), 100)
			require.NoError(t, err)
			plan += "\n"
			assert.Contains(t, plan, "secrets_deleted", "expired: plan:\n%s", plan)
			assert.NotContains(t, plan, d.bad[1], "expired: plan:\n%s", plan)
		})
	}
}
