package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lockwell/lockwell/shared/server"
)

// The bench measures what users run when cfg.Processes is set: the server
// and the bare baseline each in a process of its own, as `lockwell serve`
// runs (request log on, written as text to stderr), driven by the load
// generator in this process. The children are this program run again in a
// role (roleEnv), so nothing needs building first.
const roleEnv = "LOCKWELL_BENCH_ROLE"

// The roles of a child process.
const (
	roleServer = "server" // server.Run over the data directory in dataDirEnv, as `lockwell serve`
	roleBare   = "bare"   // the bare net/http handler
)

const (
	dataDirEnv  = "LOCKWELL_BENCH_DATA_DIR"
	storeURLEnv = "LOCKWELL_BENCH_STORE_URL"
)

// baseBody is what the bare handler answers: a small JSON body of the size
// of a secret's metadata.
var baseBody = []byte(`{"id":"0190b5a2-7c3e-7d1a-9c1e-2f3a4b5c6d7e","name":"baseline","version":1}` + "\n")

// bareHandler is the baseline: net/http with nothing of Lockwell's.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(baseBody)
	})
}

// runRole runs this process as a child when roleEnv says so, printing
// "READY <addr>" once it listens, until SIGTERM. It reports whether it ran.
func runRole() bool {
	role := os.Getenv(roleEnv)
	if role == "" {
		return false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ready := func(addr string) { fmt.Printf("READY %s\n", addr) }
	var err error
	switch role {
	case roleServer:
		// As cmd/lockwell's serve: a text request log to stderr, which the
		// parent discards after it is written.
		dir := os.Getenv(dataDirEnv)
		err = server.Run(ctx, server.Config{
			Addr: "127.0.0.1:0", DataDir: dir, Deployment: deployment(dir, os.Getenv(storeURLEnv)),
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), Ready: ready,
		})
	case roleBare:
		var ln net.Listener
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err == nil {
			srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: bareHandler()}
			go func() { <-ctx.Done(); _ = srv.Close() }()
			ready(ln.Addr().String())
			if err = srv.Serve(ln); err == http.ErrServerClosed {
				err = nil
			}
		}
	default:
		err = fmt.Errorf("unknown role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		os.Exit(1)
	}
	return true
}

// startChild starts this program in role and returns its base URL once it
// listens, and a stop function that ends it with SIGTERM and waits.
func startChild(ctx context.Context, role, dataDir, storeURL string, log io.Writer) (string, func() error, error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, dataDirEnv+"="+dataDir, storeURLEnv+"="+storeURL)
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	lines := bufio.NewScanner(out)
	addr := ""
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "READY "); ok {
			addr = a
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if addr == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return "", nil, fmt.Errorf("the %s process exited before it listened", role)
	}
	var once sync.Once
	var stopErr error
	return "http://" + addr, func() error {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			stopErr = cmd.Wait()
		})
		return stopErr
	}, nil
}
