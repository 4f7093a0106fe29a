package server

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/envelope"
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
