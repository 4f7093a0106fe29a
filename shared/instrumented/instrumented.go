// Package instrumented wraps a backend.Backend or a valuestore.Store so that
// every call is measured (package metrics: latency by backend, call and
// result) and traced (an OpenTelemetry client span per call, through the
// global tracer provider), and a value store's retries and throttling are
// counted, while the backends themselves stay unaware of either.
//
// Labels and span attributes name the backend by its URL scheme ("sqlite",
// "dynamodb", "awssecretsmanager"; "dynamodb+awssecretsmanager" for an index
// with a value store) and the call by its method; never a secret id, name,
// value, URL or principal. Errors pass through unchanged.
//
// The wrappers are safe for concurrent use when what they wrap is.
package instrumented

import (
	"context"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// The calls, as metrics label values and span names (backend.<call> or
// values.<call>).
const (
	CallCreate      = "create"
	CallGet         = "get"
	CallGetMetadata = "get_metadata"
	CallList        = "list"
	CallUpdate      = "update"
	CallDelete      = "delete"
	CallPut         = "put"
	CallRetire      = "retire"
	CallEntries     = "entries"
	CallIdempotency = "idempotency"
	CallModify      = "modify"
	CallVersions    = "versions"
	CallGetVersion  = "get_version"
	CallExpired     = "expired"
)

func init() {
	metrics.Allow(metrics.Call, CallCreate, CallGet, CallGetMetadata, CallList, CallUpdate, CallDelete,
		CallPut, CallRetire, CallEntries, CallIdempotency, CallModify, CallVersions, CallGetVersion, CallExpired)
}

const tracerName = "github.com/lockwell/lockwell/shared/instrumented"

// Label returns the backend label of a deployment: the scheme of storeURL,
// joined with "+" to the scheme of valuesURL when there is one. Only the
// schemes are used: URLs may name hosts, paths or projects.
func Label(storeURL, valuesURL string) string {
	l := scheme(storeURL)
	if valuesURL != "" {
		l += "+" + scheme(valuesURL)
	}
	return l
}

func scheme(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return metrics.Other
	}
	return strings.ToLower(u.Scheme)
}

// observe starts a call's span and returns the context for the call and
// the function that ends it with the call's error.
func observe(ctx context.Context, kind, label, call string) (context.Context, func(error)) {
	start := time.Now()
	ctx, span := otel.Tracer(tracerName).Start(ctx, kind+"."+call, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("lockwell.backend", label), attribute.String("lockwell.call", call)))
	return ctx, func(err error) {
		result := metrics.ResultOK
		if err != nil {
			result = string(errcode.Of(err))
		}
		metrics.BackendCall(label, call, result, time.Since(start))
		if span.IsRecording() {
			if err != nil {
				// The code only: error text may name a secret.
				span.SetAttributes(attribute.String("lockwell.error_code", result))
				span.SetStatus(codes.Error, result)
			}
		}
		span.End()
	}
}

// Backend returns b measured and traced under label (see Label). The result
// implements backend.MetadataGetter, through b's when b has one, else by
// Get without the values (what the store would do itself). Its MetricsLabel
// method tells the HTTP API which backend it serves.
//
// When b implements backend.Modifier, so does the result (the store then
// queues unconditional changes under b's lock instead of re-merging), and
// only then.
func Backend(b backend.Backend, label string) backend.Backend {
	metrics.Allow(metrics.Backend, label)
	x := &instrumentedBackend{b: b, label: label}
	if m, ok := b.(backend.Modifier); ok {
		return &instrumentedModifier{instrumentedBackend: x, m: m}
	}
	return x
}

// instrumentedModifier is an instrumentedBackend over a backend.Modifier.
type instrumentedModifier struct {
	*instrumentedBackend
	m backend.Modifier
}

func (x *instrumentedModifier) Modify(ctx context.Context, id string, change func(*secret.Secret) (*secret.Secret, error)) (err error) {
	ctx, end := observe(ctx, "backend", x.label, CallModify)
	defer func() { end(err) }()
	return x.m.Modify(ctx, id, change)
}

type instrumentedBackend struct {
	b     backend.Backend
	label string
}

// MetricsLabel is the backend label of requests served over this backend.
func (x *instrumentedBackend) MetricsLabel() string { return x.label }

// Unwrap returns the wrapped backend.
func (x *instrumentedBackend) Unwrap() backend.Backend { return x.b }

func (x *instrumentedBackend) Create(ctx context.Context, s *secret.Secret) (err error) {
	ctx, end := observe(ctx, "backend", x.label, CallCreate)
	defer func() { end(err) }()
	return x.b.Create(ctx, s)
}

func (x *instrumentedBackend) Get(ctx context.Context, id string) (_ *secret.Secret, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallGet)
	defer func() { end(err) }()
	return x.b.Get(ctx, id)
}

func (x *instrumentedBackend) GetMetadata(ctx context.Context, id string) (_ *secret.Secret, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallGetMetadata)
	defer func() { end(err) }()
	if m, ok := x.b.(backend.MetadataGetter); ok {
		return m.GetMetadata(ctx, id)
	}
	s, err := x.b.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.Values = nil
	return s, nil
}

func (x *instrumentedBackend) List(ctx context.Context, q backend.Query) (_ []*secret.Secret, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallList)
	defer func() { end(err) }()
	return x.b.List(ctx, q)
}

func (x *instrumentedBackend) Update(ctx context.Context, s *secret.Secret, expectedVersion int64) (err error) {
	ctx, end := observe(ctx, "backend", x.label, CallUpdate)
	defer func() { end(err) }()
	return x.b.Update(ctx, s, expectedVersion)
}

func (x *instrumentedBackend) Delete(ctx context.Context, id string, expectedVersion int64) (err error) {
	ctx, end := observe(ctx, "backend", x.label, CallDelete)
	defer func() { end(err) }()
	return x.b.Delete(ctx, id, expectedVersion)
}

func (x *instrumentedBackend) Idempotency(ctx context.Context, key string) (_ *secret.Idempotency, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallIdempotency)
	defer func() { end(err) }()
	return x.b.Idempotency(ctx, key)
}

func (x *instrumentedBackend) Versions(ctx context.Context, id string) (_ []*secret.Secret, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallVersions)
	defer func() { end(err) }()
	return x.b.Versions(ctx, id)
}

func (x *instrumentedBackend) GetVersion(ctx context.Context, id string, version int64) (_ *secret.Secret, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallGetVersion)
	defer func() { end(err) }()
	return x.b.GetVersion(ctx, id, version)
}

func (x *instrumentedBackend) Expired(ctx context.Context, t time.Time, limit int) (_ []*secret.Secret, err error) {
	ctx, end := observe(ctx, "backend", x.label, CallExpired)
	defer func() { end(err) }()
	return x.b.Expired(ctx, t, limit)
}

func (x *instrumentedBackend) Close() error { return x.b.Close() }

// Values returns s measured and traced under label (its URL scheme), with
// every retry of its calls counted as a value-store retry, and as a
// throttle when the retried error says so (retry.Throttled).
func Values(s valuestore.Store, label string) valuestore.Store {
	metrics.Allow(metrics.Backend, label)
	x := &instrumentedValues{s: s, label: label}
	x.onRetry = func(err error) { metrics.ValueStoreRetry(label, retry.Throttled(err)) }
	return x
}

type instrumentedValues struct {
	s       valuestore.Store
	label   string
	onRetry retry.Observer
}

func (x *instrumentedValues) start(ctx context.Context, call string) (context.Context, func(error)) {
	ctx, end := observe(ctx, "values", x.label, call)
	return retry.WithObserver(ctx, x.onRetry), end
}

func (x *instrumentedValues) Put(ctx context.Context, secretID string, values map[string]string) (_ string, err error) {
	ctx, end := x.start(ctx, CallPut)
	defer func() { end(err) }()
	return x.s.Put(ctx, secretID, values)
}

func (x *instrumentedValues) Get(ctx context.Context, secretID, ref string) (_ map[string]string, err error) {
	ctx, end := x.start(ctx, CallGet)
	defer func() { end(err) }()
	return x.s.Get(ctx, secretID, ref)
}

func (x *instrumentedValues) Retire(ctx context.Context, secretID, keep string) (err error) {
	ctx, end := x.start(ctx, CallRetire)
	defer func() { end(err) }()
	return x.s.Retire(ctx, secretID, keep)
}

func (x *instrumentedValues) Delete(ctx context.Context, secretID string) (err error) {
	ctx, end := x.start(ctx, CallDelete)
	defer func() { end(err) }()
	return x.s.Delete(ctx, secretID)
}

func (x *instrumentedValues) Entries(ctx context.Context, fn func(secretID string) error) (err error) {
	ctx, end := x.start(ctx, CallEntries)
	defer func() { end(err) }()
	return x.s.Entries(ctx, fn)
}

func (x *instrumentedValues) Limit() int   { return x.s.Limit() }
func (x *instrumentedValues) Name() string { return x.s.Name() }
func (x *instrumentedValues) Close() error { return x.s.Close() }
