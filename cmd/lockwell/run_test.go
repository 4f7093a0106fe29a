package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockwellProcess starts the test binary as lockwell with args; its child
// (also the test binary) runs in mode.
func lockwellProcess(t *testing.T, mode string, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LOCKWELL_CLI_TEST_MAIN=1", "LOCKWELL_CLI_TEST_CHILD="+mode, "LOCKWELL_CONFIG=/nonexistent/config.json")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(out)
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(2 * time.Minute): // bounds the wait; a working lockwell exits at once
		t.Fatal("lockwell did not exit")
		return -1
	}
}

// Signals sent to lockwell reach the child, and lockwell exits with the
// child's status.
func TestRunForwardsSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, out := lockwellProcess(t, "trap", "run", "--env", "GREETING=hello", "--", os.Args[0])
			line, err := out.ReadString('\n')
			require.NoError(t, err)
			require.Equal(t, "ready\n", line)
			require.NoError(t, cmd.Process.Signal(sig))
			line, err = out.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "got "+sig.String()+"\n", line)
			assert.Equal(t, 42, exitCode(t, cmd))
		})
	}
}

func TestRunExitStatus(t *testing.T) {
	for _, c := range []struct {
		mode string
		want int
	}{
		{"exit0", 0},
		{"exit3", 3},
		{"exit255", 255},
		{"selfkill", 128 + 9}, // killed by SIGKILL: 128+9, as a shell reports it
	} {
		t.Run(c.mode, func(t *testing.T) {
			cmd, _ := lockwellProcess(t, c.mode, "run", "--", os.Args[0])
			assert.Equal(t, c.want, exitCode(t, cmd))
		})
	}
	t.Run("not found", func(t *testing.T) {
		r := invocation{}.run("run", "--", "/nonexistent/command")
		assert.Equal(t, 127, r.code)
		assert.Contains(t, r.stderr, "command not found")
	})
}

// Secrets reach the child only through its environment.
func TestRunEnvironment(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "user=alice", "pass.word=p w=#", "host-name=h"))
	ok(t, admin.run("secret", "create", "api", "token=t0k", "user=apiuser"))

	t.Setenv("LOCKWELL_CLI_TEST_CHILD", "env")
	t.Setenv("LOCKWELL_TOKEN", "lw_parent-token")
	t.Setenv("USER", "inherited")

	t.Setenv("LOCKWELL_CLI_TEST_PRINT", "USER,PASS_WORD,HOST_NAME,URL,TOKEN,LOCKWELL_TOKEN")
	// USER is in the environment: replacing it needs --override
	r := admin.run("run", "--secret", "db", "--", os.Args[0])
	oneLineError(t, r, "not replacing variables the environment already has: USER (from db.user)")
	assert.Equal(t, exitConflict, r.code)
	r = ok(t, admin.run("run", "--override", "--secret", "db", "--secret", "api:token", "--env", "URL=postgres://{{db.user}}:{{db.pass.word}}@h/db", "--", os.Args[0], "arg1"))
	for _, want := range []string{
		`USER="alice" set=true`, // with --override secrets replace inherited variables
		`PASS_WORD="p w=#" set=true`,
		`HOST_NAME="h" set=true`,
		`URL="postgres://alice:p w=#@h/db" set=true`,
		`TOKEN="t0k" set=true`,
		`LOCKWELL_TOKEN="" set=false`, // lockwell's own credential is not passed on
		`args=["arg1"]`,
	} {
		assert.True(t, strings.Contains(r.stdout, want+"\n"), "child environment lacks an expected line (%d bytes of output)", len(r.stdout))
	}

	// collisions name both sources
	r = admin.run("run", "--secret", "db", "--secret", "api", "--", os.Args[0])
	oneLineError(t, r, "environment variable USER would be set by both db.user and api.user")
	r = admin.run("run", "--secret", "db:user", "--env", "USER=x", "--", os.Args[0])
	oneLineError(t, r, "environment variable USER would be set by both db.user and --env USER")

	// missing secrets and keys
	oneLineError(t, admin.run("run", "--secret", "nope", "--", os.Args[0]), "--secret nope: no secret named nope: neither a private one of yours nor a public one")
	oneLineError(t, admin.run("run", "--secret", "db:nokey", "--", os.Args[0]), "does not contain a value for key nokey. Available keys: host-name, pass.word, user")
	oneLineError(t, admin.run("run", "--env", "X={{db.nokey}}", "--", os.Args[0]), "--env X: secret reference {{db.nokey}}")
	oneLineError(t, admin.run("run", "--env", "1X=y", "--", os.Args[0]), "--env must be VAR=VALUE")
	for _, r := range []result{admin.run("run", "--secret", "db", "--secret", "api", "--", os.Args[0])} {
		assert.NotContains(t, r.stderr, "alice")
		assert.NotContains(t, r.stderr, "t0k")
	}
}

func TestEnvName(t *testing.T) {
	for k, want := range map[string]string{"user": "USER", "db.host": "DB_HOST", "api-key": "API_KEY", "_x.y-z": "_X_Y_Z"} {
		assert.Equal(t, want, envName(k))
	}
}

// lockwell serve takes its settings from the environment, prints where the
// admin token is, serves, and stops cleanly on SIGTERM.
func TestServeFromEnvironmentStopsOnSIGTERM(t *testing.T) {
	dataDir := t.TempDir() + "/data"
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "LOCKWELL_CLI_TEST_MAIN=1", "LOCKWELL_DATA_DIR="+dataDir)
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
	require.NotEmpty(t, addr, "no listening line in %q", log)
	assert.Contains(t, strings.Join(log, "\n"), dataDir+"/admin.token", "says where the admin token is")
	fi, err := os.Stat(dataDir + "/admin.token")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	tok, err := os.ReadFile(dataDir + "/admin.token")
	require.NoError(t, err)
	assert.NotContains(t, strings.Join(log, "\n"), strings.TrimSpace(string(tok)), "the token is never logged")

	inv := invocation{env: map[string]string{"LOCKWELL_URL": "http://" + addr, "LOCKWELL_TOKEN": strings.TrimSpace(string(tok)), "LOCKWELL_CONFIG": "/nonexistent"}}
	ok(t, inv.run("secret", "create", "served", "k=v"))

	go func() {
		for lines.Scan() { // keep draining the log
		}
	}()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, exitCode(t, cmd))
}
