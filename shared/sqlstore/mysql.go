package sqlstore

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/mysqlconn"
)

// openMySQL opens a mysql: URL (shared/mysqlconn reads it and the
// credentials) and checks that the server answers and the database exists.
func openMySQL(ctx context.Context, u *url.URL) (*Store, error) {
	db, err := mysqlconn.Open(u)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		var me *mysql.MySQLError
		if errors.As(err, &me) && me.Number == 1049 { // ER_BAD_DB_ERROR
			return nil, errcode.New(errcode.InvalidArgument, "mysql database %q does not exist; create it first", strings.TrimPrefix(u.Path, "/"))
		}
		return nil, classify(err, "connect to mysql")
	}
	return &Store{d: mysqlDialect, writeDB: db, readDB: db}, nil
}
