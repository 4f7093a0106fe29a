package server_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// TestMetricsAreServedOnTheirOwnAddress starts the server with
// MetricsAddr, makes API requests, and reads GET /metrics from the metrics
// address without a token: the request and backend call figures are there,
// in the Prometheus text format, labelled by operation and the sqlite
// backend. The API port does not serve /metrics.
func TestMetricsAreServedOnTheirOwnAddress(t *testing.T) {
	dir := t.TempDir()
	metricsAddr := make(chan string, 1)
	srv := servertest.Run(t, server.Config{
		DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		MetricsAddr: "127.0.0.1:0", MetricsReady: func(addr string) { metricsAddr <- addr },
	})
	r := &running{Running: srv, token: servertest.AdminToken(t, dir), client: &http.Client{Timeout: 10 * time.Second}}
	addr := <-metricsAddr

	status, body := r.call(t, "POST", "/api/v1/secrets", `{"name":"metrics-db","values":{"password":"pw-metrics-1"}}`)
	require.Equal(t, http.StatusCreated, status, string(body))
	status, _ = r.call(t, "GET", "/api/v1/secrets/by-name/metrics-db", "")
	require.Equal(t, http.StatusOK, status)
	status, _ = r.call(t, "GET", "/metrics", "")
	assert.Equal(t, http.StatusNotFound, status, "the API port does not serve metrics")

	res, err := r.client.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "text/plain")
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	text := string(b)
	for _, want := range []string{
		`lockwell_requests_total{backend="sqlite",code="201",operation="create"} 1`,
		`lockwell_requests_total{backend="sqlite",code="200",operation="get_by_name"} 1`,
		`lockwell_request_duration_seconds_bucket{backend="sqlite",code="201",operation="create",le="+Inf"} 1`,
		`lockwell_backend_call_duration_seconds_count{backend="sqlite",call="create",result="ok"} 1`,
		`lockwell_token_cache_lookups_total{result="miss"}`,
		`go_goroutines`,
	} {
		assert.Contains(t, text, want)
	}
	for _, secretWord := range []string{"metrics-db", "pw-metrics-1", r.token, "admin"} {
		assert.NotContains(t, text, secretWord)
	}
	assert.False(t, strings.Contains(text, `operation="other"`), "every operation is known")
}
