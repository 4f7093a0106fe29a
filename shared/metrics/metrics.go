// Package metrics is the one place Lockwell's operational figures pass
// through: request count and latency by operation, backend and status code;
// backend and value-store call latency by backend and call; value-store
// retries and throttles; migration entries by outcome; and token cache hits
// and misses.
//
// Code that measures calls the package functions (Request, BackendCall,
// ValueStoreRetry, MigrationEntry, TokenCacheLookup). They check every label
// value and pass the figure to each registered Recorder: the Prometheus
// exporter of the self-hosted server (package metrics/prom), CloudWatch
// embedded metric format lines on Lambda (package metrics/emf) and
// structured log fields on Cloud Functions (package metrics/cloudlogging).
// With no recorder registered a figure costs a few atomic loads.
//
// # Labels
//
// Label values come only from fixed sets, so that a metric never grows a
// series per secret, principal or id (unbounded cardinality is a known
// failure of other stores' metrics). Operations, calls, outcomes and
// backends are allowed by the packages that own them, with Allow, at
// initialization or when a backend is wrapped (its URL scheme, never its
// URL); status codes are the numbers 100-599. Any other value is recorded
// as Other. So no label ever carries a secret name, principal, token or id,
// whatever a caller passes.
//
// Everything here is safe for concurrent use.
package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder receives figures whose labels have been checked. Implementations
// must be safe for concurrent use and must not block for long: they run on
// the request path.
type Recorder interface {
	// Request records one API request: its operation, the deployment's
	// backend, the HTTP status code (as text) and its duration.
	Request(op, backend, status string, d time.Duration)
	// BackendCall records one call of a backend or value store: the
	// backend (a URL scheme, or index+values), the call (create, get, ...),
	// the result (ok or an errcode code) and its duration.
	BackendCall(backend, call, result string, d time.Duration)
	// ValueStoreRetry records one retried call of a value store; throttled
	// says the store asked to slow down (HTTP 429, ThrottlingException,
	// ResourceExhausted) rather than failing.
	ValueStoreRetry(store string, throttled bool)
	// MigrationEntry records one legacy entry's migration outcome (migrated,
	// skipped, failed, not_migratable, or retry for a transient failure).
	MigrationEntry(outcome string)
	// TokenCacheLookup records one API token lookup: answered from the
	// cache (hit) or from the token store (miss).
	TokenCacheLookup(hit bool)
}

// Other replaces a label value outside its fixed set.
const Other = "other"

// ResultOK is the result label of a call that succeeded.
const ResultOK = "ok"

// Label names the fixed sets Allow extends.
type Label int

// The labels whose values are allowed by their owners.
const (
	Operation Label = iota // API operations (package httpapi)
	Backend                // backends and value stores: URL schemes
	Call                   // backend and value-store calls (package instrumented)
	Outcome                // migration outcomes (package migrate)
	Result                 // call results: ok and the errcode codes
	numLabels
)

var (
	allowedMu sync.RWMutex
	allowed   [numLabels]map[string]bool
)

func init() {
	for i := range allowed {
		allowed[i] = map[string]bool{}
	}
	Allow(Result, ResultOK, "invalid_argument", "unauthenticated", "permission_denied", "not_found",
		"already_exists", "failed_precondition", "too_large", "unavailable", "internal")
	Allow(Outcome, "retry")
}

// Allow adds values to the fixed set of label l. Owners call it with
// constants of their own (or, for Backend, with registered URL schemes),
// never with request data.
func Allow(l Label, values ...string) {
	allowedMu.Lock()
	defer allowedMu.Unlock()
	for _, v := range values {
		allowed[l][v] = true
	}
}

// Allowed reports whether v is in the fixed set of label l.
func Allowed(l Label, v string) bool {
	allowedMu.RLock()
	defer allowedMu.RUnlock()
	return allowed[l][v]
}

func check(l Label, v string) string {
	if Allowed(l, v) {
		return v
	}
	return Other
}

// StatusLabel is the label of an HTTP status code: its number for 100-599,
// Other otherwise.
func StatusLabel(status int) string {
	if status < 100 || status > 599 {
		return Other
	}
	return strconv.Itoa(status)
}

// recorders is the registered set, replaced whole on each change so that
// reading it takes one atomic load.
var (
	recordersMu sync.Mutex
	recorders   atomic.Pointer[[]Recorder]
)

// Register adds r to the recorders every figure goes to and returns a
// function that removes it again. Entry points register their exporter once
// at start; tests remove theirs when they end.
func Register(r Recorder) (unregister func()) {
	recordersMu.Lock()
	defer recordersMu.Unlock()
	var next []Recorder
	if cur := recorders.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, r)
	recorders.Store(&next)
	var once sync.Once
	return func() {
		once.Do(func() {
			recordersMu.Lock()
			defer recordersMu.Unlock()
			var rest []Recorder
			for _, x := range *recorders.Load() {
				if x != r {
					rest = append(rest, x)
				}
			}
			recorders.Store(&rest)
		})
	}
}

func current() []Recorder {
	if p := recorders.Load(); p != nil {
		return *p
	}
	return nil
}

// Enabled reports whether any recorder is registered, for callers that
// would otherwise measure for nothing.
func Enabled() bool { return len(current()) > 0 }

// Request records one API request (see Recorder.Request).
func Request(op, backend string, status int, d time.Duration) {
	rs := current()
	if len(rs) == 0 {
		return
	}
	op, backend, code := check(Operation, op), check(Backend, backend), StatusLabel(status)
	for _, r := range rs {
		r.Request(op, backend, code, d)
	}
}

// BackendCall records one backend or value-store call (see
// Recorder.BackendCall); result is ResultOK or an errcode code.
func BackendCall(backend, call, result string, d time.Duration) {
	rs := current()
	if len(rs) == 0 {
		return
	}
	backend, call, result = check(Backend, backend), check(Call, call), check(Result, result)
	for _, r := range rs {
		r.BackendCall(backend, call, result, d)
	}
}

// ValueStoreRetry records one retried value-store call (see
// Recorder.ValueStoreRetry).
func ValueStoreRetry(store string, throttled bool) {
	rs := current()
	if len(rs) == 0 {
		return
	}
	store = check(Backend, store)
	for _, r := range rs {
		r.ValueStoreRetry(store, throttled)
	}
}

// MigrationEntry records one migration outcome (see Recorder.MigrationEntry).
func MigrationEntry(outcome string) {
	rs := current()
	if len(rs) == 0 {
		return
	}
	outcome = check(Outcome, outcome)
	for _, r := range rs {
		r.MigrationEntry(outcome)
	}
}

// TokenCacheLookup records one token lookup (see Recorder.TokenCacheLookup).
func TokenCacheLookup(hit bool) {
	for _, r := range current() {
		r.TokenCacheLookup(hit)
	}
}

// The sinks of EventDropped.
const (
	SinkWebhook = "webhook"
)

// EventRecorder is implemented by recorders that count change events a
// publisher dropped (package events): a full queue or a delivery that kept
// failing. Recorders without it ignore the figure.
type EventRecorder interface {
	EventDropped(sink string)
}

// EventDropped records one change event that sink (SinkWebhook) dropped.
func EventDropped(sink string) {
	if sink != SinkWebhook {
		sink = Other
	}
	for _, r := range current() {
		if er, ok := r.(EventRecorder); ok {
			er.EventDropped(sink)
		}
	}
}
