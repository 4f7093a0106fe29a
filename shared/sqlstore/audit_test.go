package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/sqlstore"
)

func TestAuditConformance(t *testing.T) {
	run := func(t *testing.T, open func(t *testing.T) *sqlstore.Store) {
		audittest.Run(t, audittest.Harness{
			New: func(t *testing.T) audit.Storage { return open(t) },
			Tamper: func(t *testing.T, st audit.Storage, seq int64, principal string) {
				sqlstore.TamperAudit(t, st.(*sqlstore.Store), seq, principal)
			},
		})
	}
	t.Run("sqlite", func(t *testing.T) {
		run(t, func(t *testing.T) *sqlstore.Store { s, _ := openSQLite(t); return s })
	})
	t.Run("postgres", func(t *testing.T) {
		run(t, func(t *testing.T) *sqlstore.Store { s, _ := openPostgres(t, testSealer(t)); return s })
	})
	t.Run("mysql", func(t *testing.T) {
		run(t, func(t *testing.T) *sqlstore.Store { s, _ := openMySQL(t, testSealer(t)); return s })
	})
}

// TestSQLiteAuditFileOfItsOwn checks that SQLite keeps the audit chain
// beside the store's database, private, and that records an earlier version
// kept in the store's own audit_log table move there, intact, when the
// store opens.
func TestSQLiteAuditFileOfItsOwn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "lockwell.db")
	sealer := testSealer(t)
	key := make([]byte, audit.KeySize)

	s := openSQLiteAt(t, path, sealer)
	l, err := audit.New(s, key)
	require.NoError(t, err)
	for i := range 3 {
		_, err := l.Append(ctx, audit.Record{Principal: "alice", Operation: "get", Phase: audit.PhaseResponse, SecretID: fmt.Sprint(i), Outcome: audit.OutcomeOK})
		require.NoError(t, err)
	}
	_, err = l.Append(ctx, audit.Record{Principal: "alice", Operation: "update", Phase: audit.PhaseRequest, SecretID: "x"})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	auditPath := filepath.Join(dir, "lockwell-audit.db")
	info, err := os.Stat(auditPath)
	require.NoError(t, err, "the audit chain's own file")
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	var inStore int
	require.NoError(t, rawSQLite(t, path).QueryRow(`SELECT count(*) FROM audit_log`).Scan(&inStore))
	require.Zero(t, inStore, "records in the store's own database")

	// The layout of the earlier version: the records in the store's
	// database, no audit file.
	store := rawSQLite(t, path)
	_, err = store.Exec(`ATTACH DATABASE ? AS old`, auditPath)
	require.NoError(t, err)
	_, err = store.Exec(`INSERT INTO main.audit_log SELECT * FROM old.audit_log`)
	require.NoError(t, err)
	_, err = store.Exec(`DETACH DATABASE old`)
	require.NoError(t, err)
	require.NoError(t, store.Close())
	for _, suffix := range []string{"", "-wal", "-shm"} {
		require.NoError(t, os.RemoveAll(auditPath+suffix))
	}

	s = openSQLiteAt(t, path, sealer)
	l, err = audit.New(s, key)
	require.NoError(t, err)
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	require.Nil(t, rep.Broken)
	require.Equal(t, int64(4), rep.Checked, "records after the move")
	_, err = l.Append(ctx, audit.Record{Principal: "bob", Operation: "get", Phase: audit.PhaseResponse, Outcome: audit.OutcomeOK})
	require.NoError(t, err)
	rep, err = l.Verify(ctx, false)
	require.NoError(t, err)
	require.Nil(t, rep.Broken)
	require.Equal(t, int64(5), rep.Last)
	require.NoError(t, rawSQLite(t, path).QueryRow(`SELECT count(*) FROM audit_log`).Scan(&inStore))
	require.Zero(t, inStore, "records left in the store's database after the move")
}
