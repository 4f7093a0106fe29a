package main_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start runs the built command with env on a free loopback port and returns
// its base URL; it is stopped when the test ends. It waits for the server to
// listen for as long as the process runs (up to two minutes, however slow
// the machine), and tries another port when the process exits first, as it
// does when the port was taken between choosing and binding it.
func start(t *testing.T, bin string, env ...string) string {
	t.Helper()
	var out *strings.Builder
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		cmd := exec.Command(bin)
		// Blank what the host may set; env, later, wins.
		cmd.Env = append(os.Environ(), "PORT="+port, "LOCKWELL_STORE=", "LOCKWELL_KEY=", "LOCKWELL_AUTH=", "FUNCTION_TARGET=")
		cmd.Env = append(cmd.Env, env...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		out = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		})
		for limit := time.Now().Add(2 * time.Minute); time.Now().Before(limit); {
			if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
				c.Close()
				return "http://127.0.0.1:" + port
			}
			select {
			case <-exited:
				limit = time.Time{} // exited before listening: try another port
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	t.Fatalf("the functions server did not listen: %s", out)
	return ""
}

func TestLocalFunctions(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "functions")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	data := t.TempDir()

	all := start(t, bin, "LOCKWELL_DATA_DIR="+data)
	token, err := os.ReadFile(filepath.Join(data, "admin.token"))
	require.NoError(t, err, "an admin token is written on first use")
	st, err := os.Stat(filepath.Join(data, "admin.token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	call := func(base, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}

	code, created := call(all, "POST", "/CreateSecret", `{"name":"local","values":{"k":"v"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", created)
	id := created["id"].(string)
	code, _ = call(all, "GET", "/GetSecret/"+id, "")
	assert.Equal(t, http.StatusOK, code)
	code, list := call(all, "GET", "/ListSecrets", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Len(t, list["items"], 1)
	code, _ = call(all, "PATCH", "/UpdateSecret/"+id, `{"values":{"k2":"v2"}}`)
	assert.Equal(t, http.StatusOK, code)

	one := start(t, bin, "LOCKWELL_DATA_DIR="+data, "FUNCTION_TARGET=GetSecret")
	code, got := call(one, "GET", "/"+id, "")
	assert.Equal(t, http.StatusOK, code, "%v", got)
	code, _ = call(one, "GET", "/api/v1/secrets/"+id, "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = call(one, "DELETE", "/"+id, "")
	assert.Equal(t, http.StatusNotFound, code, "GetSecret serves only get")

	code, _ = call(all, "DELETE", "/DeleteSecret/"+id, "")
	assert.Equal(t, http.StatusOK, code, "moved into the recovery window")
	code, _ = call(one, "GET", "/"+id, "")
	assert.Equal(t, http.StatusNotFound, code)
}
