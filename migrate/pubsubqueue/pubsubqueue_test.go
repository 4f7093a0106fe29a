package pubsubqueue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/pubsubqueue"
	"github.com/lockwell/lockwell/shared/errcode"
)

// emulator answers topics.publish as the Pub/Sub REST API (and its
// emulator) does, failing the first request with 503.
type emulator struct {
	mu       sync.Mutex
	requests int
	got      []migrate.Message
}

func (e *emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.requests++
	if r.Method != http.MethodPost || r.URL.Path != "/v1/projects/p/topics/lockwell-migrate:publish" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if e.requests == 1 {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var body struct {
		Messages []struct {
			Data       []byte            `json:"data"`
			Attributes map[string]string `json:"attributes"`
		} `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Messages) == 0 || len(body.Messages) > 1000 {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ids []string
	for i, m := range body.Messages {
		msg, err := migrate.DecodeMessage(m.Data)
		if err != nil || m.Attributes["job"] != msg.Job {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		e.got = append(e.got, msg)
		ids = append(ids, fmt.Sprint(len(e.got)+i))
	}
	json.NewEncoder(w).Encode(map[string]any{"messageIds": ids})
}

func TestPublish(t *testing.T) {
	e := &emulator{}
	srv := httptest.NewServer(e)
	defer srv.Close()
	t.Setenv("PUBSUB_EMULATOR_HOST", strings.TrimPrefix(srv.URL, "http://"))
	q, err := pubsubqueue.Open(context.Background(), "pubsub://p/lockwell-migrate")
	require.NoError(t, err)
	var msgs []migrate.Message
	for i := range 250 {
		msgs = append(msgs, migrate.Message{Job: "j", Source: "zenml-gcp://p?scope=global", Name: fmt.Sprintf("s%03d", i)})
	}
	require.NoError(t, q.Send(context.Background(), msgs))
	require.Equal(t, 4, e.requests, "three batches of at most 100, the first retried once")
	require.Len(t, e.got, 250)
	require.Equal(t, "s249", e.got[249].Name)

	q, err = pubsubqueue.Open(context.Background(), "pubsub://p/missing")
	require.NoError(t, err)
	require.Equal(t, errcode.InvalidArgument, errcode.Of(q.Send(context.Background(), msgs[:1])))
	for _, bad := range []string{"pubsub://p", "pubsub:///t", "pubsub://p/t/x", "sqs://p/t"} {
		_, err := pubsubqueue.Open(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	t.Setenv("PUBSUB_EMULATOR_HOST", "pubsub.example.com:8085")
	_, err = pubsubqueue.Open(context.Background(), "pubsub://p/t")
	require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}
