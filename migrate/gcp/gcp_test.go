package gcp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/gcp"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	_ "github.com/lockwell/lockwell/migrate/legacy/local"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

var alice = identity.Principal{Name: "alice", Role: identity.Member}

// serve starts the Functions Framework on a free loopback port, serving
// every registered function at /<Name>, and returns its base URL. It waits
// until the port accepts connections (up to a minute, however slow the
// machine) and takes another port when the framework fails to bind one
// that was taken between choosing and binding it.
func serve(t *testing.T) string {
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		failed := make(chan struct{})
		go func() {
			_ = funcframework.StartHostPort("127.0.0.1", itoa(port))
			close(failed)
		}()
		for limit := time.Now().Add(time.Minute); time.Now().Before(limit); {
			if c, err := net.Dial("tcp", "127.0.0.1:"+itoa(port)); err == nil {
				c.Close()
				return "http://127.0.0.1:" + itoa(port)
			}
			select {
			case <-failed:
				limit = time.Time{}
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	t.Fatal("the Functions Framework did not listen")
	return ""
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func pubsubBody(t *testing.T, data []byte, attempt int) []byte {
	b, err := json.Marshal(map[string]any{
		"message":         map[string]any{"data": base64.StdEncoding.EncodeToString(data), "attributes": map[string]string{}, "messageId": "m1", "publishTime": "2026-11-27T09:00:00Z"},
		"subscription":    "projects/p/subscriptions/lockwell-migrate",
		"deliveryAttempt": attempt,
	})
	require.NoError(t, err)
	return b
}

// binary sends a Pub/Sub CloudEvent in binary mode (ce-* headers).
func binary(t *testing.T, base string, body []byte) int {
	req, err := http.NewRequest(http.MethodPost, base+"/"+gcp.FunctionName, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range map[string]string{
		"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "1234567890",
		"ce-source": "//pubsub.googleapis.com/projects/p/topics/lockwell-migrate", "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
		"ce-time": "2026-11-27T09:00:00Z",
	} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// structured sends it in structured mode (application/cloudevents+json).
func structured(t *testing.T, base string, body []byte) int {
	ev, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": "1234567891", "source": "//pubsub.googleapis.com/projects/p/topics/lockwell-migrate",
		"type": "google.cloud.pubsub.topic.v1.messagePublished", "datacontenttype": "application/json", "data": json.RawMessage(body),
	})
	require.NoError(t, err)
	resp, err := http.Post(base+"/"+gcp.FunctionName, "application/cloudevents+json", bytes.NewReader(ev))
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestMigrateSecretsCloudEvent(t *testing.T) {
	ctx := context.Background()
	secrets := legacytest.All()
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, secrets, nil)
	source := (&url.URL{Scheme: "zenml-local", Path: path}).String()
	jobs, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer jobs.Close()
	var entries []migrate.EntryStatus
	for _, s := range secrets {
		entries = append(entries, migrate.EntryStatus{Name: s.Name, Outcome: migrate.Pending})
	}
	require.NoError(t, jobs.CreateJob(ctx, migrate.Job{ID: "j1", Created: secret.Now(), Owner: alice.Name, Source: source}, entries))
	st := store.New(memstore.New())
	gcp.Open = func(context.Context) (*migrate.Processor, error) {
		return &migrate.Processor{Jobs: jobs, MaxDeliveries: 5,
			Target: func(*migrate.Job) migrate.Target { return migrate.StoreTarget{Store: st, Principal: alice} }}, nil
	}
	base := serve(t)

	for i, s := range secrets {
		body := pubsubBody(t, migrate.Message{Job: "j1", Source: source, Name: s.Name}.Encode(), 1)
		send := binary
		if i%2 == 1 {
			send = structured
		}
		require.Equal(t, http.StatusOK, send(t, base, body), s.Name)
		require.Equal(t, http.StatusOK, send(t, base, body), "a redelivery of %s is a no-op", s.Name)
	}
	require.Equal(t, http.StatusInternalServerError, binary(t, base, pubsubBody(t, []byte(`{"v":7}`), 1)), "poison: Pub/Sub retries, then dead-letters")

	counts, err := jobs.Counts(ctx, "j1")
	require.NoError(t, err)
	require.Equal(t, migrate.Counts{migrate.Migrated: len(secrets)}, counts)
	page, err := st.List(ctx, alice, store.ListRequest{PageSize: 100})
	require.NoError(t, err)
	require.Len(t, page.Items, len(secrets))
	for _, s := range secrets {
		got, err := st.Lookup(ctx, alice, s.Name)
		require.NoError(t, err)
		legacytest.RequireSameValues(t, s.Want(), got.Values, s.Name)
	}
}
