package gcp

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"sync"

	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/metrics/cloudlogging"
	"github.com/lockwell/lockwell/shared/tracing"
)

// OpenFromEnv opens the deployment the LOCKWELL_* variables describe (see
// package config) and the authenticator LOCKWELL_AUTH, LOCKWELL_GCP_IDENTITY
// and LOCKWELL_AUDIENCE select. It refuses a LOCKWELL_GCP_GATEWAY that is
// not true or false (Default reads it; see BehindGateway). The backends it can open are those linked
// into the binary (package functions/backends).
//
// With LOCKWELL_EVENTS_TOPIC set (projects/P/topics/T) every committed
// change is published there as a change event (PubSubEvents).
//
// It also turns on what observes the functions, once per instance: every
// figure of package metrics as a structured log line on stdout (package
// metrics/cloudlogging), and, with OTEL_EXPORTER_OTLP_ENDPOINT set,
// OpenTelemetry spans over OTLP HTTP (package tracing), flushed after each
// request.
func OpenFromEnv(ctx context.Context) (Operations, error) {
	if _, err := ParseGateway(os.Getenv(GatewayEnv)); err != nil {
		return nil, err
	}
	log := slog.Default()
	cloudlogging.Install()
	if err := setupTracing(ctx); err != nil {
		return nil, err
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	// Change events, published after each commit (events.go).
	if pub, err := openEvents(ctx, os.Getenv("LOCKWELL_EVENTS_TOPIC"), log); err != nil {
		return nil, err
	} else if pub != nil {
		cfg.Events = pub
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

var (
	tracingMu sync.Mutex
	tracer    *tracing.Provider // nil while tracing is off
	tracingOn bool
)

// setupTracing installs tracing once per instance (again after a failure).
func setupTracing(ctx context.Context) error {
	tracingMu.Lock()
	defer tracingMu.Unlock()
	if tracingOn {
		return nil
	}
	tp, err := tracing.Setup(ctx, "lockwell-functions")
	if err != nil {
		return err
	}
	tracer, tracingOn = tp, true
	return nil
}

// flushSpans sends the spans of a finished request, so that none wait in a
// buffer while the instance's CPU is throttled between requests.
func flushSpans(ctx context.Context) {
	tracingMu.Lock()
	tp := tracer
	tracingMu.Unlock()
	_ = tp.Flush(ctx)
}
