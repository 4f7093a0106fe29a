package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
	"github.com/lockwell/lockwell/shared/webhook"
)

// eventsServer is a local server with clients for admin, alice and bob.
type eventsServer struct {
	*servertest.Running
	admin, alice, bob *client.Client
	logs              *servertest.Buffer
}

func startEventsServer(t *testing.T, cfg server.Config) *eventsServer {
	t.Helper()
	cfg.DataDir = t.TempDir()
	logs := &servertest.Buffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	srv := servertest.Run(t, cfg)
	hc := &http.Client{Timeout: 30 * time.Second}
	newClient := func(token string) *client.Client {
		c, err := client.New(srv.URL, client.BearerToken(token), client.WithHTTPClient(hc))
		require.NoError(t, err)
		return c
	}
	s := &eventsServer{Running: srv, admin: newClient(servertest.AdminToken(t, cfg.DataDir)), logs: logs}
	ctx := context.Background()
	tok, err := s.admin.CreateToken(ctx, "alice", "member")
	require.NoError(t, err)
	s.alice = newClient(tok)
	tok, err = s.admin.CreateToken(ctx, "bob", "member")
	require.NoError(t, err)
	s.bob = newClient(tok)
	return s
}

// open opens a stream and waits until the server has subscribed it (its
// first bytes, the retry field, arrived).
func open(t *testing.T, c *client.Client, last string) *client.EventStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := c.Events(ctx, last)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func next(t *testing.T, st *client.EventStream) client.StreamEvent {
	t.Helper()
	ev, err := st.Next()
	require.NoError(t, err)
	return ev
}

const (
	valueA = "correct-horse-battery-staple"
	valueB = "tr0ub4dor-and-3"
)

func TestEventStreamInCommitOrderOnlyWhatTheCallerMaySee(t *testing.T) {
	s := startEventsServer(t, server.Config{})
	ctx := context.Background()
	// http.Client returns once the headers arrived, after the server has
	// subscribed: every change below is on the streams.
	aliceStream, bobStream := open(t, s.alice, ""), open(t, s.bob, "")

	app, err := s.admin.CreateSecret(ctx, client.NewSecret{Name: "app", Values: map[string]string{"password": valueA}})
	require.NoError(t, err)
	mine, err := s.alice.CreateSecret(ctx, client.NewSecret{Name: "mine", Private: true, Values: map[string]string{"token": valueB}})
	require.NoError(t, err)
	_, err = s.alice.UpdateSecret(ctx, app.ID, client.Update{Values: map[string]*string{"password": ptr(valueB)}})
	require.NoError(t, err)
	_, err = s.alice.UpdateSecret(ctx, mine.ID, client.Update{Values: map[string]*string{"token": ptr(valueA)}})
	require.NoError(t, err)
	require.NoError(t, s.admin.DeleteSecret(ctx, app.ID))

	type seen struct {
		typ, id, name, principal string
		version                  int64
	}
	want := []seen{
		{"created", app.ID, "app", "admin", 1},
		{"created", mine.ID, "mine", "alice", 1},
		{"updated", app.ID, "app", "alice", 2},
		{"updated", mine.ID, "mine", "alice", 2},
		{"deleted", app.ID, "app", "admin", 3},
	}
	read := func(st *client.EventStream, n int) (got []seen, ids []string) {
		for range n {
			ev := next(t, st)
			assert.Equal(t, ev.Type, ev.Event.Type)
			assert.NotContains(t, string(ev.Data), valueA)
			assert.NotContains(t, string(ev.Data), valueB)
			assert.NotContains(t, string(ev.Data), "password")
			got = append(got, seen{ev.Event.Type, ev.Event.ID, ev.Event.Name, ev.Event.Principal, ev.Event.Version})
			ids = append(ids, ev.ID)
		}
		return got, ids
	}
	got, ids := read(aliceStream, 5)
	assert.Equal(t, want, got)
	for i := 1; i < len(ids); i++ {
		assert.Less(t, ids[i-1], ids[i], "ids increase") // same length: decimal order
	}
	// bob never sees alice's private secret; the next thing on his stream
	// after app's three events is the one after all of them.
	got, _ = read(bobStream, 3)
	assert.Equal(t, []seen{want[0], want[2], want[4]}, got)
	_, err = s.bob.CreateSecret(ctx, client.NewSecret{Name: "bobs"})
	require.NoError(t, err)
	got, _ = read(bobStream, 1)
	assert.Equal(t, "bobs", got[0].name)

	t.Run("resumes after Last-Event-ID", func(t *testing.T) {
		st := open(t, s.alice, ids[1])
		got, _ := read(st, 3)
		assert.Equal(t, want[2:], got)
		ev := next(t, st)
		assert.Equal(t, "bobs", ev.Event.Name)
	})
	t.Run("says when events were lost", func(t *testing.T) {
		st := open(t, s.alice, "1") // from long before this server started
		ev := next(t, st)
		assert.Equal(t, client.ResetType, ev.Type)
		assert.Contains(t, string(ev.Data), "re-read")
		got, _ := read(st, 5) // then everything the server keeps
		assert.Equal(t, want, got)
	})
	t.Run("a malformed Last-Event-ID is refused", func(t *testing.T) {
		_, err := s.alice.Events(ctx, "x1")
		var apiErr *client.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, http.StatusBadRequest, apiErr.Status)
	})
	t.Run("needs a token", func(t *testing.T) {
		res, err := http.Get(s.URL + "/api/v1/events")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	})
	assert.NotContains(t, s.logs.String(), valueA)
}

func ptr[T any](v T) *T { return &v }

// hook is a webhook receiver on loopback.
type hook struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []delivery
	// answer decides the status of each request (n counts from 1); it may
	// block.
	answer func(n int) int
	got    chan struct{}
}

type delivery struct {
	header http.Header
	body   []byte
	status int
}

func newHook(t *testing.T, answer func(n int) int) *hook {
	h := &hook{answer: answer, got: make(chan struct{}, 1000)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		n := len(h.deliveries) + 1
		h.deliveries = append(h.deliveries, delivery{header: r.Header.Clone(), body: body})
		h.mu.Unlock()
		status := h.answer(n)
		h.mu.Lock()
		h.deliveries[n-1].status = status
		h.mu.Unlock()
		w.WriteHeader(status)
		h.got <- struct{}{}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) all() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.deliveries...)
}

func (h *hook) waitFor(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-h.got:
		case <-time.After(time.Minute):
			t.Fatalf("the webhook got %d requests, not %d", len(h.all()), n)
		}
	}
}

var hookSecret = []byte("a-webhook-signing-secret-of-32-b")

func secretFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "webhook.secret")
	require.NoError(t, os.WriteFile(p, append(hookSecret, '\n'), 0o600))
	return p
}

func TestWebhookDeliveriesAreSignedAndRetriedAfter5xx(t *testing.T) {
	h := newHook(t, func(n int) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	s := startEventsServer(t, server.Config{WebhookURL: h.URL + "/hook", WebhookSecretFile: secretFile(t)})
	ctx := context.Background()
	created, err := s.alice.CreateSecret(ctx, client.NewSecret{Name: "db", Values: map[string]string{"password": valueA}})
	require.NoError(t, err)
	_, err = s.alice.UpdateSecret(ctx, created.ID, client.Update{Name: ptr("db2")})
	require.NoError(t, err)
	h.waitFor(t, 3) // 503, then the created event again, then updated

	got := h.all()
	require.Len(t, got, 3)
	assert.Equal(t, http.StatusServiceUnavailable, got[0].status)
	assert.Equal(t, got[0].body, got[1].body, "the retry sends the same event")
	assert.Equal(t, got[0].header.Get(webhook.HeaderDelivery), got[1].header.Get(webhook.HeaderDelivery))
	assert.NotEqual(t, got[1].header.Get(webhook.HeaderDelivery), got[2].header.Get(webhook.HeaderDelivery))
	for i, d := range got {
		require.NoError(t, webhook.Verify(hookSecret, d.header.Get(webhook.HeaderSignature), d.body, time.Now(), 5*time.Minute), "delivery %d", i)
		assert.Error(t, webhook.Verify([]byte("another-secret-of-enough-length"), d.header.Get(webhook.HeaderSignature), d.body, time.Now(), 5*time.Minute))
		assert.Error(t, webhook.Verify(hookSecret, d.header.Get(webhook.HeaderSignature), append(d.body, ' '), time.Now(), 5*time.Minute))
		assert.NotContains(t, string(d.body), valueA)
		assert.Equal(t, "application/json", d.header.Get("Content-Type"))
	}
	var e struct {
		Type, ID, Name, Principal string
		Version                   int64
	}
	require.NoError(t, json.Unmarshal(got[2].body, &e))
	assert.Equal(t, "updated", e.Type)
	assert.Equal(t, "updated", got[2].header.Get(webhook.HeaderEvent))
	assert.Equal(t, created.ID, e.ID)
	assert.Equal(t, "db2", e.Name)
	assert.Equal(t, "alice", e.Principal)
	assert.Equal(t, int64(2), e.Version)
	assert.NotContains(t, s.logs.String(), string(hookSecret))
}

func TestAHangingWebhookNeverDelaysAWrite(t *testing.T) {
	release := make(chan struct{})
	h := newHook(t, func(int) int {
		<-release
		return http.StatusOK
	})
	defer close(release) // before the receiver closes (cleanups run after)
	s := startEventsServer(t, server.Config{WebhookURL: h.URL, WebhookSecretFile: secretFile(t)})
	ctx := context.Background()
	// Every write returns while the webhook has not answered the first
	// delivery: were a write waiting for it, this would never finish (the
	// client's timeout would fail it).
	for i := range 20 {
		_, err := s.alice.CreateSecret(ctx, client.NewSecret{Name: fmt.Sprintf("s%d", i)})
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, len(h.all()), 1, "at most the first delivery is in flight, hanging")
	assert.False(t, strings.Contains(s.logs.String(), "dropped"), "nothing dropped: the queue holds the rest")
}

func TestWebhookNeedsItsSecretFile(t *testing.T) {
	err := server.Run(context.Background(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), WebhookURL: "http://127.0.0.1:1/hook"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "LOCKWELL_WEBHOOK_SECRET_FILE")
}
