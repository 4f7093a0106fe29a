package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create the bench's schema

	"github.com/lockwell/lockwell/shared/backend"
	deploy "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/server"
)

// deployment is the server's store when the bench runs on storeURL (nil:
// the SQLite store of dir): storeURL's database, its values sealed with
// the store key in dir.
func deployment(dir, storeURL string) *deploy.Config {
	if storeURL == "" {
		return nil
	}
	return &deploy.Config{StoreURL: storeURL, KeyURL: keyURL(dir)}
}

func keyURL(dir string) string {
	return (&url.URL{Scheme: "localkey", Path: filepath.Join(dir, server.KeyFile)}).String()
}

// openSeedBackend opens the store the bench seeds: storeURL's, or dir's
// SQLite database at synchronous=normal.
func openSeedBackend(ctx context.Context, dir, storeURL string) (backend.Backend, error) {
	if storeURL == "" {
		return server.OpenBackendURL(ctx, dir, "synchronous=normal")
	}
	wrapper, err := envelope.OpenWrapper(ctx, keyURL(dir))
	if err != nil {
		return nil, err
	}
	return backend.Open(ctx, storeURL, backend.Options{Sealer: envelope.NewSealer(wrapper)})
}

// benchSchema gives a postgres: storeURL a schema of its own, created now,
// and returns the URL that uses it and a function that drops it. Other
// URLs are returned as they are (a MySQL database must be empty).
func benchSchema(ctx context.Context, storeURL string) (string, func(), error) {
	u, err := url.Parse(storeURL)
	if err != nil || u.Scheme != "postgres" {
		return storeURL, func() {}, err
	}
	if u.Query().Has("search_path") {
		return "", nil, fmt.Errorf("-store-url: the bench picks the schema itself; leave search_path out")
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	schema := fmt.Sprintf("lockwell_bench_%x", suffix)
	// pgx reads the credentials from PGUSER/PGPASSWORD as the store does.
	// max_conns is the store's parameter, not the server's.
	admin := *u
	aq := admin.Query()
	aq.Del("max_conns")
	admin.RawQuery = aq.Encode()
	db, err := sql.Open("pgx", admin.String())
	if err != nil {
		return "", nil, err
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create the bench's schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		db.Close()
	}, nil
}
