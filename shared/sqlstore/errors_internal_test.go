package sqlstore

import (
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"

	"github.com/lockwell/lockwell/shared/errcode"
)

// TestMySQLErrorTable checks the MySQL rows of the error table that the
// tests cannot provoke on demand (a deadlock, a lock wait timeout, a
// shutdown), and which messages reach the cause.
func TestMySQLErrorTable(t *testing.T) {
	state := func(s string) (b [5]byte) { copy(b[:], s); return b }
	cases := []struct {
		err         *mysql.MySQLError
		want        errcode.Code
		keepMessage bool
	}{
		{&mysql.MySQLError{Number: 1062, SQLState: state("23000"), Message: "Duplicate entry 'app-secret' for key 'secrets_public_name'"}, errcode.AlreadyExists, false},
		{&mysql.MySQLError{Number: 1213, SQLState: state("40001"), Message: "Deadlock found when trying to get lock"}, errcode.Unavailable, false},
		{&mysql.MySQLError{Number: 1205, SQLState: state("HY000"), Message: "Lock wait timeout exceeded"}, errcode.Unavailable, false},
		{&mysql.MySQLError{Number: 1053, SQLState: state("08S01"), Message: "Server shutdown in progress"}, errcode.Unavailable, false},
		{&mysql.MySQLError{Number: 1290, SQLState: state("HY000"), Message: "The MariaDB server is running with the --read-only option"}, errcode.Unavailable, false},
		{&mysql.MySQLError{Number: 1366, SQLState: state("22007"), Message: "Incorrect string value: '\\xF0\\x9F' for column"}, errcode.Internal, false},
		{&mysql.MySQLError{Number: 1146, SQLState: state("42S02"), Message: "Table 'db.secrets' doesn't exist"}, errcode.Internal, true},
		{&mysql.MySQLError{Number: 1045, SQLState: state("28000"), Message: "Access denied for user 'app'@'127.0.0.1' (using password: YES)"}, errcode.Internal, true},
	}
	for _, tc := range cases {
		err := classify(tc.err, "do something")
		assert.Equal(t, tc.want, errcode.Of(err), "error %d", tc.err.Number)
		if tc.keepMessage {
			assert.Contains(t, err.Error(), tc.err.Message, "error %d", tc.err.Number)
		} else {
			assert.NotContains(t, err.Error(), tc.err.Message, "error %d: the message may quote a row", tc.err.Number)
		}
		assert.Contains(t, err.Error(), fmt.Sprintf("mysql: error %d (%s)", tc.err.Number, tc.err.SQLState[:]), "the cause keeps the number and SQLSTATE")
	}
}
