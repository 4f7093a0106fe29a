package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/instrumented"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/prom"
	"github.com/lockwell/lockwell/shared/tracing"
)

// fixedLabels are the only values each label may take after any requests:
// route operations, the one backend, call names, results and status codes.
var fixedLabels = map[string]map[string]bool{
	"operation": set(httpapi.OpCreate, httpapi.OpGet, httpapi.OpGetByName, httpapi.OpList, httpapi.OpUpdate,
		httpapi.OpDelete, httpapi.OpCreateToken, httpapi.OpListTokens, httpapi.OpRevokeToken, httpapi.OpRevokeOwn,
		httpapi.OpWhoAmI, httpapi.OpHealth, httpapi.OpVersions, httpapi.OpRollback, httpapi.OpRestore,
		httpapi.OpListMigrations, httpapi.OpGetMigration, "unknown"),
	"backend": set("memstore"),
	"call": set(instrumented.CallCreate, instrumented.CallGet, instrumented.CallGetMetadata, instrumented.CallList, instrumented.CallModify, instrumented.CallIdempotency,
		instrumented.CallUpdate, instrumented.CallDelete, instrumented.CallVersions, instrumented.CallGetVersion, instrumented.CallExpired),
	"result": set(metrics.ResultOK, "not_found", "invalid_argument", "already_exists", "failed_precondition",
		"hit", "miss"),
	"code": set("200", "201", "204", "400", "401", "403", "404", "405", "409", "412", "415"),
}

func set(values ...string) map[string]bool {
	m := map[string]bool{}
	for _, v := range values {
		m[v] = true
	}
	return m
}

// exporter registers a fresh Prometheus exporter for the test.
func exporter(t *testing.T) *prom.Exporter {
	t.Helper()
	e := prom.New()
	t.Cleanup(metrics.Register(e))
	return e
}

// lockwellSeries returns every series of the lockwell_ metrics.
func lockwellSeries(t *testing.T, e *prom.Exporter) map[string][]*dto.Metric {
	t.Helper()
	families, err := e.Gatherer().Gather()
	require.NoError(t, err)
	out := map[string][]*dto.Metric{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "lockwell_") {
			out[f.GetName()] = f.GetMetric()
		}
	}
	return out
}

// value returns the counter (or histogram sample count) of the series of
// name with exactly these labels; 0 if there is none.
func value(series map[string][]*dto.Metric, name string, labels map[string]string) float64 {
	for _, m := range series[name] {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := len(got) == len(labels)
		for k, v := range labels {
			match = match && got[k] == v
		}
		if !match {
			continue
		}
		if m.Counter != nil {
			return m.GetCounter().GetValue()
		}
		return float64(m.GetHistogram().GetSampleCount())
	}
	return 0
}

// TestMetricsLabelsStayInAFixedSet drives every kind of request with many
// distinct secret names, ids, users and paths, then requires that every
// label value of every lockwell_ metric is in its fixed set (never a name,
// id, principal or path), and that the figures count what happened.
func TestMetricsLabelsStayInAFixedSet(t *testing.T) {
	e := exporter(t)
	h := newHarnessOver(t, instrumented.Backend(memstore.New(), "memstore"))
	const n = 60
	var secretWords []string
	for i := range n {
		name := fmt.Sprintf("svc-%d-%s", i, uuid.NewString()[:8])
		value := "v-" + uuid.NewString()
		s := h.create("alice", name, i%2 == 0, map[string]string{"password": value})
		secretWords = append(secretWords, name, s.ID, value)
		require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + s.ID}).status)
		require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/by-name/" + name}).status)
		missing := "missing-" + uuid.NewString()
		secretWords = append(secretWords, missing)
		require.Equal(t, http.StatusNotFound, h.do(request{user: "bob", method: "GET", path: "/api/v1/secrets/by-name/" + missing}).status)
		require.Equal(t, http.StatusNotFound, h.do(request{user: "bob", method: "GET", path: "/api/v1/secrets/" + uuid.NewString()}).status)
		require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "PATCH", path: "/api/v1/secrets/" + s.ID, body: `{"values":{"k":"x"}}`}).status)
		require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets?name_prefix=" + name}).status)
		require.Equal(t, http.StatusNotFound, h.do(request{user: "alice", method: "GET", path: "/api/v1/no-such-" + name}).status)
		require.Equal(t, http.StatusMethodNotAllowed, h.do(request{user: "alice", method: "PUT", path: "/api/v1/secrets/" + s.ID}).status)
		require.Equal(t, http.StatusUnauthorized, h.do(request{method: "GET", path: "/api/v1/secrets/" + s.ID,
			headers: map[string]string{"Authorization": "Bearer not-a-token-" + name}}).status)
		require.Equal(t, http.StatusOK, h.do(request{user: "alice", method: "DELETE", path: "/api/v1/secrets/" + s.ID}).status)
	}
	secretWords = append(secretWords, "alice", "bob", "admin", h.tokens["alice"], h.tokens["bob"])

	series := lockwellSeries(t, e)
	require.NotEmpty(t, series["lockwell_requests_total"])
	for name, ms := range series {
		for _, m := range ms {
			for _, l := range m.GetLabel() {
				allowed, known := fixedLabels[l.GetName()]
				require.True(t, known, "%s has an unexpected label %s", name, l.GetName())
				assert.True(t, allowed[l.GetValue()], "%s{%s=%q} is outside the fixed set", name, l.GetName(), l.GetValue())
				for _, w := range secretWords {
					assert.NotContains(t, l.GetValue(), w)
				}
			}
		}
	}

	req := func(op, code string) float64 {
		return value(series, "lockwell_requests_total", map[string]string{"operation": op, "backend": "memstore", "code": code})
	}
	assert.Equal(t, float64(n), req(httpapi.OpGetByName, "200"))
	assert.Equal(t, float64(n), req(httpapi.OpGetByName, "404"))
	assert.Equal(t, float64(2*n), req(httpapi.OpGet, "200")+req(httpapi.OpGet, "404"))
	assert.Equal(t, float64(n), req(httpapi.OpCreate, "201"))
	assert.Equal(t, float64(n), req(httpapi.OpDelete, "200"))
	assert.Equal(t, float64(2*n), req("unknown", "404")+req("unknown", "405"))
	assert.Equal(t, float64(n), value(series, "lockwell_request_duration_seconds",
		map[string]string{"operation": httpapi.OpCreate, "backend": "memstore", "code": "201"}))
	assert.Equal(t, float64(n), value(series, "lockwell_backend_call_duration_seconds",
		map[string]string{"backend": "memstore", "call": instrumented.CallCreate, "result": metrics.ResultOK}))
	assert.Equal(t, float64(n), value(series, "lockwell_backend_call_duration_seconds",
		map[string]string{"backend": "memstore", "call": instrumented.CallGet, "result": "not_found"}))
	// The harness's token cache: each user's first request misses, the
	// rest hit; an unknown token always misses.
	hits := value(series, "lockwell_token_cache_lookups_total", map[string]string{"result": "hit"})
	misses := value(series, "lockwell_token_cache_lookups_total", map[string]string{"result": "miss"})
	assert.GreaterOrEqual(t, misses, float64(n), "every unknown token is a miss")
	assert.Greater(t, hits, float64(5*n))
}

// TestLabelValuesOutsideTheSetAreOther checks the guard itself: a caller
// passing request data as a label gets "other", never the data.
func TestLabelValuesOutsideTheSetAreOther(t *testing.T) {
	e := exporter(t)
	metrics.Request("db-password", "postgres://user@host/db", 999, 0)
	metrics.BackendCall("memstore", "get secret prod-db", "ok", 0)
	series := lockwellSeries(t, e)
	assert.Equal(t, 1.0, value(series, "lockwell_requests_total", map[string]string{"operation": metrics.Other, "backend": metrics.Other, "code": metrics.Other}))
	assert.Equal(t, 1.0, value(series, "lockwell_backend_call_duration_seconds", map[string]string{"backend": "memstore", "call": metrics.Other, "result": "ok"}))
}

// recordSpans installs an SDK tracer provider that exports synchronously to
// an in-memory exporter, and restores the no-op globals afterwards.
func recordSpans(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	p := tracing.Install(sdktrace.WithSyncer(exp), "lockwell-test")
	t.Cleanup(func() {
		_ = p.Shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	return exp
}

// TestSpansAroundRequestAndBackendCalls checks the spans of a get and a
// failed get by name: a server span per request named by its route
// template, continuing the caller's trace, with a client span per backend
// call under it, and no secret name, id, value, principal or token in any
// span name or attribute.
func TestSpansAroundRequestAndBackendCalls(t *testing.T) {
	h := newHarnessOver(t, instrumented.Backend(memstore.New(), "memstore"))
	s := h.create("alice", "traced-db", false, map[string]string{"password": "hunter2-traced"})
	exp := recordSpans(t)

	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	res := h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/" + s.ID, headers: map[string]string{"traceparent": traceparent}})
	require.Equal(t, http.StatusOK, res.status)
	res = h.do(request{user: "alice", method: "GET", path: "/api/v1/secrets/by-name/no-such-traced"})
	require.Equal(t, http.StatusNotFound, res.status)

	spans := exp.GetSpans()
	byName := map[string][]tracetest.SpanStub{}
	for _, sp := range spans {
		byName[sp.Name] = append(byName[sp.Name], sp)
	}
	require.Len(t, byName["GET /api/v1/secrets/{id}"], 1, "spans: %v", names(spans))
	get := byName["GET /api/v1/secrets/{id}"][0]
	assert.Equal(t, trace.SpanKindServer, get.SpanKind)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", get.SpanContext.TraceID().String(), "continues the caller's trace")
	assert.Equal(t, "00f067aa0ba902b7", get.Parent.SpanID().String())
	attrs := map[string]string{}
	for _, kv := range get.Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	assert.Equal(t, map[string]string{
		"http.request.method": "GET", "http.route": "/api/v1/secrets/{id}", "lockwell.operation": "get",
		"lockwell.backend": "memstore", "http.response.status_code": "200",
	}, attrs)

	require.Len(t, byName["backend.get"], 1, "spans: %v", names(spans))
	call := byName["backend.get"][0]
	assert.Equal(t, trace.SpanKindClient, call.SpanKind)
	assert.Equal(t, get.SpanContext.SpanID(), call.Parent.SpanID(), "the backend call is a child of the request")
	assert.Equal(t, get.SpanContext.TraceID(), call.SpanContext.TraceID())

	require.Len(t, byName["GET /api/v1/secrets/by-name/{name}"], 1, "spans: %v", names(spans))
	lookup := byName["GET /api/v1/secrets/by-name/{name}"][0]
	require.Len(t, byName["backend.list"], 1)
	assert.Equal(t, lookup.SpanContext.SpanID(), byName["backend.list"][0].Parent.SpanID())
	found := false
	for _, kv := range lookup.Attributes {
		if kv.Key == "lockwell.error_code" {
			found = true
			assert.Equal(t, "not_found", kv.Value.AsString())
		}
	}
	assert.True(t, found, "a failed request names its error code")

	for _, sp := range spans {
		text := sp.Name
		for _, kv := range sp.Attributes {
			text += " " + string(kv.Key) + "=" + kv.Value.Emit()
		}
		for _, e := range sp.Events {
			text += " " + e.Name
		}
		for _, w := range []string{s.ID, "traced-db", "no-such-traced", "hunter2-traced", "alice", h.tokens["alice"]} {
			assert.NotContains(t, text, w, "span %s", sp.Name)
		}
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
