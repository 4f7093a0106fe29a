// Package lambdaserve is the body of every per-operation Lambda main: it
// opens the deployment once per cold start from the LOCKWELL_* variables
// (package config), builds the HTTP API over it, and serves one operation's
// routes from API Gateway HTTP API or function URL events (package
// lambdahttp) until the runtime stops the process.
//
// Which backends a bootstrap can open is decided when it is built: each main
// imports package functions/backends, whose build tags select the backends
// (see package functions).
package lambdaserve

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lockwell/lockwell/functions/lambdahttp"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/dashboard"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
)

// Run serves the httpapi operation op ("create", "get", "list", "update" or
// "delete"), or the dashboard for op Dashboard, and does not return. A configuration or a store that does not
// open is an init error: it is logged and the process exits with status 1,
// which Lambda reports as Runtime.ExitError and retries with a new process.
func Run(op string) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", op)
	h, err := Open(context.Background(), op, log)
	if err != nil {
		log.Error("cold start failed", "code", string(errcode.Of(err)), "err", err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// Dashboard is the op of the function that serves the web dashboard (see
// DashboardHandler).
const Dashboard = "dashboard"

// DashboardHandler is what the dashboard function serves: the embedded
// assets for any path outside /api/, and under /api/ the session routes
// (sign-in checks a token through whoami) and GET /api/v1/whoami, all behind
// the dashboard's session layer. Every other API route gets the API's 404:
// the other functions serve them.
func DashboardHandler(api *httpapi.API) http.Handler {
	return dashboard.Handler(api.Operation(httpapi.OpWhoAmI))
}

// Open opens the deployment from the environment and returns the adapter
// serving op. With LOCKWELL_AUTH=platform (the default) identity comes from
// the API Gateway authorizer and LOCKWELL_ADMINS; with bearer, from the
// request's Lockwell API token, or from the dashboard's session cookie
// holding one (dashboard.Sessions wraps every operation).
//
// The dashboard function (op Dashboard) serves requests without an
// authorizer identity too: its asset and sign-in routes have no authorizer,
// and whoami answers 401 to a request that has none.
func Open(ctx context.Context, op string, log *slog.Logger) (*lambdahttp.Adapter, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	d, err := cfg.Open(ctx, log)
	if err != nil {
		return nil, err
	}
	bearer := d.Auth == config.AuthBearer
	var auth httpapi.Authenticator = httpapi.ContextAuthenticator{}
	if bearer {
		if d.Tokens == nil {
			d.Close()
			return nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_AUTH=bearer needs a backend that keeps API tokens (the SQL backends do)")
		}
		auth = httpapi.BearerAuthenticator{Tokens: d.Tokens}
	}
	api := httpapi.New(d.Store, auth, httpapi.Options{Logger: log, Tokens: d.Tokens})
	opts := lambdahttp.Options{Admins: d.Admins, Bearer: bearer, Logger: log}
	if op == Dashboard {
		opts.Anonymous = true
		return lambdahttp.New(DashboardHandler(api), opts), nil
	}
	return lambdahttp.New(dashboard.Sessions(api.Operation(op)), opts), nil
}
