package sqlstore

import (
	"strconv"
	"strings"
	"time"
)

// dialect is everything that differs between SQLite, PostgreSQL and
// MySQL/MariaDB. The statements themselves are shared (MySQL connections
// run with ANSI_QUOTES, so "keys", a reserved word there, quotes the same
// way in all three).
type dialect struct {
	name     string // "sqlite", "postgres" or "mysql": the migrations directory
	numbered bool   // placeholders are $1, $2, ... rather than ?
	// timeArg converts a time to the column's representation.
	timeArg func(time.Time) any
	// hasPrefix and contains are literal, case-sensitive tests of col
	// against the placeholder ph (LIKE is neither in SQLite).
	hasPrefix func(col, ph string) string
	contains  func(col, ph string) string
	// lockMigrations, run first in the migration transaction, keeps two
	// processes from migrating at once ("" when BEGIN already does).
	lockMigrations string
	// ddlCommits: a schema change commits the transaction it runs in
	// (MySQL), so migrations cannot be all or nothing. They run on one
	// connection instead, under the session lock that lockMigrations
	// takes (a query returning 1 once it holds it) and unlockMigrations
	// releases, one statement at a time (splitStatements).
	ddlCommits       bool
	unlockMigrations string
	// splitStatements: the driver runs one statement per call, so a
	// migration file is split at each ";" that ends a line.
	splitStatements bool
	// keysetRange: the planner does not turn a row-value comparison
	// ((col, id) > (?, ?)) into a range of the (col, id) index (MySQL and
	// MariaDB walk the index from its start instead), so the cursor is
	// also given as a plain range on col.
	keysetRange bool
	// explain prefixes a query to get its plan.
	explain string
	// lockRow ends a SELECT that must lock the row it reads until the
	// transaction ends ("" where the transaction already holds the write
	// lock: SQLite's BEGIN IMMEDIATE).
	lockRow string
	// groupCommit sends every write through one goroutine that commits
	// concurrent writes together (groupcommit.go): for SQLite, whose one
	// writer connection would otherwise fsync once per write.
	groupCommit bool
	// cacheStatements keeps prepared statements in the store (pgx keeps
	// its own cache, SQLite's driver none).
	cacheStatements bool
	// ignoreDuplicate ends an INSERT whose row is skipped when its key is
	// taken (rather than failing).
	ignoreDuplicate string
}

// nullTime converts a time that may be zero (stored as NULL) to the
// column's representation.
func (d *dialect) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.timeArg(t)
}

var sqliteDialect = &dialect{
	name:    "sqlite",
	timeArg: func(t time.Time) any { return t.UnixMicro() },
	// instr counts characters and compares bytes: case-sensitive, no wildcards.
	hasPrefix:       func(col, ph string) string { return "instr(" + col + ", " + ph + ") = 1" },
	contains:        func(col, ph string) string { return "instr(" + col + ", " + ph + ") > 0" },
	explain:         "EXPLAIN QUERY PLAN ",
	cacheStatements: true,
	groupCommit:     true,
	// After an INSERT ... SELECT, SQLite needs the SELECT to have a WHERE
	// (ours do) to tell ON CONFLICT from a join's ON.
	ignoreDuplicate: " ON CONFLICT DO NOTHING",
}

var postgresDialect = &dialect{
	name:            "postgres",
	numbered:        true,
	timeArg:         func(t time.Time) any { return t.UTC() },
	hasPrefix:       func(col, ph string) string { return "starts_with(" + col + ", " + ph + ")" },
	contains:        func(col, ph string) string { return "strpos(" + col + ", " + ph + ") > 0" },
	lockMigrations:  "SELECT pg_advisory_xact_lock(7284115073531)", // any constant: "lockwell migrations"
	explain:         "EXPLAIN ",
	lockRow:         " FOR UPDATE",
	ignoreDuplicate: " ON CONFLICT DO NOTHING",
}

var mysqlDialect = &dialect{
	name:    "mysql",
	timeArg: func(t time.Time) any { return t.UTC() },
	// Columns are utf8mb4_bin, so instr compares code points exactly: case-
	// sensitive, no wildcards, as in SQLite.
	hasPrefix: func(col, ph string) string { return "instr(" + col + ", " + ph + ") = 1" },
	contains:  func(col, ph string) string { return "instr(" + col + ", " + ph + ") > 0" },
	// A named lock is server-wide: name it after the database, so stores
	// in different databases of one server migrate independently.
	lockMigrations:   "SELECT GET_LOCK(CONCAT('lockwell_migrations_', SHA1(DATABASE())), 600)",
	unlockMigrations: "DO RELEASE_LOCK(CONCAT('lockwell_migrations_', SHA1(DATABASE())))",
	ddlCommits:       true,
	splitStatements:  true,
	keysetRange:      true,
	lockRow:          " FOR UPDATE",
	explain:          "EXPLAIN FORMAT=JSON ",
	// Without interpolation, the driver prepares, runs and closes a
	// statement for every query with arguments: three round trips.
	cacheStatements: true,
	// A no-op update of the existing row: INSERT IGNORE would also turn
	// other errors into warnings.
	ignoreDuplicate: " ON DUPLICATE KEY UPDATE secret_versions.version = secret_versions.version",
}

// rebind rewrites ? placeholders as $1, $2, ... for dialects that number
// them. Statements never contain a literal question mark.
func (d *dialect) rebind(query string) string {
	if !d.numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
