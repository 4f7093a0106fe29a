// Command functions serves Lockwell's Google Cloud Functions locally with the
// Functions Framework, the way Cloud Functions runs them, on 127.0.0.1:
//
//	go run ./localdev/functions                         # every function, at /<Name> (and /<Name>/...)
//	FUNCTION_TARGET=GetSecret go run ./localdev/functions   # one function, at /
//
// PORT sets the port (default 8081). The deployment comes from the LOCKWELL_*
// variables (package config) as on Cloud Functions; when LOCKWELL_STORE is not
// set it is the local server's data directory (LOCKWELL_DATA_DIR, default
// ./.lockwell, shared with `make dev`) with bearer-token authentication, and
// an admin token is written to <data-dir>/admin.token on first use:
//
//	curl -H "Authorization: Bearer $(cat .lockwell/admin.token)" http://127.0.0.1:8081/ListSecrets
//	FUNCTION_TARGET=GetSecret go run ./localdev/functions &
//	curl -H "Authorization: Bearer $(cat .lockwell/admin.token)" http://127.0.0.1:8081/<id>
//
// It links the SQL backends and the default set of functions/backends.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "github.com/lockwell/lockwell/functions/backends"
	"github.com/lockwell/lockwell/functions/gcp"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/identity"
	_ "github.com/lockwell/lockwell/shared/sqlstore" // sqlite://, postgres://
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "functions:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8081"
	}
	if os.Getenv("LOCKWELL_STORE") == "" {
		if err := useDataDir(ctx); err != nil {
			return err
		}
	}
	// Without FUNCTION_TARGET the framework serves each function at exactly
	// /<Name>; serve /<Name>/... too, so that /GetSecret/<id> reaches it as
	// on Cloud Functions.
	if os.Getenv("FUNCTION_TARGET") == "" {
		for _, f := range gcp.Functions {
			if err := funcframework.RegisterHTTPFunctionContext(ctx, "/"+f.Name+"/", gcp.Default.Handler(f)); err != nil {
				return err
			}
		}
	}
	slog.Info("serving Lockwell's Cloud Functions", "addr", "127.0.0.1:"+port, "function_target", os.Getenv("FUNCTION_TARGET"))
	return funcframework.StartHostPort("127.0.0.1", port)
}

// useDataDir points the configuration at the local data directory, with
// bearer tokens, and makes sure an admin token exists.
func useDataDir(ctx context.Context) error {
	dir := os.Getenv("LOCKWELL_DATA_DIR")
	if dir == "" {
		dir = ".lockwell"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"LOCKWELL_STORE": "sqlite://" + filepath.Join(abs, "lockwell.db"),
		"LOCKWELL_KEY":   "localkey://" + filepath.Join(abs, "store.key"),
		"LOCKWELL_AUTH":  config.AuthBearer,
	} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	tokenFile := filepath.Join(abs, "admin.token")
	if _, err := os.Stat(tokenFile); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	d, err := cfg.Open(ctx, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	if d.Tokens == nil {
		return errors.New("the local store keeps no API tokens")
	}
	token, hash, err := identity.NewToken()
	if err != nil {
		return err
	}
	if err := d.Tokens.SaveToken(ctx, hash, identity.Principal{Name: "admin", Role: identity.Admin}); err != nil {
		return err
	}
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		return err
	}
	slog.Info("wrote an admin API token (mode 0600)", "path", tokenFile)
	return nil
}
