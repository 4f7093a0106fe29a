package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/client"
)

// watchChild is the program "lockwell watch" runs in tests: it prints the
// value it got, reports SIGHUP and keeps running, and exits 0 on SIGTERM
// or SIGINT.
func watchChild() int {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	fmt.Printf("start %s\n", os.Getenv("PASSWORD"))
	for {
		select {
		case s := <-sigs:
			fmt.Printf("got %s\n", s)
			if s != syscall.SIGHUP {
				return 0
			}
		case <-time.After(2 * time.Minute): // only so that a lost signal cannot leave the child behind
			fmt.Println("no signal")
			return 1
		}
	}
}

// watching is a "lockwell watch" process with its child's output.
type watching struct {
	cmd *exec.Cmd
	out *bufio.Reader
}

func startWatch(t *testing.T, serverURL, token string, args ...string) *watching {
	t.Helper()
	cmd := exec.Command(os.Args[0], append(append([]string{"watch", "app"}, args...), "--", os.Args[0])...)
	cmd.Env = append(os.Environ(), "LOCKWELL_CLI_TEST_MAIN=1", "LOCKWELL_CLI_TEST_CHILD=watch",
		"LOCKWELL_URL="+serverURL, "LOCKWELL_TOKEN="+token, "LOCKWELL_CONFIG="+filepath.Join(t.TempDir(), "config.json"))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return &watching{cmd: cmd, out: bufio.NewReader(out)}
}

func (w *watching) expect(t *testing.T, want string) {
	t.Helper()
	line, err := w.out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, want+"\n", line)
}

func watchedSecret(t *testing.T, srv *localServer) (*client.Client, string) {
	t.Helper()
	c, err := client.New(srv.url, client.BearerToken(srv.adminToken))
	require.NoError(t, err)
	s, err := c.CreateSecret(context.Background(), client.NewSecret{Name: "app", Values: map[string]string{"password": "v1"}})
	require.NoError(t, err)
	return c, s.ID
}

func setPassword(t *testing.T, c *client.Client, id, v string) {
	t.Helper()
	_, err := c.UpdateSecret(context.Background(), id, client.Update{Values: map[string]*string{"password": &v}})
	require.NoError(t, err)
}

func TestWatchRestartsTheChildWithTheNewValues(t *testing.T) {
	srv := startServer(t)
	c, id := watchedSecret(t, srv)
	w := startWatch(t, srv.url, srv.adminToken)
	w.expect(t, "start v1")
	setPassword(t, c, id, "v2")
	w.expect(t, "got terminated") // asked to stop gracefully
	w.expect(t, "start v2")
	setPassword(t, c, id, "v3")
	w.expect(t, "got terminated")
	w.expect(t, "start v3")
	// A signal to lockwell reaches the child; lockwell exits with its status.
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGINT))
	w.expect(t, "got interrupt")
	assert.Equal(t, 0, exitCode(t, w.cmd))
}

// The watch follows the secret it started with, by id: a rename or a
// change that leaves the values as they were does not restart the child,
// and another secret that takes the old name is not the watched one.
func TestWatchFollowsTheSecretThroughARename(t *testing.T) {
	srv := startServer(t)
	c, id := watchedSecret(t, srv)
	w := startWatch(t, srv.url, srv.adminToken)
	w.expect(t, "start v1")
	ctx := context.Background()
	renamed := "app-renamed"
	_, err := c.UpdateSecret(ctx, id, client.Update{Name: &renamed})
	require.NoError(t, err)
	setPassword(t, c, id, "v1") // a new version, the same values
	_, err = c.CreateSecret(ctx, client.NewSecret{Name: "app", Values: map[string]string{"password": "not-the-watched-one"}})
	require.NoError(t, err)
	setPassword(t, c, id, "v2")
	w.expect(t, "got terminated") // the first restart is for v2, read by id
	w.expect(t, "start v2")
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	w.expect(t, "got terminated")
	assert.Equal(t, 0, exitCode(t, w.cmd))
}

func TestWatchSignalsTheChildInsteadOfRestarting(t *testing.T) {
	srv := startServer(t)
	c, id := watchedSecret(t, srv)
	w := startWatch(t, srv.url, srv.adminToken, "--signal", "HUP")
	w.expect(t, "start v1")
	setPassword(t, c, id, "v2")
	w.expect(t, "got hangup")
	setPassword(t, c, id, "v3")
	w.expect(t, "got hangup")
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	w.expect(t, "got terminated")
	assert.Equal(t, 0, exitCode(t, w.cmd))
}

// Against a server without the event stream (as the cloud deployments
// are), watch polls the secret's version.
func TestWatchPollsAServerWithoutEvents(t *testing.T) {
	srv := startServer(t)
	c, id := watchedSecret(t, srv)
	target, err := url.Parse(srv.url)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	noEvents := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/events" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":"not_found","message":"no event stream"}}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer noEvents.Close()
	w := startWatch(t, noEvents.URL, srv.adminToken, "--poll-interval", "100ms")
	w.expect(t, "start v1")
	setPassword(t, c, id, "v2")
	w.expect(t, "got terminated")
	w.expect(t, "start v2")
	require.NoError(t, w.cmd.Process.Signal(syscall.SIGTERM))
	w.expect(t, "got terminated")
	assert.Equal(t, 0, exitCode(t, w.cmd))
}
