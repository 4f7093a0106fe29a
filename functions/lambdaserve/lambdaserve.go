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
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/emf"
)

// Run serves the httpapi operation op ("create", "get", "list", "update" or
// "delete"), or the dashboard for op Dashboard, and does not return. A configuration or a store that does not
// open is an init error: it is logged and the process exits with status 1,
// which Lambda reports as Runtime.ExitError and retries with a new process.
//
// Every figure of package metrics goes to stdout as a CloudWatch embedded
// metric format line (package metrics/emf), so CloudWatch charts requests,
// backend calls and retries without a scraper.
//
// Tracing is linked only into bootstraps built with the build tag
// lockwell_otel (make build LAMBDA_BACKEND_TAGS=lockwell_otel): the OTLP
// exporter and SDK nearly double a bootstrap's size, which every cold start
// pays. There, with OTEL_EXPORTER_OTLP_ENDPOINT set, spans are exported
// over OTLP HTTP (package tracing) and flushed at the end of each
// invocation, before Lambda freezes the process. Without the tag the
// variable is reported once at cold start and ignored.
func Run(op string) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", op)
	metrics.Register(emf.New(os.Stdout, nil))
	ctx := context.Background()
	flush, err := setupTracing(ctx, "lockwell-"+op, log)
	if err != nil {
		log.Error("cold start failed", "code", string(errcode.Of(err)), "err", err)
		os.Exit(1)
	}
	h, err := Open(ctx, op, log)
	if err != nil {
		log.Error("cold start failed", "code", string(errcode.Of(err)), "err", err)
		os.Exit(1)
	}
	if flush == nil {
		lambda.Start(h)
		return
	}
	lambda.Start(flushing{h: h, flush: flush})
}

// setupTracing turns tracing on and returns the function that flushes
// spans, or nil when tracing is off. Without the lockwell_otel build tag it
// only warns when the environment asks for tracing (tracing_otel.go
// replaces it).
var setupTracing = func(_ context.Context, _ string, log *slog.Logger) (func(context.Context) error, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		log.Warn("OTEL_EXPORTER_OTLP_ENDPOINT is set but this bootstrap was built without tracing; build it with the lockwell_otel tag")
	}
	return nil, nil
}

// flushing sends an invocation's spans before the invocation returns.
type flushing struct {
	h     lambda.Handler
	flush func(context.Context) error
}

func (f flushing) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	out, err := f.h.Invoke(ctx, payload)
	_ = f.flush(ctx)
	return out, err
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
