// Package emf writes Lockwell's figures (package metrics) as CloudWatch
// embedded metric format (EMF) lines: one JSON object per figure, on its
// own line, in the function's log, from which CloudWatch extracts the
// metrics without a scraper or an API call. The Lambda entry points
// register it.
//
// Each line has the "_aws" metadata (Timestamp in epoch milliseconds and
// one CloudWatchMetrics directive in namespace Lockwell), the dimension
// values as top-level string members and the metric values as top-level
// numbers:
//
//	metric                  dimensions                    metrics (unit)
//	request                 Operation, Backend, StatusCode  Requests (Count), RequestLatency (Seconds)
//	backend call            Backend, Call, Result           BackendCallLatency (Seconds)
//	value-store retry       Store                           ValueStoreRetries (Count), ValueStoreThrottles (Count)
//	migration entry         Outcome                         MigrationEntries (Count)
//	token lookup            Result (hit, miss)              TokenCacheLookups (Count)
//
// Dimension values are the checked label values of package metrics, so
// they never carry a secret name, id or principal.
package emf

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/lockwell/lockwell/shared/metrics"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Lockwell"

// Writer is a metrics.Recorder that writes EMF lines to w. Lines are
// written whole, one Write each, under a lock. Create one with New.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// New returns a Writer writing to w; now stamps the lines (nil is
// time.Now).
func New(w io.Writer, now func() time.Time) *Writer {
	if now == nil {
		now = time.Now
	}
	return &Writer{w: w, now: now}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type awsMeta struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// kv is one top-level member of a line, in order.
type kv struct {
	key   string
	value any
}

// emit writes one line with the dimensions dims (name, value pairs) and the
// metrics (name, unit, value).
func (e *Writer) emit(dims []kv, defs []metricDef, values []any) {
	names := make([]string, len(dims))
	for i, d := range dims {
		names[i] = d.key
	}
	meta := awsMeta{
		Timestamp:         e.now().UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: Namespace, Dimensions: [][]string{names}, Metrics: defs}},
	}
	// Build the object by hand to keep "_aws" first and members in order.
	buf := []byte(`{"_aws":`)
	m, _ := json.Marshal(meta)
	buf = append(buf, m...)
	add := func(k string, v any) {
		kb, _ := json.Marshal(k)
		vb, _ := json.Marshal(v)
		buf = append(buf, ',')
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, vb...)
	}
	for _, d := range dims {
		add(d.key, d.value)
	}
	for i, def := range defs {
		add(def.Name, values[i])
	}
	buf = append(buf, '}', '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(buf)
}

// Request implements metrics.Recorder.
func (e *Writer) Request(op, backend, status string, d time.Duration) {
	e.emit([]kv{{"Operation", op}, {"Backend", backend}, {"StatusCode", status}},
		[]metricDef{{"Requests", "Count"}, {"RequestLatency", "Seconds"}}, []any{1, d.Seconds()})
}

// BackendCall implements metrics.Recorder.
func (e *Writer) BackendCall(backend, call, result string, d time.Duration) {
	e.emit([]kv{{"Backend", backend}, {"Call", call}, {"Result", result}},
		[]metricDef{{"BackendCallLatency", "Seconds"}}, []any{d.Seconds()})
}

// ValueStoreRetry implements metrics.Recorder.
func (e *Writer) ValueStoreRetry(store string, throttled bool) {
	throttles := 0
	if throttled {
		throttles = 1
	}
	e.emit([]kv{{"Store", store}},
		[]metricDef{{"ValueStoreRetries", "Count"}, {"ValueStoreThrottles", "Count"}}, []any{1, throttles})
}

// MigrationEntry implements metrics.Recorder.
func (e *Writer) MigrationEntry(outcome string) {
	e.emit([]kv{{"Outcome", outcome}}, []metricDef{{"MigrationEntries", "Count"}}, []any{1})
}

// TokenCacheLookup implements metrics.Recorder.
func (e *Writer) TokenCacheLookup(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	e.emit([]kv{{"Result", result}}, []metricDef{{"TokenCacheLookups", "Count"}}, []any{1})
}

var _ metrics.Recorder = (*Writer)(nil)
