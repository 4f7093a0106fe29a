package httpapi

import (
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/store"
)

// Every request is measured (package metrics) and traced (OpenTelemetry,
// through the global tracer provider, which does nothing unless package
// tracing installed one). Both name a request by its operation and route
// template ("GET /api/v1/secrets/{id}") and the deployment's backend, never
// by a secret name, id, principal, token, query or value.

// tracerName names the API's spans' instrumentation scope.
const tracerName = "github.com/lockwell/lockwell/shared/httpapi"

func init() {
	ops := make([]string, 0, len(routes)+1)
	for _, rt := range routes {
		ops = append(ops, rt.op)
	}
	metrics.Allow(metrics.Operation, append(ops, opUnknown)...)
}

// opUnknown is the operation of a request no route serves.
const opUnknown = "unknown"

// backendLabel is the metrics label of st's backend: what the instrumented
// backend wrapping it says (its URL scheme, or index+values), else
// metrics.Other.
func backendLabel(st *store.Store) string {
	if st == nil {
		return metrics.Other
	}
	if l, ok := st.Backend().(interface{ MetricsLabel() string }); ok {
		return l.MetricsLabel()
	}
	return metrics.Other
}

// observation is one request's span and start time.
type observation struct {
	start time.Time
	span  trace.Span
}

// startObservation starts the request's span, continuing a trace the caller
// propagated (W3C traceparent, when package tracing installed the
// propagator), and returns the request to serve: r itself unless the span
// records, so untraced requests cost no copy.
func (a *API) startObservation(r *http.Request, rt route) (*http.Request, observation) {
	o := observation{start: time.Now()}
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	name := rt.op
	if rt.path != "" {
		name = rt.method + " " + rt.path
	}
	ctx, o.span = otel.Tracer(tracerName).Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", rt.path),
			attribute.String("lockwell.operation", rt.op),
			attribute.String("lockwell.backend", a.backend),
		))
	if o.span.IsRecording() {
		r = r.WithContext(ctx)
	}
	return r, o
}

// finishObservation records the request's figures and ends its span.
func (a *API) finishObservation(o observation, rt route, w *statusWriter, rec *record) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	metrics.Request(rt.op, a.backend, status, time.Since(o.start))
	if !o.span.IsRecording() {
		o.span.End()
		return
	}
	o.span.SetAttributes(attribute.Int("http.response.status_code", status))
	if rec.err != nil {
		_, body := statusAndBody(rec.err)
		// The code only: messages may name a secret.
		o.span.SetAttributes(attribute.String("lockwell.error_code", string(body.Error.Code)))
	}
	if status >= 500 {
		o.span.SetStatus(codes.Error, http.StatusText(status))
	}
	o.span.End()
}
