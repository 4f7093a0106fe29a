package instrumented_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/awsjson"
	localsm "github.com/lockwell/lockwell/localdev/awssecretsmanager"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/instrumented"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/prom"
	"github.com/lockwell/lockwell/shared/store/storetest"
	"github.com/lockwell/lockwell/shared/valuestore"
	_ "github.com/lockwell/lockwell/shared/valuestore/awssecretsmanager"
)

// The decorator keeps the backend contract, GetMetadata, idempotency
// records and the lock of a backend.Modifier included, and the store's
// promises through it.
func TestInstrumentedBackendPassesTheConformanceSuite(t *testing.T) {
	open := func(t *testing.T) backend.Backend {
		return instrumented.Backend(memstore.New(), "memstore")
	}
	backendtest.Run(t, open)
	backendtest.RunModifier(t, open)
	storetest.Run(t, open)
}

func counter(t *testing.T, e *prom.Exporter, name, label, value string) float64 {
	t.Helper()
	families, err := e.Gatherer().Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelOf(m, label) == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestValueStoreRetriesAndThrottlesAreCounted drives the AWS Secrets
// Manager value store against the local Secrets Manager, which answers
// GetSecretValue with two throttling errors and one internal error before
// it succeeds: the store retries three times (package retry), and the
// decorator counts three retries, two of them throttles, and one
// successful get.
func TestValueStoreRetriesAndThrottlesAreCounted(t *testing.T) {
	srv, endpoint := localsm.Start(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
		"AWS_ACCESS_KEY_ID":                "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY":            "local-secret-key",
		"AWS_REGION":                       "eu-west-1",
		"AWS_CONFIG_FILE":                  "/nonexistent/lockwell-test",
		"AWS_SHARED_CREDENTIALS_FILE":      "/nonexistent/lockwell-test",
		"AWS_EC2_METADATA_DISABLED":        "true",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	raw, err := valuestore.Open(ctx, "awssecretsmanager://?prefix=lockwell-metrics&force_delete=true", valuestore.Options{Deployment: "metrics-test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	e := prom.New()
	t.Cleanup(metrics.Register(e))
	vs := instrumented.Values(raw, instrumented.Label("awssecretsmanager://?prefix=x", ""))

	id := uuid.NewString()
	ref, err := vs.Put(ctx, id, map[string]string{"k": "metrics-value"})
	require.NoError(t, err)
	throttle := &awsjson.Error{Status: http.StatusBadRequest, Type: "ThrottlingException", Message: "Rate exceeded"}
	srv.InjectFault("GetSecretValue", throttle)
	srv.InjectFault("GetSecretValue", &awsjson.Error{Status: http.StatusInternalServerError, Type: "InternalServiceError", Message: "try again"})
	srv.InjectFault("GetSecretValue", throttle)
	values, err := vs.Get(ctx, id, ref)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"k": "metrics-value"}, values)

	assert.Equal(t, 3.0, counter(t, e, "lockwell_value_store_retries_total", "store", "awssecretsmanager"))
	assert.Equal(t, 2.0, counter(t, e, "lockwell_value_store_throttles_total", "store", "awssecretsmanager"))

	families, err := e.Gatherer().Gather()
	require.NoError(t, err)
	calls := map[string]uint64{}
	for _, f := range families {
		if f.GetName() != "lockwell_backend_call_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			assert.Equal(t, "awssecretsmanager", labelOf(m, "backend"))
			calls[labelOf(m, "call")+"/"+labelOf(m, "result")] += m.GetHistogram().GetSampleCount()
			for _, l := range m.GetLabel() {
				assert.False(t, strings.Contains(l.GetValue(), id), "no secret id in a label")
			}
		}
	}
	assert.Equal(t, map[string]uint64{"put/ok": 1, "get/ok": 1}, calls)
}
