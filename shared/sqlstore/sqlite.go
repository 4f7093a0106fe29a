package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/retry"
)

// sqliteReaders is the number of connections that read concurrently. WAL
// lets them read while the writer writes.
const sqliteReaders = 4

// sqlitePath returns the file a sqlite: URL names: sqlite:///abs/path or
// sqlite:relative/path.
func sqlitePath(u *url.URL) (string, error) {
	p := u.Path
	switch {
	case u.Opaque != "":
		p = u.Opaque
	case u.Host != "":
		return "", errcode.New(errcode.InvalidArgument,
			"sqlite URL is sqlite:///absolute/path.db or sqlite:relative/path.db; %q looks like a host", u.Host)
	}
	if p == "" || strings.HasSuffix(p, "/") {
		return "", errcode.New(errcode.InvalidArgument, "sqlite URL needs a database file: sqlite:///absolute/path.db or sqlite:relative/path.db")
	}
	if strings.ContainsAny(p, "?#") || p == ":memory:" {
		return "", errcode.New(errcode.InvalidArgument, "sqlite database path must be a file path without ? or #")
	}
	return filepath.Clean(p), nil
}

func openSQLite(ctx context.Context, u *url.URL) (*Store, error) {
	if err := openurl.CheckParams(u, "busy_timeout_ms", "synchronous"); err != nil {
		return nil, err
	}
	path, err := sqlitePath(u)
	if err != nil {
		return nil, err
	}
	busy := 5000
	if v := u.Query().Get("busy_timeout_ms"); v != "" {
		if busy, err = strconv.Atoi(v); err != nil || busy < 0 {
			return nil, errcode.New(errcode.InvalidArgument, "sqlite busy_timeout_ms must be a whole number of milliseconds, got %q", v)
		}
	}
	sync := "FULL"
	switch v := strings.ToLower(u.Query().Get("synchronous")); v {
	case "", "full":
	case "normal":
		sync = "NORMAL"
	default:
		return nil, errcode.New(errcode.InvalidArgument, "sqlite synchronous must be full or normal, got %q", v)
	}

	write, read, err := openSQLiteFile(ctx, path, busy, sync)
	if err != nil {
		return nil, err
	}
	// The audit chain lives in a database file of its own (sqliteAuditPath):
	// every read of values appends an audit record, and a commit to the
	// store's own file would make every reader's page cache start cold.
	auditWrite, auditRead, err := openSQLiteFile(ctx, sqliteAuditPath(path), busy, sync)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	return &Store{d: sqliteDialect, writeDB: write, readDB: read, auditWriteDB: auditWrite, auditReadDB: auditRead, syncFull: sync == "FULL"}, nil
}

// sqliteAuditPath is the file of the audit chain of the SQLite database at
// path: lockwell.db keeps it in lockwell-audit.db beside it.
func sqliteAuditPath(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-audit" + cmp.Or(ext, ".db")
}

// openSQLiteFile opens the SQLite database file at path (created private
// with its directory): one writer connection and sqliteReaders readers.
func openSQLiteFile(ctx context.Context, path string, busy int, sync string) (write, read *sql.DB, err error) {
	// The database holds sealed values only, but its file is still nobody
	// else's business: create it (and its directory) private. SQLite gives
	// the -wal and -shm files the database file's mode.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, errcode.Wrap(errcode.Internal, err, "create the directory of the sqlite database")
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, errcode.Wrap(errcode.Internal, err, "open sqlite database file")
	}
	f.Close()

	common := "_pragma=busy_timeout(" + strconv.Itoa(busy) + ")&_pragma=foreign_keys(1)&_pragma=mmap_size(268435456)"
	// The writer sets WAL (persistent in the file) before anyone reads, and
	// begins its transactions IMMEDIATE so a transaction never has to
	// upgrade a read lock (which fails at once with SQLITE_BUSY in WAL).
	write, err = sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&_txlock=immediate")
	if err != nil {
		return nil, nil, errcode.Wrap(errcode.Internal, err, "open sqlite database")
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// Switching a new database to WAL needs an exclusive lock, and SQLite
	// reports a concurrent opener's switch as SQLITE_BUSY at once rather
	// than through the busy timeout: retry opening, as for any busy error.
	if err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
		return classify(write.PingContext(ctx), "open sqlite database")
	}); err != nil {
		write.Close()
		return nil, nil, err
	}
	read, err = sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, nil, errcode.Wrap(errcode.Internal, err, "open sqlite database")
	}
	read.SetMaxOpenConns(sqliteReaders)
	read.SetMaxIdleConns(sqliteReaders)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	return write, read, nil
}
