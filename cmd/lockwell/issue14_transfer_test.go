package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
)

// exportDocument writes an export document of n secrets, every third one
// private, with values that need quoting, and returns it with the values
// by label.
func exportDocument(t *testing.T, n int) (string, map[string]map[string]string) {
	t.Helper()
	want := map[string]map[string]string{}
	doc := exportDoc{Format: exportFormat}
	for i := range n {
		s := exportedSecret{Name: fmt.Sprintf("svc-%05d", i), Private: i%3 == 0, Values: map[string]string{
			"user": fmt.Sprintf("user%d", i), "password": fmt.Sprintf("p@ss: %d\n\"quoted\" #%d", i, i),
		}}
		doc.Secrets = append(doc.Secrets, s)
		want[s.label()] = s.Values
	}
	data, err := marshalYAML(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "seed.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path, want
}

// readExport parses an export document into values by label.
func readExport(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	secrets, err := parseExport(f)
	require.NoError(t, err)
	got := map[string]map[string]string{}
	for _, s := range secrets {
		got[s.label()] = s.Values
	}
	return got
}

// 10,000 secrets round-trip exactly: import into one server, export --all,
// import that export into a second server, export again. The documents are
// megabytes, far over the old 256 KiB limit.
func TestBinaryTenThousandSecretsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 20,000 secrets (about a minute); not in -short")
	}
	const n = 10000
	seed, want := exportDocument(t, n)
	info, err := os.Stat(seed)
	require.NoError(t, err)
	require.Greater(t, info.Size(), int64(256<<10), "the document is over the old limit")

	// The servers are lockwell serve processes: the same server, without
	// the race detector's cost in this test process.
	first, second := serveProcess(t), serveProcess(t)
	a, b := first.binaryFor(t, first.adminToken), second.binaryFor(t, second.adminToken)
	start := time.Now()
	r := ok(t, a.run(t, "import", seed))
	assert.Contains(t, r.stdout, fmt.Sprintf("Imported: %d created or updated, 0 left as they were.", n))
	imported := time.Since(start)

	exported := filepath.Join(t.TempDir(), "all.yaml")
	start = time.Now()
	r = ok(t, a.run(t, "export", "--all", "-f", exported))
	assert.Contains(t, r.stderr, fmt.Sprintf("Exported %d secrets", n))
	exportTook := time.Since(start)
	assert.Equal(t, want, readExport(t, exported), "the export is the seed")

	ok(t, b.run(t, "import", exported))
	again := filepath.Join(t.TempDir(), "again.json")
	ok(t, b.run(t, "export", "--all", "-o", "json", "-f", again))
	assert.Equal(t, want, readExport(t, again), "exactly the same after the round trip")

	// importing again: everything exists, so nothing is imported (fail), or
	// all is skipped or unchanged
	r = fails(t, b.run(t, "import", exported), exitConflict, fmt.Sprintf("%d secrets already exist, so nothing was imported", n))
	assert.Contains(t, r.stderr, "and 9990 more")
	r = ok(t, b.run(t, "import", exported, "--on-conflict", "skip"))
	assert.Contains(t, r.stdout, fmt.Sprintf("Imported: 0 created or updated, %d left as they were.", n))
	t.Logf("%d secrets: import %s, export --all %s (document %d bytes)", n, imported.Round(time.Millisecond), exportTook.Round(time.Millisecond), info.Size())
}

// serveProcess runs the built lockwell serve on a free loopback port with
// a data directory of its own, until the end of the test, and returns it
// as a localServer.
func serveProcess(t *testing.T) *localServer {
	t.Helper()
	dataDir := filepath.Join(t.TempDir(), "data")
	serve := newBinary(t).command("serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	stdout, err := serve.StdoutPipe()
	require.NoError(t, err)
	serve.Stderr = io.Discard
	require.NoError(t, serve.Start())
	t.Cleanup(func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	addr, _, found := strings.Cut(strings.TrimPrefix(line, "Lockwell on "), " ")
	require.True(t, found, line)
	token, err := os.ReadFile(filepath.Join(dataDir, "admin.token"))
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return &localServer{url: addr, adminToken: strings.TrimSpace(string(token)), dataDir: dataDir}
}

// On a terminal, export --all and import draw a progress bar on stderr;
// elsewhere they print none.
func TestBinaryProgressOnATerminal(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	seed, _ := exportDocument(t, 40)

	onTerminal := func(args ...string) (string, string) {
		ptmx, tty, err := pty.Open()
		require.NoError(t, err)
		defer ptmx.Close()
		cmd := lw.command(args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, tty
		require.NoError(t, cmd.Start())
		tty.Close()
		var drawn bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&drawn, ptmx); close(copied) }()
		require.NoError(t, cmd.Wait())
		<-copied // ends when the last writer (the child) has gone: EIO
		return out.String(), drawn.String()
	}
	_, bar := onTerminal("import", seed)
	assert.Contains(t, bar, "\rimporting [")
	assert.Contains(t, bar, "] 40/40")
	_, bar = onTerminal("export", "--all", "-f", filepath.Join(t.TempDir(), "x.yaml"))
	assert.Contains(t, bar, "\rexporting [")
	assert.Contains(t, bar, "] 40/40")

	r := ok(t, lw.run(t, "export", "--all", "-f", filepath.Join(t.TempDir(), "y.yaml")))
	assert.NotContains(t, r.stderr, "[", "no bar when stderr is not a terminal")
}

// lockwell serve (what make dev runs) prints the login command; the
// printed command works; both health paths answer; a busy port is one line
// that says how to choose another.
func TestBinaryServeQuickStart(t *testing.T) {
	lw := newBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	serve := lw.command("serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir)
	stdout, err := serve.StdoutPipe()
	require.NoError(t, err)
	serve.Stderr = io.Discard
	require.NoError(t, serve.Start())
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })

	lines := bufio.NewReader(stdout)
	first, err := lines.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(first, "Lockwell on http://127.0.0.1:"), first)
	login, err := lines.ReadString('\n')
	require.NoError(t, err)
	login = strings.TrimSpace(login)
	tokenFile := filepath.Join(dataDir, "admin.token")
	require.True(t, strings.HasPrefix(login, "lockwell login --url http://127.0.0.1:"), login)
	require.True(t, strings.HasSuffix(login, " --token-stdin < "+tokenFile), login)
	base := strings.Fields(login)[3]

	for _, path := range []string{"/healthz", "/api/v1/healthz"} {
		resp, err := http.Get(base + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	token, err := os.ReadFile(tokenFile)
	require.NoError(t, err)
	r := ok(t, lw.input(string(token)).run(t, "login", "--url", base, "--token-stdin"))
	assert.Contains(t, r.stdout, "as admin (role admin)")

	// the same address again: in use
	u, err := url.Parse(base)
	require.NoError(t, err)
	r = fails(t, lw.run(t, "serve", "--addr", u.Host, "--data-dir", filepath.Join(t.TempDir(), "other")), exitError, u.Host+" is in use by another program")
	assert.Contains(t, r.stderr, "make dev ADDR=")
	assert.Equal(t, 1, strings.Count(r.stderr, u.Host))

	require.NoError(t, serve.Process.Signal(syscall.SIGTERM))
	require.NoError(t, serve.Wait(), "a clean stop")
}

// migrate plan says which file it read and fails on a missing one unless
// --allow-missing; plan and run use the same words and summary.
func TestBinaryMigratePlan(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	missing := filepath.Join(t.TempDir(), "nope", "secrets.yaml")
	source := (&url.URL{Scheme: "zenml-local", Path: missing}).String()
	fails(t, lw.run(t, "migrate", "plan", "--source", source), exitNotFound, "the local secrets file "+missing+" does not exist")
	r := ok(t, lw.run(t, "migrate", "plan", "--source", source, "--allow-missing"))
	assert.Contains(t, r.stderr, "it does not exist, so it is read as empty (--allow-missing)")
	assert.Contains(t, r.stdout, "If run now: 0 migrated, 0 skipped, 0 failed")

	// the local flavor without ZENML_CONFIG_PATH: its default file is named
	configDir := t.TempDir()
	id := "7c9b1c4e-3f1a-4a57-9c55-2b3a5d1e0f11"
	r = fails(t, lw.with("ZENML_CONFIG_PATH", configDir).run(t, "migrate", "plan", "--component-flavor", "local", "--component-id", id), exitNotFound,
		filepath.Join(configDir, "local_stores", id, "secrets.yaml")+" does not exist")

	// one bad legacy name fails that entry in plan and in run alike
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, append(legacytest.Reference(), legacytest.Secret{Name: "bad name", Schema: "arbitrary", Values: map[string]any{"k": "v"}}), nil)
	source = (&url.URL{Scheme: "zenml-local", Path: path}).String()
	plan := lw.run(t, "migrate", "plan", "--source", source, "-o", "json")
	require.Equal(t, exitError, plan.code, "%s", plan)
	assert.Contains(t, plan.stderr, "Reading the local secrets file "+path+".")
	var items []struct{ Name, Outcome, Reason string }
	require.NoError(t, json.Unmarshal([]byte(plan.stdout), &items))
	table := lw.run(t, "migrate", "plan", "--source", source)
	assert.Contains(t, table.stdout, "If run now: 3 migrated, 0 skipped, 1 failed, 0 not migratable, 0 pending (of 4)")
	run := lw.run(t, "migrate", "run", "--source", source, "-o", "json")
	require.Equal(t, exitError, run.code, "%s", run)
	var results []struct{ Name, Outcome, Reason string }
	require.NoError(t, json.Unmarshal([]byte(run.stdout), &results))
	assert.Equal(t, results, items, "plan and run agree entry by entry")
	fails(t, lw.run(t, "migrate", "plan", "--source", source, "-o", "xml"), exitError, "-o is the output format: table or json")
	r = ok(t, lw.run(t, "migrate", "plan", "--source", source, "mlflow_basic"))
	assert.Regexp(t, `mlflow_basic .* migrated +none +already migrated`, r.stdout, "a re-plan after the run")
}
