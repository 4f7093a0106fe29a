package server

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/store"
)

// openAuditLog opens the audit log of the SQLite store in dir: its chain
// key is derived from the data directory's store key; LOCKWELL_AUDIT_FILE
// also gets each record as a JSON line (config.OpenAuditLog).
func openAuditLog(ctx context.Context, dir string, b backend.Backend, log *slog.Logger) (*audit.Log, func() error, error) {
	w, err := openKey(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	return config.OpenAuditLog(ctx, b, w, "", os.Getenv("LOCKWELL_AUDIT_FILE"), 0, log)
}

// openKey opens the data directory's store key.
func openKey(ctx context.Context, dir string) (envelope.KeyWrapper, error) {
	keyURL := url.URL{Scheme: "localkey", Path: filepath.Join(dir, KeyFile)}
	return envelope.OpenWrapper(ctx, keyURL.String())
}

// OpenAuditLog opens the audit log of the data directory dir for admin
// tools (lockwell admin audit verify); the caller closes the returned
// backend. The log is nil when the store keeps none.
func OpenAuditLog(ctx context.Context, dir string) (*audit.Log, backend.Backend, error) {
	b, err := OpenBackend(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	w, err := openKey(ctx, dir)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	l, _, err := config.OpenAuditLog(ctx, b, w, "", "", 0, nil)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	return l, b, nil
}

// OpenStore opens the store of the data directory dir for admin tools
// (lockwell admin purge) as Run serves it, with its audit log, but without
// events or API tokens; the caller closes it with the returned function.
// Unlike Run it never creates a store: a dir without the database and the
// store key is not_found.
func OpenStore(ctx context.Context, dir string) (*store.Store, func() error, error) {
	for _, f := range []string{DatabaseFile, KeyFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, nil, errcode.New(errcode.NotFound, "%s is not a lockwell data directory: it has no %s", dir, f)
		}
	}
	b, err := OpenBackend(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	l, closeAudit, err := openAuditLog(ctx, dir, b, nil)
	if err != nil {
		b.Close()
		return nil, nil, err
	}
	st := store.New(b, store.WithAuditLog(l))
	return st, func() error { return errors.Join(st.Close(), closeAudit()) }, nil
}
