// Package prom exports Lockwell's figures (package metrics) in the
// Prometheus text format, with github.com/prometheus/client_golang. The
// self-hosted server serves them at GET /metrics.
//
// Metrics (every label from a fixed set, see package metrics):
//
//	lockwell_requests_total{operation,backend,code}                 counter
//	lockwell_request_duration_seconds{operation,backend,code}       histogram
//	lockwell_backend_call_duration_seconds{backend,call,result}     histogram
//	lockwell_value_store_retries_total{store}                       counter
//	lockwell_value_store_throttles_total{store}                     counter
//	lockwell_migration_entries_total{outcome}                       counter
//	lockwell_token_cache_lookups_total{result="hit"|"miss"}         counter
//	lockwell_events_dropped_total{sink="webhook"}                   counter
//
// plus the Go runtime's and the process's standard collectors.
package prom

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lockwell/lockwell/shared/metrics"
)

// Exporter is a metrics.Recorder that keeps the figures in its own
// Prometheus registry. Create one with New.
type Exporter struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	calls       *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	throttles   *prometheus.CounterVec
	migrations  *prometheus.CounterVec
	tokenLookup *prometheus.CounterVec
	dropped     *prometheus.CounterVec
}

// Latency buckets in seconds: from a warm cached get (sub-millisecond) to
// a value-store call that is retried under throttling.
var buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns an exporter with its own registry (never the global one),
// holding Lockwell's metrics and the Go and process collectors. Register it
// with metrics.Register to feed it.
func New() *Exporter {
	e := &Exporter{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockwell_requests_total", Help: "API requests by operation, backend and HTTP status code.",
		}, []string{"operation", "backend", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lockwell_request_duration_seconds", Help: "API request latency by operation, backend and HTTP status code.",
			Buckets: buckets,
		}, []string{"operation", "backend", "code"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "lockwell_backend_call_duration_seconds", Help: "Backend and value-store call latency by backend, call and result (ok or an error code).",
			Buckets: buckets,
		}, []string{"backend", "call", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockwell_value_store_retries_total", Help: "Retried value-store calls, throttled ones included.",
		}, []string{"store"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockwell_value_store_throttles_total", Help: "Value-store calls the store throttled (and that were retried).",
		}, []string{"store"}),
		migrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockwell_migration_entries_total", Help: "Legacy entries migrated, by outcome (retry: a transient failure to be retried).",
		}, []string{"outcome"}),
		tokenLookup: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockwell_token_cache_lookups_total", Help: "API token lookups answered from the token cache (hit) or the token store (miss).",
		}, []string{"result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lockwell_events_dropped_total", Help: "Change events a publisher dropped (a full queue, or a delivery that kept failing), by sink.",
		}, []string{"sink"}),
	}
	e.reg.MustRegister(e.requests, e.latency, e.calls, e.retries, e.throttles, e.migrations, e.tokenLookup, e.dropped,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e
}

// Handler serves the registry in the Prometheus text format.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer is the exporter's registry, for tests and other exposition.
func (e *Exporter) Gatherer() prometheus.Gatherer { return e.reg }

// Request implements metrics.Recorder.
func (e *Exporter) Request(op, backend, status string, d time.Duration) {
	e.requests.WithLabelValues(op, backend, status).Inc()
	e.latency.WithLabelValues(op, backend, status).Observe(d.Seconds())
}

// BackendCall implements metrics.Recorder.
func (e *Exporter) BackendCall(backend, call, result string, d time.Duration) {
	e.calls.WithLabelValues(backend, call, result).Observe(d.Seconds())
}

// ValueStoreRetry implements metrics.Recorder.
func (e *Exporter) ValueStoreRetry(store string, throttled bool) {
	e.retries.WithLabelValues(store).Inc()
	if throttled {
		e.throttles.WithLabelValues(store).Inc()
	}
}

// MigrationEntry implements metrics.Recorder.
func (e *Exporter) MigrationEntry(outcome string) {
	e.migrations.WithLabelValues(outcome).Inc()
}

// TokenCacheLookup implements metrics.Recorder.
func (e *Exporter) TokenCacheLookup(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	e.tokenLookup.WithLabelValues(result).Inc()
}

// EventDropped implements metrics.EventRecorder.
func (e *Exporter) EventDropped(sink string) {
	e.dropped.WithLabelValues(sink).Inc()
}

var (
	_ metrics.Recorder      = (*Exporter)(nil)
	_ metrics.EventRecorder = (*Exporter)(nil)
)
