// Package cloudlogging writes Lockwell's figures (package metrics) as
// structured log lines for Google Cloud Logging: one JSON object per figure
// on its own line, which Cloud Functions and Cloud Run turn into a
// structured log entry (severity and message from "severity" and
// "message", the rest in jsonPayload). Log-based metrics in Cloud
// Monitoring then count and chart them by their fields, without a scraper.
// The Cloud Functions entry points register it.
//
// Every line has "severity":"INFO", "message":"lockwell metric" and
// "metric", then the labels and values:
//
//	metric              fields
//	request             operation, backend, code, latency_seconds
//	backend_call        backend, call, result, latency_seconds
//	value_store_retry   store, throttled
//	migration_entry     outcome
//	token_cache_lookup  result (hit, miss)
//
// Label fields are the checked label values of package metrics, so they
// never carry a secret name, id or principal.
package cloudlogging

import (
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"

	"github.com/lockwell/lockwell/shared/metrics"
)

// Message is the message of every metric line, for log filters.
const Message = "lockwell metric"

// Writer is a metrics.Recorder that writes structured lines to w, one
// Write per line, under a lock. Create one with New.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a Writer writing to w (os.Stdout on Cloud Functions).
func New(w io.Writer) *Writer { return &Writer{w: w} }

var installOnce sync.Once

// Install registers, once per process, a Writer on os.Stdout with package
// metrics. Every Cloud Functions entry point calls it, so that functions
// linked into one binary do not write each figure twice.
func Install() {
	installOnce.Do(func() { metrics.Register(New(os.Stdout)) })
}

// line is one metric line; fields that do not apply are left out.
type line struct {
	Severity       string   `json:"severity"`
	Message        string   `json:"message"`
	Metric         string   `json:"metric"`
	Operation      string   `json:"operation,omitempty"`
	Backend        string   `json:"backend,omitempty"`
	Code           string   `json:"code,omitempty"`
	Call           string   `json:"call,omitempty"`
	Store          string   `json:"store,omitempty"`
	Outcome        string   `json:"outcome,omitempty"`
	Result         string   `json:"result,omitempty"`
	Throttled      *bool    `json:"throttled,omitempty"`
	LatencySeconds *float64 `json:"latency_seconds,omitempty"`
}

func (c *Writer) emit(l line) {
	l.Severity, l.Message = "INFO", Message
	b, err := json.Marshal(l)
	if err != nil {
		return
	}
	b = append(b, '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	_, _ = c.w.Write(b)
}

func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// Request implements metrics.Recorder.
func (c *Writer) Request(op, backend, status string, d time.Duration) {
	c.emit(line{Metric: "request", Operation: op, Backend: backend, Code: status, LatencySeconds: seconds(d)})
}

// BackendCall implements metrics.Recorder.
func (c *Writer) BackendCall(backend, call, result string, d time.Duration) {
	c.emit(line{Metric: "backend_call", Backend: backend, Call: call, Result: result, LatencySeconds: seconds(d)})
}

// ValueStoreRetry implements metrics.Recorder.
func (c *Writer) ValueStoreRetry(store string, throttled bool) {
	c.emit(line{Metric: "value_store_retry", Store: store, Throttled: &throttled})
}

// MigrationEntry implements metrics.Recorder.
func (c *Writer) MigrationEntry(outcome string) {
	c.emit(line{Metric: "migration_entry", Outcome: outcome})
}

// TokenCacheLookup implements metrics.Recorder.
func (c *Writer) TokenCacheLookup(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	c.emit(line{Metric: "token_cache_lookup", Result: result})
}

var _ metrics.Recorder = (*Writer)(nil)
