package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/secret/secrettest"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// childEnv makes the test binary run the server instead of the tests, so
// that a test can kill -9 it.
const childEnv = "LOCKWELL_TEST_SERVER_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		err := server.Run(context.Background(), server.Config{
			Addr: "127.0.0.1:0", DataDir: dir,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
			Ready:  func(addr string) { fmt.Println("ADDR", addr) },
		})
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// running is a server started in-process, with its JSON log.
type running struct {
	*servertest.Running
	logs   *servertest.Buffer
	token  string
	client *http.Client
}

func start(t *testing.T, dir string) *running {
	t.Helper()
	logs := &servertest.Buffer{}
	srv := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	return &running{Running: srv, logs: logs, token: servertest.AdminToken(t, dir), client: &http.Client{Timeout: 10 * time.Second}}
}

// call sends one JSON request and returns status and body.
func call(client *http.Client, base, token, method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (r *running) call(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	status, b, err := call(r.client, r.URL, r.token, method, path, body)
	require.NoError(t, err)
	return status, b
}

type secretBody struct {
	ID      string            `json:"id"`
	Version int64             `json:"version"`
	Values  map[string]string `json:"values"`
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	require.NoError(t, err)
	return info.Mode().Perm()
}

func TestFirstStartCreatesKeyAndTokenAndRestartReusesThem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	srv := start(t, dir)

	assert.Equal(t, os.FileMode(0o700), mode(t, dir))
	for _, f := range []string{server.KeyFile, server.AdminTokenFile, server.DatabaseFile} {
		assert.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(dir, f)), f)
	}
	tokenPath := filepath.Join(dir, server.AdminTokenFile)
	assert.Contains(t, srv.logs.String(), tokenPath, "the log says where the admin token is")
	assert.Contains(t, srv.logs.String(), "created an admin API token")
	assert.Contains(t, srv.logs.String(), "created the store key")
	assert.Contains(t, srv.logs.String(), filepath.Join(dir, server.KeyFile))
	assert.NotContains(t, srv.logs.String(), srv.token, "the log never holds the token")
	keyBefore, err := os.ReadFile(filepath.Join(dir, server.KeyFile))
	require.NoError(t, err)

	status, _ := srv.call(t, "GET", "/healthz", "")
	assert.Equal(t, http.StatusOK, status)
	values := map[string]string{"password": "VALUE-restart-1"}
	b, _ := json.Marshal(map[string]any{"name": "db", "values": values})
	status, body := srv.call(t, "POST", "/api/v1/secrets", string(b))
	require.Equal(t, http.StatusCreated, status, string(body))
	var created secretBody
	require.NoError(t, json.Unmarshal(body, &created))
	status, body = srv.call(t, "POST", "/api/v1/tokens", `{"user":"alice"}`)
	require.Equal(t, http.StatusCreated, status, string(body))
	var minted map[string]string
	require.NoError(t, json.Unmarshal(body, &minted))
	srv.Stop(t)
	assert.Contains(t, srv.logs.String(), "server stopped")

	again := start(t, dir)
	assert.Equal(t, srv.token, again.token, "restart keeps the admin token")
	keyAfter, err := os.ReadFile(filepath.Join(dir, server.KeyFile))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(keyBefore, keyAfter), "restart keeps the store key")
	assert.NotContains(t, again.logs.String(), "created an admin API token")
	assert.NotContains(t, again.logs.String(), "created the store key")
	assert.Contains(t, again.logs.String(), tokenPath)

	status, body = again.call(t, "GET", "/api/v1/secrets/"+created.ID, "")
	require.Equal(t, http.StatusOK, status)
	var got secretBody
	require.NoError(t, json.Unmarshal(body, &got))
	secrettest.AssertSameValues(t, values, got.Values, "db after restart")
	status, _, err = call(again.client, again.URL, minted["token"], "GET", "/api/v1/secrets", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status, "a token minted before the restart still works")
	assert.NotContains(t, again.logs.String(), "VALUE-restart-1")
	assert.NotContains(t, srv.logs.String(), "VALUE-restart-1")
}

// TestShutdownDrainsInFlightRequests starts a request, ends the server's
// context while the handler is reading the request's body, and requires the
// request to finish with 201 before Run returns. It waits on events, not on
// time: the request asks for "100 Continue", which the server sends when the
// handler starts reading the body, and Run logs when it starts to drain.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	srv := start(t, dir)
	body := `{"name":"inflight","values":{"k":"v"}}`
	conn, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(time.Minute))) // only so that a hang fails
	_, err = fmt.Fprintf(conn, "POST /api/v1/secrets HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
		srv.Addr, srv.token, len(body))
	require.NoError(t, err)
	responses := bufio.NewReader(conn)
	interim, err := http.ReadResponse(responses, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusContinue, interim.StatusCode, "the handler is now reading the body")
	_, err = io.WriteString(conn, body[:10])
	require.NoError(t, err)

	srv.Cancel()
	for !strings.Contains(srv.logs.String(), "shutting down: draining in-flight requests") {
		select {
		case <-srv.Done():
			t.Fatalf("Run returned before the in-flight request finished: %v", srv.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	select {
	case <-srv.Done():
		t.Fatalf("Run returned before the in-flight request finished: %v", srv.Err())
	default:
	}
	_, err = io.WriteString(conn, body[10:])
	require.NoError(t, err)
	res, err := http.ReadResponse(responses, nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusCreated, res.StatusCode)
	srv.Stop(t)

	again := start(t, dir)
	status, b := again.call(t, "GET", "/api/v1/secrets?name=inflight", "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, string(b), `"inflight"`)
}

// TestAcknowledgedWritesSurviveKill9 runs the server as a child process,
// writes to it from several clients, kills it with SIGKILL in the middle of
// the writes, restarts it and reads back every write that was acknowledged
// with a 2xx. It also scans the data directory for the values in plaintext.
func TestAcknowledgedWritesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr servertest.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	addr := ""
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "ADDR "); ok {
			addr = a
			break
		}
	}
	require.NotEmpty(t, addr, "child server did not start")
	go io.Copy(io.Discard, stdout)
	base, token := "http://"+addr, servertest.AdminToken(t, dir)

	type ack struct {
		id      string
		version int64
		values  map[string]string
	}
	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	const writers = 4
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				values := map[string]string{"v": fmt.Sprintf("VALUE-k9-%d-%d", w, i)}
				b, _ := json.Marshal(map[string]any{"name": fmt.Sprintf("w%d-%d", w, i), "values": values})
				status, body, err := call(client, base, token, "POST", "/api/v1/secrets", string(b))
				if err != nil || status != http.StatusCreated {
					return // the server is gone
				}
				var s secretBody
				if json.Unmarshal(body, &s) != nil {
					return
				}
				// Then an update of the same secret, also acknowledged.
				values["u"] = fmt.Sprintf("VALUE-k9-%d-%d-upd", w, i)
				status, body, err = call(client, base, token, "PATCH", "/api/v1/secrets/"+s.ID, `{"values":{"u":"`+values["u"]+`"}}`)
				mu.Lock()
				if err == nil && status == http.StatusOK && json.Unmarshal(body, &s) == nil {
					acked = append(acked, ack{s.ID, s.Version, values})
				} else {
					acked = append(acked, ack{s.ID, 1, map[string]string{"v": values["v"]}})
				}
				mu.Unlock()
			}
		}()
	}
	// Kill once 60 writes are acknowledged, or after 10s when at least one
	// is: a slow machine writes fewer but still tests every acknowledged one.
	enough, limit := time.Now().Add(10*time.Second), time.Now().Add(2*time.Minute)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 60 || n > 0 && time.Now().After(enough) || time.Now().After(limit) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill()) // SIGKILL, writes in flight
	_ = cmd.Wait()
	wg.Wait()
	require.NotEmpty(t, acked)

	srv := start(t, dir)
	missing := 0
	for _, a := range acked {
		status, body := srv.call(t, "GET", "/api/v1/secrets/"+a.id, "")
		if !assert.Equal(t, http.StatusOK, status, "acknowledged secret %s is gone", a.id) {
			missing++
			continue
		}
		var got secretBody
		require.NoError(t, json.Unmarshal(body, &got))
		assert.GreaterOrEqual(t, got.Version, a.version, "secret %s lost an acknowledged update", a.id)
		if got.Version == a.version {
			secrettest.AssertSameValues(t, a.values, got.Values, a.id)
		}
	}
	t.Logf("%d acknowledged writes before kill -9, %d missing after restart", len(acked), missing)
	srv.Stop(t)

	// No file of the data directory holds a value in plaintext.
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var files []string
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files = append(files, e.Name())
		assert.False(t, bytes.Contains(data, []byte("VALUE-k9")), "%s holds a value in plaintext", e.Name())
	}
	sort.Strings(files)
	assert.Contains(t, files, server.DatabaseFile)
	assert.NotContains(t, stderr.String(), "VALUE-k9", "the child's log holds a value")
	assert.NotContains(t, stderr.String(), token, "the child's log holds the token")
}

// An address in use fails at once, in one line that names the address and
// a free one to use instead and how to choose it, before the data
// directory is created.
func TestBusyAddressSaysHowToChooseAnother(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	dir := filepath.Join(t.TempDir(), "data")
	err = server.Run(context.Background(), server.Config{Addr: busy.Addr().String(), DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	require.ErrorIs(t, err, server.ErrAddrInUse)
	msg := err.Error()
	assert.NotContains(t, msg, "\n")
	assert.Equal(t, 1, strings.Count(msg, busy.Addr().String()), "the busy address once: %s", msg)
	assert.Contains(t, msg, "make dev ADDR=127.0.0.1:")
	assert.Contains(t, msg, "LOCKWELL_ADDR / --addr")
	_, statErr := os.Stat(dir)
	assert.True(t, os.IsNotExist(statErr), "nothing is created for a server that cannot listen")
}

// TestNonCanonicalPathsAreAnsweredNotRedirected: the local server answered
// /api/v1//secrets, /api/v1/secrets/../tokens and /./ with a 307 redirect in
// HTML, without the API's headers.
func TestNonCanonicalPathsAreAnsweredNotRedirected(t *testing.T) {
	srv := start(t, filepath.Join(t.TempDir(), "data"))
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/api/v1//secrets", "/api/v1/secrets/../tokens", "/./", "/api/v1/secrets/%2e%2e/tokens", "//healthz"} {
		t.Run(path, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+srv.token)
			resp, err := client.Do(req)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", body)
			assert.Empty(t, resp.Header.Get("Location"))
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
			assert.Contains(t, string(body), `"code":"invalid_argument"`)
		})
	}
}
