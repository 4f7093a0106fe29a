package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMigrationsApplyInOrderAndAllOrNothing upgrades a database through
// made-up versions: each open applies only what is missing, and a failing
// migration leaves the schema exactly as it was.
func TestMigrationsApplyInOrderAndAllOrNothing(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_txlock=immediate")
	require.NoError(t, err)
	defer db.Close()
	tables := func() []string {
		rows, err := db.Query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 't%' ORDER BY name")
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			out = append(out, n)
		}
		return out
	}
	v1 := migration{version: 1, name: "0001_t1.sql", sql: "CREATE TABLE t1 (x INTEGER)"}
	v2 := migration{version: 2, name: "0002_t2.sql", sql: "CREATE TABLE t2 (x INTEGER); INSERT INTO t1 VALUES (2)"}
	bad := migration{version: 3, name: "0003_bad.sql", sql: "CREATE TABLE t3 (x INTEGER); INSERT INTO nowhere VALUES (1)"}

	require.NoError(t, applyMigrations(ctx, db, sqliteDialect, []migration{v1}))
	assert.Equal(t, []string{"t1"}, tables())
	require.NoError(t, applyMigrations(ctx, db, sqliteDialect, []migration{v1, v2}), "v1 is not applied twice")
	assert.Equal(t, []string{"t1", "t2"}, tables())

	require.Error(t, applyMigrations(ctx, db, sqliteDialect, []migration{v1, v2, bad}))
	assert.Equal(t, []string{"t1", "t2"}, tables(), "a failed migration leaves nothing behind")
	var latest int
	require.NoError(t, db.QueryRow("SELECT max(version) FROM schema_migrations").Scan(&latest))
	assert.Equal(t, 2, latest)
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t1").Scan(&n))
	assert.Equal(t, 1, n, "v2's insert ran once")
}

func TestEmbeddedMigrationsAreWellFormed(t *testing.T) {
	for _, d := range []*dialect{sqliteDialect, postgresDialect, mysqlDialect} {
		all, err := d.migrations()
		require.NoError(t, err)
		require.NotEmpty(t, all)
		for i, m := range all {
			want := i + 1
			assert.Equal(t, want, m.version, "%s: versions are 1, 2, 3, ... without gaps", d.name)
		}
	}
	s := mustMigrations(t, sqliteDialect)
	for _, d := range []*dialect{postgresDialect, mysqlDialect} {
		o := mustMigrations(t, d)
		require.Equal(t, len(s), len(o), "%s has the migrations sqlite has", d.name)
		for i := range s {
			assert.Equal(t, s[i].name, o[i].name, "migration %d has one name in sqlite and %s", i+1, d.name)
		}
	}
	for _, m := range mustMigrations(t, mysqlDialect) {
		for _, st := range splitStatements(m.sql) {
			for line := range strings.Lines(st) {
				code, _, _ := strings.Cut(line, "--")
				assert.NotContains(t, code, ";", "%s: MySQL migrations end each statement with ; at the end of a line, and have no other ; outside comments", m.name)
			}
		}
	}
}

func TestSplitStatements(t *testing.T) {
	script := `-- a comment; with a semicolon
CREATE TABLE a (
    x INT -- inline
);

-- only a comment before the next
INSERT INTO a VALUES (1);
UPDATE a SET x = 2
-- trailing comment`
	assert.Equal(t, []string{
		"-- a comment; with a semicolon\nCREATE TABLE a (\n    x INT -- inline\n)",
		"-- only a comment before the next\nINSERT INTO a VALUES (1)",
		"UPDATE a SET x = 2\n-- trailing comment",
	}, splitStatements(script))
	assert.Empty(t, splitStatements("-- nothing\n\n"))
}

func mustMigrations(t *testing.T, d *dialect) []migration {
	all, err := d.migrations()
	require.NoError(t, err)
	return all
}
