package config

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
)

// OpenAuditLog returns the audit log (package audit) of a deployment whose
// backend is b and whose store key is w, and how to close what it opened.
// The chain key is derived from the store key (envelope.KeyDeriver: a
// localkey or envkey store key); with a key that never leaves a service
// (KMS), from the key that keyURL names (LOCKWELL_AUDIT_KEY: envkey://VAR or
// localkey:///path, kept apart from the KMS key, for example in Secrets
// Manager). file (LOCKWELL_AUDIT_FILE) also receives each record as a JSON
// line: "-" is standard output, any other value a file opened for appending
// (mode 0600). retention (LOCKWELL_AUDIT_RETENTION, DynamoDB only) makes
// records expire through the table's TTL; 0 keeps them.
//
// When b keeps no audit records, or there is no key to derive the chain key
// from, the log is nil (no audit records) and the reason is logged as a
// warning. Errors: invalid_argument for a keyURL that names no local key;
// unavailable when file cannot be opened.
func OpenAuditLog(ctx context.Context, b backend.Backend, w envelope.KeyWrapper, keyURL, file string, retention time.Duration, logger *slog.Logger) (*audit.Log, func() error, error) {
	noop := func() error { return nil }
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	st, ok := b.(audit.Storage)
	if ok && retention > 0 {
		r, can := b.(interface{ SetAuditRetention(time.Duration) })
		if !can {
			return nil, nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUDIT_RETENTION is for DynamoDB (its TTL); this backend keeps audit records until they are deleted")
		}
		r.SetAuditRetention(retention)
	}
	if !ok {
		logger.Warn("this backend keeps no audit log; requests are not audited")
		return nil, noop, nil
	}
	if keyURL != "" {
		kw, err := envelope.OpenWrapper(ctx, keyURL)
		if err != nil {
			return nil, nil, err
		}
		if w = kw; !isDeriver(kw) {
			return nil, nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUDIT_KEY must name a local key (envkey://VARIABLE or localkey:///path), not a KMS key")
		}
	}
	d, ok := w.(envelope.KeyDeriver)
	if !ok {
		logger.Warn("no audit key: the store key is held by KMS; set LOCKWELL_AUDIT_KEY (envkey://VARIABLE) to keep an audit log")
		return nil, noop, nil
	}
	key, err := d.DeriveKey(audit.KeyInfo, audit.KeySize)
	if err != nil {
		return nil, nil, err
	}
	var opts []audit.Option
	closer := noop
	switch file {
	case "":
	case "-":
		opts = append(opts, audit.WithSink(os.Stdout))
	default:
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, errcode.Wrap(errcode.Unavailable, err, "open LOCKWELL_AUDIT_FILE")
		}
		opts = append(opts, audit.WithSink(f))
		closer = f.Close
	}
	l, err := audit.New(st, key, opts...)
	if err != nil {
		_ = closer()
		return nil, nil, err
	}
	return l, closer, nil
}

func isDeriver(w envelope.KeyWrapper) bool {
	_, ok := w.(envelope.KeyDeriver)
	return ok
}

var _ io.Closer = (*os.File)(nil)
