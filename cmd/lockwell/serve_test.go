package main

import (
	"bufio"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/identity"
)

// lockwell serve as a container runs it: the store named by LOCKWELL_STORE
// (not the data directory), the admin token from a mounted file, on any
// address; the data directory stays empty.
func TestServeADeploymentConfiguration(t *testing.T) {
	storeDir, dataDir := t.TempDir(), t.TempDir()
	token, _, err := identity.NewToken()
	require.NoError(t, err)
	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o600))

	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "LOCKWELL_CLI_TEST_MAIN=1",
		"LOCKWELL_DATA_DIR="+dataDir,
		"LOCKWELL_STORE="+(&url.URL{Scheme: "sqlite", Path: filepath.Join(storeDir, "lockwell.db")}).String(),
		"LOCKWELL_KEY="+(&url.URL{Scheme: "localkey", Path: filepath.Join(storeDir, "store.key")}).String(),
		"LOCKWELL_ADMIN_TOKEN_FILE="+tokenFile)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	addr := ""
	var log []string
	for addr == "" && lines.Scan() {
		line := lines.Text()
		log = append(log, line)
		if i := strings.Index(line, " addr="); i >= 0 && strings.Contains(line, "listening") {
			addr = strings.Fields(line[i+len(" addr="):])[0]
		}
	}
	require.NotEmpty(t, addr, "no listening line in the log (%d lines)", len(log))
	go func() {
		for lines.Scan() { // keep draining the log
		}
	}()
	assert.NotContains(t, strings.Join(log, "\n"), token, "the token is never logged")

	inv := invocation{env: map[string]string{"LOCKWELL_URL": "http://" + addr, "LOCKWELL_TOKEN": token, "LOCKWELL_CONFIG": "/nonexistent"}}
	ok(t, inv.run("secret", "create", "in-deployment", "k=v"))
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, exitCode(t, cmd))

	entries, err := os.ReadDir(dataDir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the data directory holds nothing when the token comes from a file")
	assert.FileExists(t, filepath.Join(storeDir, "lockwell.db"), "the store is where LOCKWELL_STORE says")
}

func TestServeChecksTheDeploymentConfiguration(t *testing.T) {
	inv := invocation{env: map[string]string{"LOCKWELL_STORE": "postgres://db.invalid:5432/lockwell", "LOCKWELL_DATA_DIR": t.TempDir()}}
	oneLineError(t, inv.run("serve", "--addr", "127.0.0.1:0"), "LOCKWELL_KEY is not set")
}
