package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// anyone authenticates every request as alice.
type anyone struct{}

func (anyone) Authenticate(*http.Request) (identity.Principal, error) {
	return identity.Principal{Name: "alice", Role: identity.Member}, nil
}

func TestASlowEventStreamIsDroppedAndPublishingNeverWaits(t *testing.T) {
	broker := events.NewBroker(0, 2)
	api := httpapi.New(store.New(memstore.New()), anyone{}, httpapi.Options{Events: broker})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/v1/events")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	// The client reads nothing while 64 MiB of events are published: far
	// more than the connection buffers, so the stream's handler blocks in
	// a write, its two-event buffer fills, and the broker drops it.
	// Publish returns every time regardless.
	big := strings.Repeat("n", 64<<10)
	done := make(chan struct{})
	go func() {
		for i := range 1024 {
			broker.Publish(context.Background(), events.Event{Type: events.Updated, ID: fmt.Sprint(i), Name: big})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Publish waited for a stream that does not read")
	}
	// Now the client reads: a prefix of the events, in order, then the
	// notice that it was dropped, then the end of the stream.
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	var ids []string
	var last string
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, `data: {"type":"updated","id":"`); ok {
			ids = append(ids, strings.SplitN(rest, `"`, 2)[0])
		}
		if line != "" {
			last = line
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, httpapi.DroppedComment, last)
	require.NotEmpty(t, ids)
	require.Less(t, len(ids), 1024)
	for i, id := range ids {
		assert.Equal(t, fmt.Sprint(i), id)
	}
	assert.Equal(t, 0, broker.Subscribers())
}

func TestNoEventStreamWithoutABroker(t *testing.T) {
	api := httpapi.New(store.New(memstore.New()), anyone{}, httpapi.Options{})
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/v1/events")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}
