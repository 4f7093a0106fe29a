// Package servertest runs the local server in a test's own process: it
// starts it on a free loopback port, waits until it listens, and at the end
// of the test stops it and requires a clean return. It is for tests only.
package servertest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/server"
)

// How long a server may take to start and to stop before the test fails.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 20 * time.Second
)

// Running is a server started by Start or Run. Its methods are safe to call
// from the test's goroutine and its cleanups.
type Running struct {
	// Addr is the address the server listens on (127.0.0.1:port); URL is
	// its base URL, "http://" + Addr.
	Addr, URL string

	cancel context.CancelFunc
	done   chan struct{} // closed when serve has returned
	err    error         // what serve returned; read after done
}

// Start runs serve in a goroutine with a context that Stop (or the end of
// the test) cancels. serve must call ready with its listening address once
// it accepts connections, and return when its context ends. Start fails the
// test when serve returns before calling ready, or does not call it within
// 30s. At the end of the test the server is stopped (see Stop).
func Start(t testing.TB, serve func(ctx context.Context, ready func(addr string)) error) *Running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{cancel: cancel, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		defer close(r.done)
		r.err = serve(ctx, func(addr string) { ready <- addr })
	}()
	select {
	case r.Addr = <-ready:
	case <-r.done:
		cancel()
		t.Fatalf("the server did not start: %v", r.err)
	case <-time.After(startTimeout):
		cancel()
		t.Fatalf("the server did not start in %s", startTimeout)
	}
	r.URL = "http://" + r.Addr
	t.Cleanup(func() { r.Stop(t) })
	return r
}

// Run starts server.Run(cfg) with Start. cfg.Addr defaults to 127.0.0.1:0
// (a free loopback port); cfg.Ready is Start's.
func Run(t testing.TB, cfg server.Config) *Running {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	return Start(t, func(ctx context.Context, ready func(addr string)) error {
		cfg.Ready = ready
		return server.Run(ctx, cfg)
	})
}

// Cancel ends the server's context without waiting for it to return.
func (r *Running) Cancel() { r.cancel() }

// Done is closed when the server has returned; Err then says what it
// returned.
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is what the server returned; it is only meaningful once Done is
// closed.
func (r *Running) Err() error { return r.err }

// Stop ends the server's context and fails the test unless it returns nil
// within 20s. Calling it again checks the same return.
func (r *Running) Stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
		require.NoError(t, r.err, "clean shutdown")
	case <-time.After(stopTimeout):
		t.Fatalf("the server did not stop in %s", stopTimeout)
	}
}

// AdminToken reads the admin API token the server wrote in dataDir.
func AdminToken(t testing.TB, dataDir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, server.AdminTokenFile))
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

// Buffer is a bytes.Buffer safe for concurrent writers, for a server's log
// or output that the test reads while the server runs.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
