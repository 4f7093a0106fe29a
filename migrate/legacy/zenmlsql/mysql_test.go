package zenmlsql_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/migrate/centraltest"
	"github.com/lockwell/lockwell/migrate/legacy"
)

// MySQLURLVar names the test MariaDB/MySQL server (mysql://HOST:PORT/DB,
// with MYSQL_USER and MYSQL_PWD or MYSQL_PWD_FILE, as
// localdev/scripts/mariadb.sh start prints them; the user may create
// databases whose names start with lockwell).
const MySQLURLVar = "LOCKWELL_TEST_MYSQL_URL"

// mysqlDB creates a database of its own on the test server and returns a
// connection to it and its zenml-sql URL.
func mysqlDB(t *testing.T) (*sql.DB, string) {
	t.Helper()
	raw := os.Getenv(MySQLURLVar)
	if raw == "" {
		testenv.Missing(t, "%s is not set; start MariaDB on loopback (apt-get install mariadb-server) and export %s, MYSQL_USER and MYSQL_PWD", MySQLURLVar, MySQLURLVar)
	}
	u, err := url.Parse(raw)
	require.NoError(t, err, "bad %s", MySQLURLVar)
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", u.Host, os.Getenv("MYSQL_USER"), testPassword(t)
	cfg.TLSConfig = "false"
	if v := u.Query().Get("tls"); v != "" {
		cfg.TLSConfig = v
	}
	admin, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(admin)
	name := "lockwell_zenml_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	_, err = db.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4")
	require.NoError(t, err)
	db.Close()
	t.Cleanup(func() {
		db := sql.OpenDB(admin)
		_, _ = db.Exec("DROP DATABASE " + name)
		db.Close()
	})
	cfg.DBName = name
	conn, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db = sql.OpenDB(conn)
	t.Cleanup(func() { db.Close() })
	return db, "zenml-sql://" + u.Host + "/" + name + "?tls=" + cfg.TLSConfig
}

// TestEncryptedMariaDBMigratesCompletely puts the genuine library's
// ciphertexts into ZenML's MySQL schema (CHAR(32) ids, TEXT values, as
// SQLModel creates it there) and migrates them.
func TestEncryptedMariaDBMigratesCompletely(t *testing.T) {
	db, src := mysqlDB(t)
	key := randomKey()
	rows := build(t, key, "private", "")
	for _, stmt := range []string{
		"CREATE TABLE `user` (id CHAR(32) PRIMARY KEY, name VARCHAR(255) NOT NULL, created DATETIME(6) NOT NULL, updated DATETIME(6) NOT NULL, is_service_account BOOL NOT NULL) ENGINE=InnoDB",
		"CREATE TABLE secret (id CHAR(32) PRIMARY KEY, created DATETIME(6) NOT NULL, updated DATETIME(6) NOT NULL, name VARCHAR(255) NOT NULL, private BOOL NOT NULL, `values` MEDIUMTEXT NULL, user_id CHAR(32) NOT NULL, " +
			"CONSTRAINT unique_secret_name_private_scope_user UNIQUE (name, private, user_id), FOREIGN KEY (user_id) REFERENCES `user`(id) ON DELETE CASCADE) ENGINE=InnoDB",
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err)
	}
	for _, u := range rows.Users {
		_, err := db.Exec("INSERT INTO `user` VALUES (?, ?, NOW(6), NOW(6), 0)", u.ID, u.Name)
		require.NoError(t, err)
	}
	for _, s := range rows.Secrets {
		_, err := db.Exec("INSERT INTO secret VALUES (?, ?, ?, ?, ?, ?, ?)", s.ID, s.Created, s.Created, s.Name, s.Private, s.Values, s.UserID)
		require.NoError(t, err)
	}
	setKey(t, key)
	t.Setenv("MYSQL_PWD", testPassword(t)) // the reader reads MYSQL_PWD before MYSQL_PWD_FILE
	opened, err := legacy.Open(context.Background(), src)
	require.NoError(t, err)
	defer opened.Close()
	centraltest.RequireMigrates(t, opened, centraltest.Fixture(), centraltest.Owners, externalName)
}

func TestMySQLPasswordFromFile(t *testing.T) {
	_, src := mysqlDB(t)
	pw := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, writeFile(pw, testPassword(t)+"\n"))
	t.Setenv("MYSQL_PWD", "")
	t.Setenv("MYSQL_PWD_FILE", pw)
	_, err := legacy.Open(context.Background(), src)
	require.Error(t, err, "an empty database has no secret table")
	require.Contains(t, err.Error(), "no secret table", "the login itself worked")
}

// testPassword returns the test server's password from MYSQL_PWD or the
// file MYSQL_PWD_FILE names.
func testPassword(t *testing.T) string {
	t.Helper()
	if pw := os.Getenv("MYSQL_PWD"); pw != "" {
		return pw
	}
	if path := os.Getenv("MYSQL_PWD_FILE"); path != "" {
		b, err := os.ReadFile(path)
		require.NoError(t, err, "cannot read MYSQL_PWD_FILE")
		return strings.TrimRight(string(b), "\r\n")
	}
	return ""
}
