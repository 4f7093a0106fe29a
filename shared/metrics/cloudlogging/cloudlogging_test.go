package cloudlogging_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/cloudlogging"
)

// TestStructuredLines checks that each figure is one JSON line Cloud
// Logging reads as a structured entry (severity, message) with the labels
// and values as fields, and that a label outside its fixed set arrives as
// "other".
func TestStructuredLines(t *testing.T) {
	var out bytes.Buffer
	unregister := metrics.Register(cloudlogging.New(&out))
	metrics.Request("no-such-operation-prod-db", "sqlite", 200, 1500*time.Millisecond)
	metrics.BackendCall("sqlite", "get", "not_found", 2*time.Millisecond)
	metrics.ValueStoreRetry("sqlite", false)
	metrics.MigrationEntry("retry")
	metrics.TokenCacheLookup(true)
	unregister()
	metrics.TokenCacheLookup(false) // no longer registered: not written

	var got []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		assert.Equal(t, "INFO", m["severity"])
		assert.Equal(t, cloudlogging.Message, m["message"])
		delete(m, "severity")
		delete(m, "message")
		got = append(got, m)
	}
	assert.Equal(t, []map[string]any{
		{"metric": "request", "operation": "other", "backend": "other", "code": "200", "latency_seconds": 1.5},
		{"metric": "backend_call", "backend": "other", "call": "other", "result": "not_found", "latency_seconds": 0.002},
		{"metric": "value_store_retry", "store": "other", "throttled": false},
		{"metric": "migration_entry", "outcome": "retry"},
		{"metric": "token_cache_lookup", "result": "hit"},
	}, got, "sqlite and get are allowed only by the packages that own them, which this test does not link")
}
