package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lockwell/lockwell/shared/errcode"
)

// classify is the one place driver errors become errcode errors:
//
//	unique or primary key violation                         already_exists
//	SQLITE_BUSY/LOCKED; PostgreSQL serialization failure,
//	deadlock, connection, resource and shutdown classes;
//	the MySQL errors mysqlCodes lists as unavailable;
//	lost connections; a deadline or cancellation            unavailable
//	anything else                                           internal
//
// Errors already classified pass unchanged. The message is what says what
// failed; the cause kept for logs is the driver's error reduced to its code
// and message, which never carry statement parameters (and values are only
// ever sealed blobs anyway). MySQL's messages can quote a row's values (a
// duplicate entry quotes the key: a name, or a token's hash), so a MySQL
// cause keeps only the error number and SQLSTATE, plus the message for
// syntax and access errors (SQLSTATE classes 42 and 28), which quote only
// statement text and names.
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
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		state := string(me.SQLState[:])
		cause := fmt.Errorf("mysql: error %d (%s)", me.Number, state)
		if strings.HasPrefix(state, "42") || strings.HasPrefix(state, "28") {
			cause = fmt.Errorf("mysql: error %d (%s): %s", me.Number, state, me.Message)
		}
		if code, ok := mysqlCodes[me.Number]; ok {
			return code, cause
		}
		return errcode.Internal, cause
	}
	var ne net.Error
	var connErr *pgconn.ConnectError
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, mysql.ErrInvalidConn) ||
		errors.As(err, &connErr) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return errcode.Unavailable, err
	}
	return errcode.Internal, err
}

// mysqlCodes is the MySQL and MariaDB error table: server error numbers
// whose errcode is not internal.
var mysqlCodes = map[uint16]errcode.Code{
	1062: errcode.AlreadyExists, // ER_DUP_ENTRY: a unique index (name rules, token hash, id)
	1586: errcode.AlreadyExists, // ER_DUP_ENTRY_WITH_KEY_NAME
	1205: errcode.Unavailable,   // ER_LOCK_WAIT_TIMEOUT
	1213: errcode.Unavailable,   // ER_LOCK_DEADLOCK: InnoDB rolled the transaction back
	1040: errcode.Unavailable,   // ER_CON_COUNT_ERROR: too many connections
	1203: errcode.Unavailable,   // ER_TOO_MANY_USER_CONNECTIONS
	1053: errcode.Unavailable,   // ER_SERVER_SHUTDOWN
	1927: errcode.Unavailable,   // ER_CONNECTION_KILLED (MariaDB)
	1317: errcode.Unavailable,   // ER_QUERY_INTERRUPTED
	1969: errcode.Unavailable,   // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
	3024: errcode.Unavailable,   // ER_QUERY_TIMEOUT (MySQL max_execution_time)
	1290: errcode.Unavailable,   // ER_OPTION_PREVENTS_STATEMENT: --read-only, as during a failover
	1792: errcode.Unavailable,   // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
	1614: errcode.Unavailable,   // ER_XA_RBDEADLOCK
	1180: errcode.Unavailable,   // ER_ERROR_DURING_COMMIT
	1021: errcode.Unavailable,   // ER_DISK_FULL
	1037: errcode.Unavailable,   // ER_OUTOFMEMORY
	1041: errcode.Unavailable,   // ER_OUT_OF_RESOURCES
}
