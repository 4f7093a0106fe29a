package sqlstore

import (
	"context"
	"database/sql"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

// postgresParams are the URL parameters passed on to pgx; max_conns is ours.
var postgresParams = []string{"sslmode", "sslrootcert", "search_path", "connect_timeout", "application_name"}

func openPostgres(ctx context.Context, u *url.URL) (*Store, error) {
	if err := openurl.CheckParams(u, append(postgresParams, "max_conns")...); err != nil {
		return nil, err
	}
	if u.Host == "" || u.Path == "" || u.Path == "/" {
		return nil, errcode.New(errcode.InvalidArgument, "postgres URL is postgres://HOST:PORT/DATABASE?sslmode=...")
	}
	q := u.Query()
	maxConns := 10
	if v := q.Get("max_conns"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, errcode.New(errcode.InvalidArgument, "postgres max_conns must be a positive whole number, got %q", v)
		}
		maxConns = n
	}
	q.Del("max_conns")
	conn := *u
	conn.Scheme = "postgres"
	conn.RawQuery = q.Encode()
	// pgx takes the user and password from PGUSER, PGPASSWORD and PGPASSFILE
	// (the URL carries none: the registry refuses URL credentials).
	cfg, err := pgx.ParseConfig(conn.String())
	if err != nil {
		// pgx's message may quote the connection string; it has no
		// credentials, but say only what is wrong.
		return nil, errcode.New(errcode.InvalidArgument, "postgres URL does not parse as a connection string")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, classify(err, "connect to postgres")
	}
	// Without an existing schema on the search path, the migrations would
	// fail with a puzzling "no schema has been selected".
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		db.Close()
		return nil, classify(err, "read postgres search_path")
	}
	if !schema.Valid {
		db.Close()
		return nil, errcode.New(errcode.InvalidArgument, "postgres search_path %q names no existing schema; create it first", q.Get("search_path"))
	}
	return &Store{d: postgresDialect, writeDB: db, readDB: db}, nil
}
