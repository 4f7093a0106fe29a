package emf_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/instrumented"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/emf"
	"github.com/lockwell/lockwell/shared/store"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// The units CloudWatch accepts that Lockwell uses.
var cloudWatchUnits = map[string]bool{"Count": true, "Seconds": true}

// checkEMF checks one line against the embedded metric format
// specification: a JSON object with _aws.Timestamp (epoch ms) and
// _aws.CloudWatchMetrics directives whose dimension names are top-level
// strings and whose metric names are top-level numbers. It returns the
// line's members.
func checkEMF(t *testing.T, line string, now time.Time) map[string]any {
	t.Helper()
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(line), &doc), line)
	require.True(t, strings.HasPrefix(line, `{"_aws":`), "the metadata comes first: %s", line)
	var meta struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc["_aws"]))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&meta), line)
	require.NotNil(t, meta.Timestamp)
	assert.Equal(t, now.UnixMilli(), *meta.Timestamp)
	require.Len(t, meta.CloudWatchMetrics, 1)
	members := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(line), &members))
	d := meta.CloudWatchMetrics[0]
	assert.Equal(t, emf.Namespace, d.Namespace)
	require.Len(t, d.Dimensions, 1)
	require.NotEmpty(t, d.Dimensions[0])
	assert.LessOrEqual(t, len(d.Dimensions[0]), 30, "at most 30 dimensions per set")
	for _, name := range d.Dimensions[0] {
		v, ok := members[name].(string)
		assert.True(t, ok, "dimension %s is a top-level string in %s", name, line)
		assert.NotEmpty(t, v)
	}
	require.NotEmpty(t, d.Metrics)
	for _, m := range d.Metrics {
		_, ok := members[m.Name].(float64)
		assert.True(t, ok, "metric %s is a top-level number in %s", m.Name, line)
		assert.True(t, cloudWatchUnits[m.Unit], "unit %q", m.Unit)
	}
	assert.Len(t, members, 1+len(d.Dimensions[0])+len(d.Metrics), "nothing but metadata, dimensions and metrics: %s", line)
	return members
}

// TestEMFLinesOfRealRequests serves requests through the HTTP API over an
// instrumented backend with the EMF writer registered, as a Lambda
// function does, and checks every line's shape and figures.
func TestEMFLinesOfRealRequests(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	out := &syncBuffer{}
	t.Cleanup(metrics.Register(emf.New(out, func() time.Time { return now })))

	st := store.New(instrumented.Backend(memstore.New(), "dynamodb"))
	alice := identity.Principal{Name: "arn:aws:iam::123456789012:user/alice", Role: identity.Member}
	sec, err := st.Create(context.Background(), alice, store.CreateRequest{Name: "emf-db", Values: map[string]string{"k": "emf-value"}})
	require.NoError(t, err)
	api := httpapi.New(st, httpapi.ContextAuthenticator{}, httpapi.Options{})
	h := api.Operation("get")
	for _, path := range []string{"/api/v1/secrets/" + sec.ID, "/api/v1/secrets/by-name/emf-db", "/api/v1/secrets/by-name/emf-missing"} {
		r := httptest.NewRequest("GET", path, nil)
		r = r.WithContext(identity.WithPrincipal(r.Context(), alice))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
	metrics.MigrationEntry("retry") // outcomes allowed without package migrate linked
	metrics.ValueStoreRetry("dynamodb", true)
	metrics.TokenCacheLookup(false)

	lines := out.lines()
	require.NotEmpty(t, lines)
	var requests, calls []map[string]any
	kinds := map[string]int{}
	for _, line := range lines {
		m := checkEMF(t, line, now)
		for _, secretWord := range []string{sec.ID, "emf-db", "emf-missing", "emf-value", "alice"} {
			assert.NotContains(t, line, secretWord)
		}
		switch {
		case m["Requests"] != nil:
			requests = append(requests, m)
			kinds["request"]++
		case m["BackendCallLatency"] != nil:
			calls = append(calls, m)
			kinds["call"]++
		case m["MigrationEntries"] != nil:
			assert.Equal(t, "retry", m["Outcome"])
			kinds["migration"]++
		case m["ValueStoreRetries"] != nil:
			assert.Equal(t, 1.0, m["ValueStoreThrottles"])
			kinds["retry"]++
		case m["TokenCacheLookups"] != nil:
			assert.Equal(t, "miss", m["Result"])
			kinds["token"]++
		}
	}
	// create (store call only), then three requests with their calls.
	assert.Equal(t, map[string]int{"request": 3, "call": 1 + 1 + 2 + 1, "migration": 1, "retry": 1, "token": 1}, kinds)
	require.Len(t, requests, 3)
	assert.Equal(t, map[string]any{"Operation": "get", "Backend": "dynamodb", "StatusCode": "200"},
		map[string]any{"Operation": requests[0]["Operation"], "Backend": requests[0]["Backend"], "StatusCode": requests[0]["StatusCode"]})
	assert.Equal(t, 1.0, requests[0]["Requests"])
	assert.GreaterOrEqual(t, requests[0]["RequestLatency"].(float64), 0.0)
	assert.Equal(t, "get_by_name", requests[1]["Operation"])
	assert.Equal(t, "404", requests[2]["StatusCode"])
	assert.Equal(t, "create", calls[0]["Call"])
	assert.Equal(t, "ok", calls[0]["Result"])
}
