// Package rie runs a Lambda bootstrap under the AWS Lambda Runtime Interface
// Emulator (github.com/aws/aws-lambda-runtime-interface-emulator), without
// Docker: the emulator serves the Lambda Runtime API to the bootstrap and
// takes invocations over HTTP. Both of its listeners are bound to loopback.
//
// The emulator does no API Gateway translation: Invoke posts the event JSON
// and returns the function's raw response JSON. It starts the bootstrap on
// the first invocation, so the first Invoke is a cold start.
package rie

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Package is the emulator's module path and pinned version.
const Package = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// Binary is the emulator's executable name.
const Binary = "aws-lambda-rie"

// Find returns the emulator's path: $LOCKWELL_RIE, then dir/aws-lambda-rie
// for each of dirs, then $PATH, then $(go env GOPATH)/bin.
func Find(dirs ...string) (string, error) {
	if p := os.Getenv("LOCKWELL_RIE"); p != "" {
		return p, nil
	}
	for _, d := range dirs {
		if p := filepath.Join(d, Binary); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(Binary); err == nil {
		return p, nil
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, gp := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p := filepath.Join(gp, "bin", Binary); isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found; install it with: GOBIN=localdev/rie/bin go install %s", Binary, Package)
}

// Install installs the pinned emulator into dir with go install and returns
// its path. It needs the Go module proxy (or a warm module cache).
func Install(ctx context.Context, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "install", Package)
	cmd.Env = append(os.Environ(), "GOBIN="+abs, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", Package, err, out)
	}
	return filepath.Join(abs, Binary), nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Config describes one emulated function.
type Config struct {
	RIE       string   // the emulator's path
	Bootstrap string   // the function's bootstrap executable
	Env       []string // KEY=VALUE for the function, on top of this process's environment
	Name      string   // AWS_LAMBDA_FUNCTION_NAME; default "function"
	Timeout   time.Duration
	// Log receives the emulator's and the function's output; nil discards.
	Log io.Writer
}

// Emulator is a running emulator with its function.
type Emulator struct {
	cmd     *exec.Cmd
	url     string
	started time.Time
	done    chan struct{}
	logs    *syncBuffer
}

// Start starts the emulator on two free loopback ports and waits until it
// accepts invocations. The bootstrap itself starts on the first Invoke.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if cfg.Name == "" {
		cfg.Name = "function"
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	emu := cfg.RIE
	if strings.ContainsRune(emu, os.PathSeparator) {
		if emu, err = filepath.Abs(emu); err != nil {
			return nil, err
		}
	}
	// A free port can be taken between choosing and binding it; the
	// emulator then exits at once, and another pair of ports is tried.
	for try := 1; ; try++ {
		e, err := start(ctx, cfg, emu, bootstrap)
		if !errors.Is(err, errExitedEarly) || try == 3 {
			return e, err
		}
	}
}

// errExitedEarly marks an emulator that exited before it listened.
var errExitedEarly = errors.New("the emulator exited during start-up")

func start(ctx context.Context, cfg Config, emu, bootstrap string) (*Emulator, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	emuAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	apiAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	cmd := exec.Command(emu,
		"--runtime-interface-emulator-address", emuAddr,
		"--runtime-api-address", apiAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_FUNCTION_NAME="+cfg.Name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(cfg.Timeout/time.Second)),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_REGION="+envOr("AWS_REGION", "us-east-1"),
	)
	cmd.Env = append(cmd.Env, cfg.Env...)
	logs := &syncBuffer{}
	var out io.Writer = logs
	if cfg.Log != nil {
		out = io.MultiWriter(logs, cfg.Log)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A process group of its own, so Close stops the bootstrap with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	e := &Emulator{cmd: cmd, url: "http://" + emuAddr + "/2015-03-31/functions/function/invocations", done: make(chan struct{}), logs: logs}
	e.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.RIE, err)
	}
	go func() { _ = cmd.Wait(); close(e.done) }()
	if err := waitListening(ctx, emuAddr, e.done); err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("%w\nemulator output:\n%s", err, logs.String())
	}
	return e, nil
}

// Started is when the emulator process was started.
func (e *Emulator) Started() time.Time { return e.started }

// Logs returns what the emulator and the function printed so far.
func (e *Emulator) Logs() string { return e.logs.String() }

// Invoke posts event and returns the function's response payload.
func (e *Emulator) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: emulator answered %s: %s", resp.Status, body)
	}
	return body, nil
}

// BootstrapPID returns the pid of the function process the emulator started
// (after the first Invoke).
func (e *Emulator) BootstrapPID() (int, error) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", e.cmd.Process.Pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				return pid, nil
			}
		}
	}
	return 0, errors.New("the emulator has no child process (not invoked yet, or not on Linux)")
}

// RSS returns the resident set size of process pid in bytes (Linux).
func RSS(pid int) (int64, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.New("RSS is read from /proc; Linux only")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS line")
}

// Close stops the emulator and the function (SIGTERM, then SIGKILL after a
// second) and waits for them.
func (e *Emulator) Close() error {
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.done
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// startLimit bounds the wait for the emulator to listen: it starts in
// milliseconds on a quiet machine, and the wait ends at once if it exits.
const startLimit = time.Minute

func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startLimit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errExitedEarly
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return fmt.Errorf("the emulator did not listen on %s within %s", addr, startLimit)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
