package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// The test binary doubles as the lockwell binary (LOCKWELL_CLI_TEST_MAIN=1)
// and as a child for "lockwell run" (LOCKWELL_CLI_TEST_CHILD=mode), so the
// tests need no other build.
func TestMain(m *testing.M) {
	if os.Getenv("LOCKWELL_CLI_TEST_MAIN") == "1" {
		os.Unsetenv("LOCKWELL_CLI_TEST_MAIN") // the child must not be lockwell again
		os.Exit(runMain(context.Background(), os.Args[1:], newApp()))
	}
	if mode := os.Getenv("LOCKWELL_CLI_TEST_CHILD"); mode != "" {
		os.Exit(testChild(mode))
	}
	os.Exit(runWithBinary(m))
}

// testChild is the program "lockwell run" starts in tests.
func testChild(mode string) int {
	switch {
	case mode == "env": // print the variables named in LOCKWELL_CLI_TEST_PRINT
		for _, name := range strings.Split(os.Getenv("LOCKWELL_CLI_TEST_PRINT"), ",") {
			v, ok := os.LookupEnv(name)
			fmt.Printf("%s=%q set=%v\n", name, v, ok)
		}
		fmt.Printf("args=%q\n", os.Args[1:])
		return 0
	case strings.HasPrefix(mode, "exit"):
		n, _ := strconv.Atoi(strings.TrimPrefix(mode, "exit"))
		return n
	case mode == "trap": // report the first forwarded signal, exit 42
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
		fmt.Println("ready")
		select {
		case s := <-sigs:
			fmt.Printf("got %s\n", s)
			return 42
		case <-time.After(2 * time.Minute): // only so that a lost signal cannot leave the child behind
			fmt.Println("no signal")
			return 1
		}
	case mode == "watch":
		return watchChild()
	case mode == "selfkill":
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Signal(syscall.SIGKILL)
		time.Sleep(5 * time.Second)
		return 1
	}
	return 2
}

// localServer is the real local server (SQLite in a temp dir) on a free
// loopback port, in-process.
type localServer struct {
	url, adminToken, dataDir string
}

func startServer(t *testing.T) *localServer {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	srv := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	return &localServer{url: srv.URL, adminToken: servertest.AdminToken(t, dir), dataDir: dir}
}

// invocation is one in-process run of the CLI.
type invocation struct {
	env      map[string]string
	stdin    string
	secrets  []string // answers to no-echo prompts
	terminal bool     // standard input is a terminal
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stderr %q", r.code, r.stderr)
}

func (inv invocation) run(args ...string) result {
	var out, errb bytes.Buffer
	a := &app{
		stdin: strings.NewReader(inv.stdin), stdout: &out, stderr: &errb,
		getenv:     func(k string) string { return inv.env[k] },
		isTerminal: func() bool { return inv.terminal },
	}
	answers := append([]string(nil), inv.secrets...)
	a.readSecret = func(prompt string) (string, error) {
		if len(answers) == 0 {
			return "", fmt.Errorf("unexpected prompt %q", prompt)
		}
		v := answers[0]
		answers = answers[1:]
		return v, nil
	}
	code := runMain(context.Background(), args, a)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// as returns an invocation authenticated with token against srv, with a
// private config path so the user's own configuration is never read.
func (srv *localServer) as(t *testing.T, token string) invocation {
	return invocation{env: map[string]string{
		"LOCKWELL_URL": srv.url, "LOCKWELL_TOKEN": token,
		"LOCKWELL_CONFIG": filepath.Join(t.TempDir(), "config.json"),
	}}
}

func ok(t *testing.T, r result) result {
	t.Helper()
	require.Equal(t, 0, r.code, "%s", r)
	return r
}

// oneLineError checks the CLI's error contract: an error's exit status
// (1-6, see exitCodeOf) and exactly one line
// on stderr starting with "lockwell: ".
func oneLineError(t *testing.T, r result, contains string) {
	t.Helper()
	assert.True(t, r.code >= exitError && r.code <= exitUnavailable, "%s", r)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	assert.True(t, strings.HasPrefix(r.stderr, "lockwell: "), "%q", r.stderr)
	assert.Contains(t, r.stderr, contains)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestPlainHTTPToAnotherHostWarns(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://127.0.0.1:1", false},
		{"http://localhost:1", false},
		{"http://[::1]:1", false},
		{"http://lockwell.example.com", true},
		{"https://lockwell.example.com", false},
	} {
		// Building the client is enough: no request is sent anywhere.
		var errb bytes.Buffer
		env := map[string]string{"LOCKWELL_URL": tc.url, "LOCKWELL_TOKEN": "lw_test", "LOCKWELL_CONFIG": filepath.Join(t.TempDir(), "c.json")}
		a := &app{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(k string) string { return env[k] }}
		_, err := a.client(context.Background())
		require.NoError(t, err, tc.url)
		assert.Equal(t, tc.warn, strings.Contains(errb.String(), "plain http"), "%s: %q", tc.url, errb.String())
		assert.NotContains(t, errb.String(), "lw_test", "the token is never printed")
	}
}
