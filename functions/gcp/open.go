package gcp

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
)

// OpenFromEnv opens the deployment the LOCKWELL_* variables describe (see
// package config) and the authenticator LOCKWELL_AUTH, LOCKWELL_GCP_IDENTITY
// and LOCKWELL_AUDIENCE select. The backends it can open are those linked
// into the binary (package functions/backends).
func OpenFromEnv(ctx context.Context) (Operations, error) {
	log := slog.Default()
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	d, err := cfg.Open(ctx, log)
	if err != nil {
		return nil, err
	}
	var auth httpapi.Authenticator
	if d.Auth == config.AuthBearer {
		if d.Tokens == nil {
			d.Close()
			return nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUTH=bearer needs a backend that keeps API tokens (the SQL backends do)")
		}
		auth = httpapi.BearerAuthenticator{Tokens: d.Tokens}
	} else {
		mode, err := ParseAuthMode(os.Getenv("LOCKWELL_GCP_IDENTITY"))
		if err == nil {
			auth, err = NewGoogleAuthenticator(ctx, AuthConfig{Mode: mode, Audience: os.Getenv("LOCKWELL_AUDIENCE"), Admins: d.Admins})
		}
		if err != nil {
			d.Close()
			return nil, err
		}
	}
	api := httpapi.New(d.Store, auth, httpapi.Options{Logger: log, Tokens: d.Tokens})
	return func(op string) http.Handler { return api.Operation(op) }, nil
}
