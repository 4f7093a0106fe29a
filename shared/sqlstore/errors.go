package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lockwell/lockwell/shared/errcode"
)

// classify is the one place driver errors become errcode errors:
//
//	unique or primary key violation                         already_exists
//	SQLITE_BUSY/LOCKED; PostgreSQL serialization failure,
//	deadlock, connection, resource and shutdown classes,
//	lost connections; a deadline or cancellation            unavailable
//	anything else                                           internal
//
// Errors already classified pass unchanged. The message is what says what
// failed; the cause kept for logs is the driver's error reduced to its code
// and message, which never carry statement parameters (and values are only
// ever sealed blobs anyway).
func classify(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *errcode.Error
	if errors.As(err, &ce) {
		return err
	}
	code, cause := driverCode(err)
	switch code {
	case errcode.AlreadyExists:
		return errcode.Wrap(code, cause, "%s: already exists", what)
	case errcode.Unavailable:
		return errcode.Wrap(code, cause, "%s: the database is unavailable or busy; retry later", what)
	}
	return errcode.Wrap(errcode.Internal, cause, "%s: database error", what)
}

// driverCode returns the code of a driver error and a cause fit for logs.
func driverCode(err error) (errcode.Code, error) {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errcode.Unavailable, err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		cause := fmt.Errorf("sqlite: %s", se.Error())
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errcode.AlreadyExists, cause
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errcode.Unavailable, cause
		}
		return errcode.Internal, cause
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Error() is severity, message and SQLSTATE; Detail, which may quote
		// a row, is left out.
		cause := fmt.Errorf("postgres: %s", pe.Error())
		switch {
		case pe.Code == "23505": // unique_violation
			return errcode.AlreadyExists, cause
		case pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			strings.HasPrefix(pe.Code, "08"),                           // connection exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient resources
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, cannot connect now
			pe.Code == "57014": // query canceled (statement timeout)
			return errcode.Unavailable, cause
		}
		return errcode.Internal, cause
	}
	var ne net.Error
	var connErr *pgconn.ConnectError
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.As(err, &connErr) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return errcode.Unavailable, err
	}
	return errcode.Internal, err
}
