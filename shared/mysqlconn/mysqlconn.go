// Package mysqlconn turns Lockwell's mysql:// URLs into connection pools
// on MySQL or MariaDB (github.com/go-sql-driver/mysql), so that the SQL
// backend and the SQL migration job store read one URL format the same way:
//
//	mysql://HOST[:PORT]/DATABASE?tls=true|skip-verify|false&max_conns=N&connect_timeout=SECONDS
//
// tls is true (verify the server's certificate against the system roots and
// HOST; the default), skip-verify (encrypt without verifying) or false (no
// TLS: loopback and tests only). max_conns bounds the pool (default 10);
// connect_timeout is the dial timeout in seconds (default 10). Any other
// parameter is refused, as is a user or password in the URL: the user comes
// from MYSQL_USER, the password from MYSQL_PWD or from the file that
// MYSQL_PWD_FILE names (its content, without a final newline). Neither is
// ever logged or put in an error.
//
// Every connection of a pool is set up the same way: utf8mb4 with the
// binary collation utf8mb4_bin (comparisons are bytewise and
// case-sensitive), sql_mode TRADITIONAL (strict: a value that does not fit
// is an error, never silently cut) plus ANSI_QUOTES (identifiers quote with
// "", as in SQLite and PostgreSQL), READ COMMITTED isolation (InnoDB then
// takes no gap locks for plain reads and updates; uniqueness is the unique
// indexes' business), times in UTC parsed into time.Time, and affected-row
// counts that count matched rows rather than changed ones, as the other
// databases count them.
package mysqlconn

import (
	"context"
	"crypto/tls"
	"database/sql"
	"database/sql/driver"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

// The environment variables the credentials come from.
const (
	UserVar         = "MYSQL_USER"
	PasswordVar     = "MYSQL_PWD"
	PasswordFileVar = "MYSQL_PWD_FILE"
)

// Params are the URL parameters Open reads.
var Params = []string{"tls", "max_conns", "connect_timeout"}

// DefaultPort is the port of a URL that names none.
const DefaultPort = "3306"

// Open returns a pool for the mysql:// URL u without connecting (the first
// query connects; call PingContext to check the server now). extraParams
// are further URL parameters the caller reads itself and Open ignores.
// Errors are invalid_argument: a malformed URL, credentials in it, an
// unknown or bad parameter, no MYSQL_USER, both MYSQL_PWD and
// MYSQL_PWD_FILE, or an unreadable password file.
func Open(u *url.URL, extraParams ...string) (*sql.DB, error) {
	cfg, maxConns, err := config(u, extraParams)
	if err != nil {
		return nil, err
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "mysql URL does not make a valid connection configuration")
	}
	db := sql.OpenDB(sessionConnector{c})
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	// Servers (wait_timeout) and proxies close idle connections; recycle
	// them before that rather than find out on a query.
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

func config(u *url.URL, extraParams []string) (*mysql.Config, int, error) {
	if u.Scheme != "mysql" {
		return nil, 0, errcode.New(errcode.InvalidArgument, "a MySQL URL starts with mysql://, not %q", u.Scheme+":")
	}
	if u.User != nil {
		return nil, 0, errcode.New(errcode.InvalidArgument, "mysql URL must not contain credentials; set %s and %s or %s", UserVar, PasswordVar, PasswordFileVar)
	}
	if err := openurl.CheckParams(u, append(append([]string{}, Params...), extraParams...)...); err != nil {
		return nil, 0, err
	}
	host := u.Hostname()
	db := strings.TrimPrefix(u.Path, "/")
	if u.Opaque != "" || host == "" || !validDatabase(db) || u.Fragment != "" {
		return nil, 0, errcode.New(errcode.InvalidArgument,
			"mysql URL is mysql://HOST:PORT/DATABASE?tls=true|skip-verify|false, with a database name of letters, digits, _ and $")
	}
	port := u.Port()
	if port == "" {
		port = DefaultPort
	}
	q := u.Query()
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(host, port)
	cfg.DBName = db
	switch v := q.Get("tls"); v {
	case "", "true":
		cfg.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	case "skip-verify":
		cfg.TLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	case "false":
	default:
		return nil, 0, errcode.New(errcode.InvalidArgument, "mysql tls must be true, skip-verify or false, got %q", v)
	}
	maxConns := 10
	if v := q.Get("max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, 0, errcode.New(errcode.InvalidArgument, "mysql max_conns must be a positive whole number, got %q", v)
		}
		maxConns = n
	}
	cfg.Timeout = 10 * time.Second
	if v := q.Get("connect_timeout"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, 0, errcode.New(errcode.InvalidArgument, "mysql connect_timeout must be a positive whole number of seconds, got %q", v)
		}
		cfg.Timeout = time.Duration(n) * time.Second
	}
	var err error
	if cfg.User, cfg.Passwd, err = credentials(); err != nil {
		return nil, 0, err
	}
	cfg.Collation = "utf8mb4_bin"
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	cfg.Params = map[string]string{"sql_mode": "'TRADITIONAL,ANSI_QUOTES'", "time_zone": "'+00:00'"}
	return cfg, maxConns, nil
}

// validDatabase accepts the unquoted database names the URL may carry.
func validDatabase(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			return false
		}
	}
	return true
}

// credentials reads the user and password from the environment.
func credentials() (user, password string, err error) {
	user = os.Getenv(UserVar)
	if user == "" {
		return "", "", errcode.New(errcode.InvalidArgument, "set %s (and %s or %s) to connect to MySQL", UserVar, PasswordVar, PasswordFileVar)
	}
	password, hasPassword := os.LookupEnv(PasswordVar)
	file := os.Getenv(PasswordFileVar)
	switch {
	case file != "" && hasPassword:
		return "", "", errcode.New(errcode.InvalidArgument, "set %s or %s, not both", PasswordVar, PasswordFileVar)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// The path is not secret; the error (not found, permission) says
			// nothing of the content.
			return "", "", errcode.Wrap(errcode.InvalidArgument, err, "read the MySQL password file %s (%s)", file, PasswordFileVar)
		}
		password = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	return user, password, nil
}

// sessionConnector sets every new connection's isolation level. (No system
// variable sets it in both MySQL 8, transaction_isolation, and MariaDB
// before 11.1, tx_isolation; this statement works in both.)
type sessionConnector struct{ driver.Connector }

func (c sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.(driver.ExecerContext).ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
