package sqlstore

import (
	"strconv"
	"strings"
	"time"
)

// dialect is everything that differs between SQLite and PostgreSQL. The
// statements themselves are shared.
type dialect struct {
	name     string // "sqlite" or "postgres": the migrations directory
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
}

var postgresDialect = &dialect{
	name:           "postgres",
	numbered:       true,
	timeArg:        func(t time.Time) any { return t.UTC() },
	hasPrefix:      func(col, ph string) string { return "starts_with(" + col + ", " + ph + ")" },
	contains:       func(col, ph string) string { return "strpos(" + col + ", " + ph + ") > 0" },
	lockMigrations: "SELECT pg_advisory_xact_lock(7284115073531)", // any constant: "lockwell migrations"
	explain:        "EXPLAIN ",
	lockRow:        " FOR UPDATE",
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
