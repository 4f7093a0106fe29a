package sqlstore

import (
	"context"
	"testing"
)

// TamperAudit changes the principal of audit record seq in place, as someone
// with write access to the database would (tests of audit.Log.Verify).
func TamperAudit(t testing.TB, s *Store, seq int64, principal string) {
	t.Helper()
	res, err := s.aw.db.ExecContext(context.Background(), s.d.rebind(`UPDATE audit_log SET principal = ? WHERE seq = ?`), principal, seq)
	if err != nil {
		t.Fatalf("tamper with the audit log: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper with the audit log: %d rows changed", n)
	}
}
