package config

import (
	"context"
	"fmt"
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
//
// The chain key comes from the key that keyURL names (LOCKWELL_AUDIT_KEY,
// any key URL: envkey://VAR, localkey:///path, awskms://...), else from the
// store key w (LOCKWELL_KEY):
//
//   - a key held in the process (localkey, envkey: envelope.KeyDeriver): the
//     chain key is derived from it with HKDF; nothing is stored;
//   - a key that never leaves a service (KMS): the deployment's chain key
//     is a random key that the first process to start makes and stores in
//     b, wrapped by that key (audit.LoadKey; b implements audit.KeyStorage).
//     Every process unwraps it once here (one KMS Decrypt); two processes
//     starting together end with the same key.
//
// So every deployment with a store key keeps an audit log. file
// (LOCKWELL_AUDIT_FILE) also receives each record as a JSON line: "-" is
// standard output, any other value a file opened for appending (mode
// 0600). retention (LOCKWELL_AUDIT_RETENTION, DynamoDB only) makes records
// expire through the table's TTL; 0 keeps them.
//
// When b keeps no audit records, or there is no key at all (an index with
// an external value store and neither LOCKWELL_KEY nor LOCKWELL_AUDIT_KEY),
// the log is nil (no audit records) and the reason is logged as a warning.
// The chain key is never logged. Errors: invalid_argument for a keyURL that
// does not open; unavailable when the wrapped key cannot be read, made or
// unwrapped for now (storage or key service), or file cannot be opened;
// internal for a stored key that does not unwrap under this key.
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
			return nil, nil, fmt.Errorf("LOCKWELL_AUDIT_KEY: %w", err)
		}
		w = kw
	}
	key, err := chainKey(ctx, b, w, logger)
	if err != nil {
		return nil, nil, err
	}
	if key == nil {
		return nil, noop, nil
	}
	defer clear(key) // audit.New keeps its own copy
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

// chainKey returns the chain key under w (see OpenAuditLog), or nil when
// there is none to have, which it logs.
func chainKey(ctx context.Context, b backend.Backend, w envelope.KeyWrapper, logger *slog.Logger) ([]byte, error) {
	if d, ok := w.(envelope.KeyDeriver); ok {
		return d.DeriveKey(audit.KeyInfo, audit.KeySize)
	}
	if _, none := w.(envelope.NoKey); none || w == nil {
		logger.Warn("no audit key: this index holds no values and has no store key; set LOCKWELL_AUDIT_KEY (awskms://KEY, or envkey://VARIABLE) to keep an audit log")
		return nil, nil
	}
	ks, ok := b.(audit.KeyStorage)
	if !ok {
		logger.Warn("no audit key: the store key is held by a key service and this backend cannot keep the wrapped audit key; set LOCKWELL_AUDIT_KEY (envkey://VARIABLE) to keep an audit log")
		return nil, nil
	}
	key, created, err := audit.LoadKey(ctx, ks, w)
	if err != nil {
		return nil, fmt.Errorf("open the audit log: %w", err)
	}
	if created {
		logger.Info("made this deployment's audit chain key; the backend keeps it, wrapped by the key service")
	}
	return key, nil
}

var _ io.Closer = (*os.File)(nil)
