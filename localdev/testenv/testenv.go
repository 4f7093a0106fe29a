// Package testenv holds the one rule for tests that need something outside
// the process (an emulator, a database): when it is missing the test skips,
// except in CI (the environment variable CI is "true"), where nothing may
// skip and the test fails instead.
//
// It is for tests and test helpers only; production code never imports it.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// PostgresURLVar names the environment variable that gives tests their
// PostgreSQL database (localdev/scripts/postgres.sh start prints it).
const PostgresURLVar = "LOCKWELL_TEST_POSTGRES_URL"

// MySQLURLVar names the environment variable that gives tests their MySQL
// or MariaDB database (localdev/scripts/mariadb.sh start prints it, with
// MYSQL_USER and MYSQL_PWD_FILE).
const MySQLURLVar = "LOCKWELL_TEST_MYSQL_URL"

// InCI reports whether the tests run in CI (CI=true), where a missing
// emulator or database is a failure, not a reason to skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing reports that something the test needs is not there: it skips the
// test outside CI and fails it in CI. The message (format and args, as for
// fmt.Sprintf) says what is missing and how to get it; it must not contain
// a secret value or credential. Missing never returns.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("required in CI (CI=true): %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// PostgresURL returns the test database's URL from LOCKWELL_TEST_POSTGRES_URL
// (user and password from PGUSER/PGPASSWORD, as libpq reads them). Without
// it the test skips, except in CI, where it fails (see Missing).
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(PostgresURLVar)
	if u == "" {
		Missing(t, "%s is not set; run eval \"$(localdev/scripts/postgres.sh start)\" and export PGUSER %s", PostgresURLVar, PostgresURLVar)
	}
	return u
}

// MySQLURL returns the test database's URL from LOCKWELL_TEST_MYSQL_URL
// (user and password from MYSQL_USER and MYSQL_PWD or MYSQL_PWD_FILE). Without
// it the test skips, except in CI, where it fails (see Missing).
func MySQLURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(MySQLURLVar)
	if u == "" {
		Missing(t, "%s is not set; run eval \"$(localdev/scripts/mariadb.sh start)\" and export MYSQL_USER MYSQL_PWD_FILE %s", MySQLURLVar, MySQLURLVar)
	}
	return u
}
