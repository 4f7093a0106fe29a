package sqljobs_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/jobstoretest"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/mysqlconn"
)

// stores returns the job store URLs to test: SQLite always, PostgreSQL
// when LOCKWELL_TEST_POSTGRES_URL names a server (in a fresh schema) and
// MySQL when LOCKWELL_TEST_MYSQL_URL does (in a fresh database); in CI
// both are required.
func stores(t *testing.T) map[string]string {
	urls := map[string]string{"sqlite": "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")}
	if os.Getenv(testenv.MySQLURLVar) != "" || testenv.InCI() {
		urls["mysql"] = freshMySQLDatabase(t)
	} else {
		t.Log(testenv.MySQLURLVar + " not set: MySQL not tested")
	}
	if os.Getenv(testenv.PostgresURLVar) == "" && !testenv.InCI() {
		t.Log(testenv.PostgresURLVar + " not set: PostgreSQL not tested")
		return urls
	}
	pg := testenv.PostgresURL(t) // in CI, fails without a database
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "migrate_test_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
	u, err := url.Parse(pg)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	urls["postgres"] = u.String()
	return urls
}

func TestJobStore(t *testing.T) {
	for name, u := range stores(t) {
		t.Run(name, func(t *testing.T) {
			js, err := sqljobs.Open(context.Background(), u)
			require.NoError(t, err)
			defer js.Close()
			jobstoretest.Exercise(t, js)
		})
	}
}

func TestURLs(t *testing.T) {
	for _, bad := range []string{"oracle://h/db", "sqlite:///x.db?color=red", "postgres://u:pw@h/db", "sqlite://host/x.db",
		"mysql://127.0.0.1/db?color=red", "mysql://u:pw@127.0.0.1/db", "mysql://127.0.0.1/"} {
		_, err := sqljobs.Open(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	t.Setenv("LOCKWELL_MIGRATE_JOBS", "")
	require.Equal(t, "sqlite:///d/l.db", migrate.JobStoreURLFromEnv("sqlite:///d/l.db"))
	require.Equal(t, "", migrate.JobStoreURLFromEnv("dynamodb://table"))
	require.Equal(t, "mysql://127.0.0.1/lockwell?tls=false", migrate.JobStoreURLFromEnv("mysql://127.0.0.1/lockwell?tls=false"),
		"a MySQL store keeps its jobs in its own database")
	t.Setenv("LOCKWELL_MIGRATE_JOBS", "postgres://h/jobs")
	require.Equal(t, "postgres://h/jobs", migrate.JobStoreURLFromEnv("dynamodb://table"))
	js, err := migrate.OpenJobStore(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "j.db"))
	require.NoError(t, err)
	js.Close()
}

// freshMySQLDatabase creates an empty database on the test server, dropped
// after the test, and returns its URL.
func freshMySQLDatabase(t *testing.T) string {
	base := testenv.MySQLURL(t) // in CI, fails without a database
	u, err := url.Parse(base)
	require.NoError(t, err)
	admin, err := mysqlconn.Open(u)
	require.NoError(t, err)
	b := make([]byte, 6)
	rand.Read(b)
	name := "lockwell_jobs_" + hex.EncodeToString(b)
	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
	u.Path = "/" + name
	return u.String()
}
