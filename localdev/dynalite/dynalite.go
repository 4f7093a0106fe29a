// Package dynalite runs dynalite, an in-memory DynamoDB implementation on
// Node (npm package dynalite, installed under localdev/node_modules by
// `npm ci --prefix localdev`), on a free loopback port: for the DynamoDB
// backend's tests, `make bench` and `make dev STORE=dynamodb`.
//
// dynalite speaks the DynamoDB JSON 1.0 protocol to the official SDK client.
// It has no transactions (TransactWriteItems, TransactGetItems), no PartiQL,
// no TTL, and ignores ReturnValuesOnConditionCheckFailure; see
// shared/reference/local-emulators.md. Point the SDK's default chain at it
// with AWS_ENDPOINT_URL_DYNAMODB=p.Endpoint() and any static credentials.
package dynalite

import (
	"context"
	"errors"
	"fmt"
	"io"
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

	"github.com/lockwell/lockwell/localdev/testenv"
)

// Options configure Start. The zero value runs in memory from the
// repository's localdev/node_modules.
type Options struct {
	// Bin is the dynalite executable; empty finds
	// localdev/node_modules/.bin/dynalite above the working directory.
	Bin string
	// Dir persists tables there (dynalite --path); empty keeps them in
	// memory.
	Dir string
	// Port to listen on at 127.0.0.1; 0 picks a free one.
	Port int
	// Log receives dynalite's output; nil discards it.
	Log io.Writer
}

// Process is a running dynalite.
type Process struct {
	cmd      *exec.Cmd
	endpoint string
	exited   chan struct{}
}

// ErrNotInstalled is returned by Start when the dynalite executable is
// missing: run `npm ci --prefix localdev`.
var ErrNotInstalled = errors.New("dynalite is not installed: run `npm ci --prefix localdev` (make deps)")

// FindBin returns localdev/node_modules/.bin/dynalite in the nearest
// directory at or above the working directory that has one, or
// ErrNotInstalled.
func FindBin() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		bin := filepath.Join(dir, "localdev", "node_modules", ".bin", "dynalite")
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", ErrNotInstalled // the module root: no further up
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotInstalled
		}
		dir = parent
	}
}

// Start starts dynalite on 127.0.0.1 with table operations that complete at
// once (--createTableMs 0 and friends) and waits until it answers its
// health check. Stop it with Stop. Errors: ErrNotInstalled, or why it did
// not come up.
func Start(ctx context.Context, opts Options) (*Process, error) {
	bin := opts.Bin
	if bin == "" {
		var err error
		if bin, err = FindBin(); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(bin); err != nil {
		return nil, ErrNotInstalled
	}
	var lastErr error
	for range 3 { // a free port can be taken between choosing and binding it
		port := opts.Port
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		p, err := start(ctx, bin, port, opts)
		if err == nil || opts.Port != 0 {
			return p, err
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(ctx context.Context, bin string, port int, opts Options) (*Process, error) {
	args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
	if opts.Dir != "" {
		args = append(args, "--path", opts.Dir)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = nodeEnv(bin)
	out := opts.Log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop ends node and anything it started, nothing else
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	p := &Process{cmd: cmd, endpoint: "http://127.0.0.1:" + strconv.Itoa(port), exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	if err := p.waitHealthy(ctx, startLimit); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// nodeEnv puts the node that ships in localdev/node_modules (if any) first
// on PATH, so dynalite's "#!/usr/bin/env node" finds a known Node.
func nodeEnv(bin string) []string {
	env := os.Environ()
	binDir := filepath.Dir(bin)
	if _, err := os.Stat(filepath.Join(binDir, "node")); err != nil {
		return env
	}
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + binDir + string(os.PathListSeparator) + v
			return env
		}
	}
	return append(env, "PATH="+binDir)
}

// startLimit bounds the wait for dynalite to answer its health check. Node
// starts it in about a second; a loaded CI machine can take many times that,
// and the wait ends at once when the process exits.
const startLimit = time.Minute

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (p *Process) waitHealthy(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.endpoint+"/", nil)
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "healthy") {
				return nil
			}
		}
		select {
		case <-p.exited:
			return errors.New("dynalite exited before it became healthy")
		case <-ctx.Done():
			return fmt.Errorf("dynalite did not become healthy on %s within %s", p.endpoint, limit)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Endpoint returns dynalite's URL, for AWS_ENDPOINT_URL_DYNAMODB.
func (p *Process) Endpoint() string { return p.endpoint }

// Stop ends dynalite (SIGTERM, then SIGKILL after two seconds) and waits
// for it. Safe to call more than once.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	pgid := -p.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
	return nil
}

// ForTest starts dynalite for a test and stops it when the test ends. When
// dynalite is not installed the test is skipped, except when the environment
// variable CI is "true": in CI nothing may skip, so the test fails.
func ForTest(t testing.TB) *Process {
	t.Helper()
	p, err := Start(context.Background(), Options{})
	if errors.Is(err, ErrNotInstalled) {
		testenv.Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("dynalite: %v", err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}
