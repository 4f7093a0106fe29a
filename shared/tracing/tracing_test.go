package tracing_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lockwell/lockwell/shared/tracing"
)

func restoreGlobals(t *testing.T) {
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
}

func TestOffWithoutEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	restoreGlobals(t)
	before := otel.GetTracerProvider()
	tp, err := tracing.Setup(context.Background(), "lockwell-test")
	require.NoError(t, err)
	assert.Nil(t, tp)
	assert.Equal(t, before, otel.GetTracerProvider(), "nothing installed")
	assert.NoError(t, tp.Flush(context.Background()), "a nil provider's methods do nothing")
	assert.NoError(t, tp.Shutdown(context.Background()))
}

// TestExportsOverOTLPHTTP points the exporter at a local OTLP receiver and
// checks that a span reaches it as an OTLP HTTP request once flushed.
func TestExportsOverOTLPHTTP(t *testing.T) {
	var mu sync.Mutex
	var got []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		mu.Unlock()
		assert.NotEmpty(t, b)
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(receiver.Close)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	restoreGlobals(t)

	ctx := context.Background()
	tp, err := tracing.Setup(ctx, "lockwell-test")
	require.NoError(t, err)
	require.NotNil(t, tp)
	_, span := otel.Tracer("test").Start(ctx, "GET /api/v1/secrets/{id}")
	span.End()
	require.NoError(t, tp.Flush(ctx))
	require.NoError(t, tp.Shutdown(ctx))

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, got, "the receiver got the span")
	assert.Equal(t, "POST /v1/traces application/x-protobuf", got[0])
}
