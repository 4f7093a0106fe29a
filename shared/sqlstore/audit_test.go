package sqlstore_test

import (
	"testing"

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
