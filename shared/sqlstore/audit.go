package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/errcode"
)

// The SQL store keeps the audit chain in the audit_log table: one row per
// record, inserted only; the primary key on seq is the condition of a
// conditional append. PostgreSQL and MySQL keep it in the store's database
// (migration 0005); SQLite in a database file of its own beside the store's
// (sqliteAuditPath, same schema), so that the record each read of values
// appends does not make the store's readers start with a cold page cache.
//
// On SQLite, records of responses are committed without an fsync of their
// own (groupCommitter.doRelaxed): once committed they survive the process
// being killed, and the next request record's commit (fsynced: it comes
// before the change it announces) makes them durable against power loss.
// That is the durability of Vault's file audit device, which writes without
// fsync; a record that cannot be written still fails its request.
var _ audit.Storage = (*Store)(nil)

const auditColumns = `seq, time_us, request_id, principal, principal_role, operation, phase,
	secret_id, secret_name, secret_version, token_id, token_user, outcome, client_addr, user_agent, mac`

const insertAudit = `INSERT INTO audit_log (` + auditColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// AppendAudit implements audit.Storage: all of recs in one transaction, or
// none (audit.ErrConflict when one of their sequences is taken).
func (s *Store) AppendAudit(ctx context.Context, after int64, recs []audit.Record) (int, error) {
	for i, r := range recs {
		if r.Seq != after+1+int64(i) {
			return 0, errcode.New(errcode.Internal, "audit records must be consecutive from %d", after+1)
		}
	}
	stmt := s.d.rebind(insertAudit)
	relaxed := true
	for i := range recs {
		relaxed = relaxed && recs[i].Phase == audit.PhaseResponse
	}
	err := s.writeAudit(ctx, len(recs) == 1, relaxed, func(x execer) error {
		for _, r := range recs {
			_, err := x.exec(ctx, stmt, auditArgs(&r)...)
			if err != nil {
				err = classify(err, "append to the audit log")
				if errcode.Is(err, errcode.AlreadyExists) {
					return audit.ErrConflict
				}
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(recs), nil
}

// AuditHead implements audit.Storage.
func (s *Store) AuditHead(ctx context.Context) (*audit.Record, error) {
	rows, err := s.ar.query(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return nil, classify(err, "read the audit log's head")
	}
	recs, err := scanAudit(rows)
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return &recs[0], nil
}

// ReadAudit implements audit.Storage: one keyset query on seq, filtered in
// the database.
func (s *Store) ReadAudit(ctx context.Context, q audit.Query) ([]audit.Record, error) {
	where, args, order := []string{"seq > ?"}, []any{q.After}, "seq"
	if q.Newest {
		where, args, order = []string{"seq < ?"}, []any{q.Before}, "seq DESC"
		if q.Before == 0 {
			where, args = []string{"seq > 0"}, nil
		}
	}
	f := q.Filter
	if f.Secret != "" {
		where = append(where, "(secret_id = ? OR secret_name = ?)")
		args = append(args, f.Secret, f.Secret)
	}
	if f.Principal != "" {
		where = append(where, "principal = ?")
		args = append(args, f.Principal)
	}
	if f.Operation != "" {
		where = append(where, "operation = ?")
		args = append(args, f.Operation)
	}
	if !f.Since.IsZero() {
		where = append(where, "time_us >= ?")
		args = append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		where = append(where, "time_us < ?")
		args = append(args, f.Until.UnixMicro())
	}
	args = append(args, q.Limit)
	query := s.d.rebind(`SELECT ` + auditColumns + ` FROM audit_log WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order + ` LIMIT ?`)
	rows, err := s.ar.query(ctx, query, args...)
	if err != nil {
		return nil, classify(err, "read the audit log")
	}
	return scanAudit(rows)
}

// auditArgs are the values of r's columns, in auditColumns order.
func auditArgs(r *audit.Record) []any {
	return []any{r.Seq, r.Time.UnixMicro(), r.RequestID, r.Principal, r.Role, r.Operation, r.Phase,
		r.SecretID, r.SecretName, r.Version, r.TokenID, r.TokenUser, r.Outcome, r.ClientAddr, r.UserAgent, r.MAC}
}

func scanAudit(rows *sql.Rows) ([]audit.Record, error) {
	defer rows.Close()
	out := []audit.Record{}
	for rows.Next() {
		var r audit.Record
		var us int64
		if err := rows.Scan(&r.Seq, &us, &r.RequestID, &r.Principal, &r.Role, &r.Operation, &r.Phase,
			&r.SecretID, &r.SecretName, &r.Version, &r.TokenID, &r.TokenUser, &r.Outcome, &r.ClientAddr, &r.UserAgent, &r.MAC); err != nil {
			return nil, classify(err, "read the audit log")
		}
		r.Time = time.UnixMicro(us).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "read the audit log")
	}
	return out, nil
}
