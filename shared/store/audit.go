package store

import (
	"context"
	"log/slog"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// WithAuditLog makes the store write its audit records to l (package
// audit), failing closed:
//
//   - an operation that returns values (get, lookup, a past version) writes
//     one record after the read; when it cannot be stored the operation
//     returns unavailable and no values;
//   - a change writes a request record before it is attempted (Vault's
//     model), so no change is ever made unaudited: when that record cannot
//     be stored the operation returns unavailable and changes nothing; and
//     a response record with the outcome after. When only the response
//     record cannot be stored the change stands and is answered as made
//     (reporting a committed change as failed would invite a retry that
//     makes it twice); its request record, with no response after it, marks
//     the outcome as unknown in the log, and the failure is logged.
//
// The request's id, client address and user agent come from the context
// (audit.WithRequest, set by package httpapi).
func WithAuditLog(l *audit.Log) Option { return func(s *Store) { s.log = l } }

// AuditLog returns the log the store writes to (nil without one), for the
// HTTP API's token and refusal records and its GET /audit.
func (s *Store) AuditLog() *audit.Log { return s.log }

// readsValues are the operations whose results carry values: their record
// is written after the read, and without it the values are not returned.
var readsValues = map[string]bool{"get": true, "lookup": true, "get_version": true}

// notAudited are the operations that neither read values nor change a
// secret (list and versions return metadata only): they get the slog line, no record.
var notAudited = map[string]bool{"list": true, "versions": true}

// byName are the operations whose target is a secret name, not an id.
var byName = map[string]bool{"lookup": true}

// newAuditRecord returns the record of op by p on target (an id, or a name
// for byName operations), with the request facts of ctx.
func newAuditRecord(ctx context.Context, op, phase string, p identity.Principal, target string) audit.Record {
	r := audit.Record{Principal: p.Name, Role: string(p.Role), Operation: op, Phase: phase}
	if byName[op] {
		r.SecretName = target
	} else {
		r.SecretID = target
	}
	audit.Fill(ctx, &r)
	return r
}

// begin writes the request record of a change before it is attempted.
// Errors: unavailable when it cannot be stored; the change must then not be
// made.
func (s *Store) begin(ctx context.Context, op string, p identity.Principal, id, name string) error {
	if s.log == nil {
		return nil
	}
	r := newAuditRecord(ctx, op, audit.PhaseRequest, p, id)
	r.SecretName = name
	_, err := s.log.Append(ctx, r)
	return err
}

// record writes the response record of op (deferred by every operation):
// target is the secret's id (a name for byName operations; nil when not
// known), out the operation's result (nil for operations without one), err
// its error. For operations that read values it fails closed by replacing
// the result with unavailable.
func (s *Store) record(ctx context.Context, op string, p identity.Principal, target *string, out **secret.Secret, err *error) {
	if s.audit != nil {
		s.logLine(ctx, op, p, target, *err)
	}
	if s.log == nil || notAudited[op] {
		return
	}
	t := ""
	if target != nil {
		t = *target
	}
	r := newAuditRecord(ctx, op, audit.PhaseResponse, p, t)
	r.Outcome = audit.OutcomeOK
	if *err != nil {
		r.Outcome = string(errcode.Of(*err))
	}
	if out != nil && *out != nil {
		r.SecretID, r.SecretName, r.Version = (*out).ID, (*out).Name, (*out).Version
	}
	_, aerr := s.log.Append(context.WithoutCancel(ctx), r)
	if aerr == nil {
		return
	}
	if readsValues[op] {
		if out != nil {
			*out = nil
		}
		*err = errcode.Wrap(errcode.Unavailable, aerr, "the audit record of this read could not be stored, so nothing is returned; retry later")
		return
	}
	if s.audit != nil {
		s.audit.LogAttrs(ctx, slog.LevelError, "audit response record not stored; the change stands",
			slog.String("op", op), slog.String("principal", p.Name), slog.String("cause", aerr.Error()))
	}
}

// logLine is the slog line of WithAudit: operation, principal, secret id
// and outcome code, never values.
func (s *Store) logLine(ctx context.Context, op string, p identity.Principal, id *string, err error) {
	attrs := []slog.Attr{slog.String("op", op), slog.String("principal", p.Name)}
	if id != nil && !byName[op] {
		attrs = append(attrs, slog.String("secret_id", *id))
	}
	outcome := "ok"
	if err != nil {
		outcome = string(errcode.Of(err))
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	s.audit.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}
