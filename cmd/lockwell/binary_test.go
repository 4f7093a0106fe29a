package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// lockwellBin is the lockwell binary, built once per run of this package's
// tests by runWithBinary: the tests of issue 14's points run it as a user
// does, against a real server on loopback.
var lockwellBin string

// runWithBinary builds ./cmd/lockwell with go build -o into a temporary
// directory, runs the tests and removes it.
func runWithBinary(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lockwell-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	lockwellBin = filepath.Join(dir, "lockwell")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// -buildvcs=auto overrides a GOFLAGS=-buildvcs=false, so that a build in
	// a git checkout records its commit (for lockwell version).
	build := exec.Command(goTool, "build", "-buildvcs=auto", "-o", lockwellBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the lockwell binary:", err)
		return 1
	}
	return m.Run()
}

// binary is a way to run the built lockwell: its environment (nothing of
// the test's own but PATH), its standard input and its directory.
type binary struct {
	env   map[string]string
	stdin string
	dir   string
}

// newBinary returns a binary with a fresh HOME and configuration file, so
// that no user configuration is ever read.
func newBinary(t *testing.T) binary {
	home := t.TempDir()
	return binary{dir: home, env: map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": home,
		"LOCKWELL_CONFIG": filepath.Join(home, "config.json"),
	}}
}

// binaryFor is newBinary logged in to srv with token through the
// environment.
func (srv *localServer) binaryFor(t *testing.T, token string) binary {
	b := newBinary(t)
	b.env["LOCKWELL_URL"] = srv.url
	b.env["LOCKWELL_TOKEN"] = token
	return b
}

// with returns a copy of b with more variables ("" removes one).
func (b binary) with(kv ...string) binary {
	env := make(map[string]string, len(b.env)+len(kv)/2)
	for k, v := range b.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(env, kv[i])
		} else {
			env[kv[i]] = kv[i+1]
		}
	}
	b.env = env
	return b
}

// input returns a copy of b with stdin.
func (b binary) input(stdin string) binary {
	b.stdin = stdin
	return b
}

func (b binary) command(args ...string) *exec.Cmd {
	cmd := exec.Command(lockwellBin, args...)
	cmd.Dir = b.dir
	for k, v := range b.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(b.stdin)
	return cmd
}

// run runs lockwell with args and returns its output and exit status.
func (b binary) run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := b.command(args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

// fails checks a failure's exit status and its one line on stderr.
func fails(t *testing.T, r result, code int, contains string) result {
	t.Helper()
	require.Equal(t, code, r.code, "%s", r)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	require.True(t, strings.HasPrefix(r.stderr, "lockwell: "), "%q", r.stderr)
	require.Contains(t, r.stderr, contains)
	return r
}
