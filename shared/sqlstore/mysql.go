package sqlstore

import (
	"context"
	"net/url"

	"github.com/lockwell/lockwell/shared/mysqlconn"
)

// openMySQL opens a mysql: URL (shared/mysqlconn reads it and the
// credentials) and checks that the server answers.
func openMySQL(ctx context.Context, u *url.URL) (*Store, error) {
	db, err := mysqlconn.Open(u)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, classify(err, "connect to mysql")
	}
	return &Store{d: mysqlDialect, writeDB: db, readDB: db}, nil
}
