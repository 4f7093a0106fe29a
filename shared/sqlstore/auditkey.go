package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// The SQL store keeps the audit chain's wrapped key (audit.KeyStorage) in
// the one row of the audit_key table (migration 0006); its primary key makes
// the first insert win.
var _ audit.KeyStorage = (*Store)(nil)

// WrappedAuditKey implements audit.KeyStorage: one query.
func (s *Store) WrappedAuditKey(ctx context.Context) ([]byte, error) {
	var wrapped []byte
	err := s.r.queryRow(ctx, `SELECT wrapped FROM audit_key WHERE id = 1`).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(err, "read the audit chain key")
	}
	return wrapped, nil
}

// PutWrappedAuditKey implements audit.KeyStorage: one insert; when the row
// exists already (another process inserted it first), one query reads it.
func (s *Store) PutWrappedAuditKey(ctx context.Context, wrapped []byte) ([]byte, error) {
	if len(wrapped) == 0 {
		return nil, errcode.New(errcode.Internal, "an empty wrapped audit chain key")
	}
	stmt := s.d.rebind(`INSERT INTO audit_key (id, wrapped, created_us) VALUES (1, ?, ?)`)
	err := s.write(ctx, true, func(x execer) error {
		_, err := x.exec(ctx, stmt, wrapped, secret.Now().UnixMicro())
		return err
	})
	if err == nil {
		return wrapped, nil
	}
	if err = classify(err, "store the audit chain key"); !errcode.Is(err, errcode.AlreadyExists) {
		return nil, err
	}
	stored, err := s.WrappedAuditKey(ctx)
	if err == nil && stored == nil {
		err = errcode.New(errcode.Internal, "the audit chain key was stored, then disappeared")
	}
	return stored, err
}
