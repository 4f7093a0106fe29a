// Package tracing turns on OpenTelemetry tracing for a Lockwell process:
// the HTTP API's request spans (package httpapi) and the backend and
// value-store call spans under them (package instrumented), exported with
// the OTLP HTTP exporter.
//
// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: then Setup installs a tracer
// provider and the W3C trace-context propagator as the process's globals,
// and the exporter reads the rest of its configuration (headers, timeout,
// compression, certificates) from the standard OTEL_EXPORTER_OTLP_*
// variables. OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the
// service as usual; the default service name is the one Setup is given.
//
// Spans carry operation names, route templates, backend URL schemes, call
// names, status and error codes; never a secret's name, id or value, a
// principal, a token, a query or a body.
package tracing

import (
	"context"
	"fmt"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Provider is the installed tracer provider, or nil when tracing is off.
// Its methods are safe on a nil Provider (they do nothing).
type Provider struct {
	tp *sdktrace.TracerProvider
}

// Enabled reports whether the environment turns tracing on.
func Enabled() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs OTLP HTTP tracing when Enabled and returns its provider;
// otherwise it changes nothing and returns nil. service is the default
// service.name ("lockwell-server", "lockwell-lambda-get", ...). The caller
// shuts the provider down when the process stops, so that buffered spans
// are sent.
func Setup(ctx context.Context, service string) (*Provider, error) {
	if !Enabled() {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry OTLP exporter: %w", err)
	}
	return Install(sdktrace.WithBatcher(exp), service), nil
}

// Install makes a tracer provider with the span processor opt (for
// example sdktrace.WithBatcher(exporter), or a tracetest recorder in tests)
// the process's global, with the W3C trace-context propagator, and returns
// it. Setup calls it; tests call it directly.
func Install(opt sdktrace.TracerProviderOption, service string) *Provider {
	res, err := sdkresource.Merge(sdkresource.Default(),
		sdkresource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil || os.Getenv("OTEL_SERVICE_NAME") != "" {
		res = sdkresource.Default() // OTEL_SERVICE_NAME wins; schema conflicts keep the default
	}
	tp := sdktrace.NewTracerProvider(opt, sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	return &Provider{tp: tp}
}

// Flush sends the spans buffered so far, for example at the end of a
// Lambda invocation, before the runtime freezes the process.
func (p *Provider) Flush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.ForceFlush(ctx)
}

// Shutdown flushes and stops the provider.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}
