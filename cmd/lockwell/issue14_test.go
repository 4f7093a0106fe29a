package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each kind of failure has its own exit status, documented in README.md:
// 0 ok, 1 error, 2 usage, 3 not found, 4 authentication or permission, 5
// conflict or precondition, 6 server unreachable.
func TestBinaryExitCodes(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.run(t, "secret", "create", "db", "user=admin"))

	fails(t, lw.run(t, "secret", "nosuchcmd"), exitUsage, `unknown command "nosuchcmd" for "lockwell secret"`)
	fails(t, lw.run(t, "secret", "gett", "db"), exitUsage, "did you mean get?")
	fails(t, lw.run(t, "nosuchcmd"), exitUsage, `unknown command "nosuchcmd" for "lockwell"`)
	fails(t, lw.run(t, "secret", "get"), exitUsage, "accepts 1 arg(s), received 0 (see lockwell secret get --help)")
	fails(t, lw.run(t, "secret", "list", "--nosuchflag"), exitUsage, "unknown flag: --nosuchflag")
	fails(t, lw.run(t, "secret", "get", "nope"), exitNotFound, "no secret named nope")
	fails(t, lw.with("LOCKWELL_TOKEN", "lw_not-a-real-token").run(t, "secret", "list"), exitDenied, "")
	fails(t, lw.run(t, "secret", "create", "db", "user=other"), exitConflict, "already exists")
	fails(t, lw.run(t, "secret", "create", "bad name", "k=v"), exitError, "not allowed")

	// a port nothing listens on: unreachable
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	fails(t, lw.with("LOCKWELL_URL", closed).run(t, "secret", "list"), exitUnavailable, "cannot reach")

	// a group without a subcommand shows its help and succeeds
	r := ok(t, lw.run(t, "secret"))
	assert.Contains(t, r.stdout, "Available Commands:")
	// the root help documents the codes and completion
	r = ok(t, lw.run(t, "--help"))
	assert.Contains(t, r.stdout, "Exit status: 0 success, 1 error, 2 usage")
	assert.Contains(t, r.stdout, "lockwell completion bash")
}

// lockwell run never replaces a variable the environment has unless told
// to; --prefix and --env name variables; --command runs a shell line.
func TestBinaryRunEnvironmentSafety(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.run(t, "secret", "create", "db", "user=alice", "password=pw 1", "path=/evil", "home=/nowhere"))

	r := fails(t, lw.run(t, "run", "--secret", "db", "--", "sh", "-c", "echo $PATH"), exitConflict, "not replacing variables the environment already has: HOME (from db.home), PATH (from db.path)")
	assert.Contains(t, r.stderr, "--prefix")
	assert.Contains(t, r.stderr, "--override")

	// --prefix: DB_USER, DB_PASSWORD, DB_PATH, DB_HOME; PATH untouched
	r = ok(t, lw.run(t, "run", "--secret", "db", "--prefix", "DB_", "--", "sh", "-c", `echo "$DB_USER|$DB_PASSWORD|$DB_PATH|$DB_HOME"; command -v sh >/dev/null && echo path-intact`))
	assert.Equal(t, "alice|pw 1|/evil|/nowhere\npath-intact\n", r.stdout)

	// --env with the program's own names, as the README's psql example does
	r = ok(t, lw.run(t, "run", "--env", "PGPASSWORD={{db.password}}", "--env", "PGUSER={{db.user}}", "--", "sh", "-c", `echo "$PGUSER:$PGPASSWORD"`))
	assert.Equal(t, "alice:pw 1\n", r.stdout)

	// --command runs a shell line
	r = ok(t, lw.run(t, "run", "--env", "PGUSER={{db.user}}", "--command", `echo first && echo "$PGUSER"`))
	assert.Equal(t, "first\nalice\n", r.stdout)
	fails(t, lw.run(t, "run", "--command", "true", "--", "true"), exitUsage, "not both")
	fails(t, lw.run(t, "run", "--secret", "db"), exitUsage, "run needs a command")
	fails(t, lw.run(t, "run", "--prefix", "1X", "--", "true"), exitUsage, "--prefix must be")

	// --override replaces, as asked
	r = ok(t, lw.with("USER", "inherited").run(t, "run", "--override", "--secret", "db:user", "--", "sh", "-c", `echo "$USER"`))
	assert.Equal(t, "alice\n", r.stdout)
	fails(t, lw.with("USER", "inherited").run(t, "run", "--secret", "db:user", "--", "true"), exitConflict, "USER (from db.user)")
}

// --private and --public pick between a private and a public secret of one
// name on every command that takes a name; delete says which it deleted.
func TestBinaryVisibilityPickers(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.run(t, "secret", "create", "db", "who=public"))
	ok(t, lw.run(t, "secret", "create", "db", "who=private", "--private"))

	get := func(args ...string) string {
		return ok(t, lw.run(t, append([]string{"secret", "get", "db", "--key", "who"}, args...)...)).stdout
	}
	assert.Equal(t, "private", get(), "yours first")
	assert.Equal(t, "private", get("--private"))
	assert.Equal(t, "private", get("-p"))
	assert.Equal(t, "public", get("--public"))
	assert.Equal(t, "public", get("--private=false"), "as zenml's get -p false")
	fails(t, lw.run(t, "secret", "get", "db", "--private", "--public"), exitUsage, "exclude each other")

	ok(t, lw.run(t, "secret", "update", "db", "who=public2", "--public"))
	assert.Equal(t, "public2", get("--public"))
	assert.Equal(t, "private", get("--private"))

	r := ok(t, lw.input("x: '{{db.who}}'\n").run(t, "resolve", "-", "--public"))
	assert.Equal(t, "x: 'public2'\n", r.stdout)
	r = ok(t, lw.input("x: '{{db.who}}'\n").run(t, "resolve", "-"))
	assert.Equal(t, "x: 'private'\n", r.stdout)
	r = ok(t, lw.run(t, "run", "--public", "--env", "W={{db.who}}", "--", "sh", "-c", "echo $W"))
	assert.Equal(t, "public2\n", r.stdout)
	r = ok(t, lw.run(t, "secret", "export", "db", "--public", "-o", "env"))
	assert.Equal(t, "who=public2\n", r.stdout)

	// deleting by name says which one, and that the other keeps the name
	r = ok(t, lw.run(t, "secret", "delete", "db", "-y"))
	assert.Contains(t, r.stdout, "Deleted private secret db (id ")
	assert.Contains(t, r.stderr, "A public secret named db remains; delete it with --public.")
	fails(t, lw.run(t, "secret", "delete", "db", "-y", "--private"), exitNotFound, "you have no private secret named db")
	r = ok(t, lw.run(t, "secret", "delete", "db", "-y", "--public"))
	assert.Contains(t, r.stdout, "Deleted public secret db (id ")
	assert.Empty(t, r.stderr)
}

// -o is the output format everywhere; files are -f/--output-file.
func TestBinaryOutputFlagIsTheFormat(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.run(t, "secret", "create", "db", "user=admin", "password=pw"))

	r := ok(t, lw.run(t, "export", "--all", "-o", "json"))
	var doc exportDoc
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &doc), "JSON on stdout")
	assert.Len(t, doc.Secrets, 1)
	_, err := os.Stat(filepath.Join(lw.dir, "json"))
	assert.True(t, os.IsNotExist(err), "no file named json")

	file := filepath.Join(t.TempDir(), "all.yaml")
	r = ok(t, lw.run(t, "export", "--all", "--output-file", file))
	assert.Contains(t, r.stderr, "Exported 1 secrets to "+file)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Contains(t, string(data), "format: lockwell.secrets/v1")
	fails(t, lw.run(t, "export", "--all", "-o", file), exitUsage, "-o is the output format (yaml or json)")

	r = ok(t, lw.run(t, "secret", "export", "db", "-o", "json"))
	assert.JSONEq(t, `{"user":"admin","password":"pw"}`, r.stdout)
	out := filepath.Join(t.TempDir(), "db.env")
	ok(t, lw.run(t, "secret", "export", "db", "-f", out))
	data, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "password=pw\nuser=admin\n", string(data))

	r = ok(t, lw.input(`{"u": "{{db.user}}"}`).run(t, "resolve", "-", "-o", "json"))
	assert.JSONEq(t, `{"u": "admin"}`, r.stdout)
	rendered := filepath.Join(t.TempDir(), "rendered.yaml")
	ok(t, lw.input("u: '{{db.user}}'\n").run(t, "resolve", "-", "-f", rendered))
	data, err = os.ReadFile(rendered)
	require.NoError(t, err)
	assert.Equal(t, "u: 'admin'\n", string(data))
	fails(t, lw.input("u: 1\n").run(t, "resolve", "-", "-o", rendered), exitUsage, "write to a file with -f/--output-file")
	fails(t, lw.run(t, "secret", "list", "-o", "xml"), exitError, "-o must be table, json or yaml")
}

// zenml secret habits: --key=value arguments and rename --new-name.
func TestBinaryZenMLHabits(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.run(t, "secret", "create", "db", "--user=admin", "--password=p=w", "--private"))
	r := ok(t, lw.run(t, "secret", "get", "db", "-o", "json"))
	var g getJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &g))
	assert.Equal(t, map[string]string{"user": "admin", "password": "p=w"}, g.Values)
	assert.True(t, g.Private, "--private stays a flag")

	ok(t, lw.run(t, "secret", "update", "db", "--port=5432"))
	assert.Equal(t, "5432", ok(t, lw.run(t, "secret", "get", "db", "--key", "port")).stdout)

	r = ok(t, lw.run(t, "secret", "rename", "db", "--new-name", "database"))
	assert.Contains(t, r.stdout, "Renamed private secret db to database")
	ok(t, lw.run(t, "secret", "rename", "database", "-n", "db2"))
	ok(t, lw.run(t, "secret", "rename", "db2", "db3"))
	fails(t, lw.run(t, "secret", "rename", "db3"), exitUsage, "rename needs the new name")
	fails(t, lw.run(t, "secret", "rename", "db3", "x", "--new-name", "y"), exitUsage, "give the new name once")
}

// login says who you are; whoami and version exist.
func TestBinaryWhoamiVersionLogin(t *testing.T) {
	srv := startServer(t)
	lw := newBinary(t)
	r := ok(t, lw.input(srv.adminToken+"\n").run(t, "login", "--url", srv.url, "--token-stdin"))
	assert.Contains(t, r.stdout, "Logged in to "+srv.url+" as admin (role admin); settings saved in ")
	assert.True(t, strings.HasSuffix(r.stdout, " (mode 0600).\n"), "%q", r.stdout)

	r = ok(t, lw.run(t, "whoami"))
	assert.Equal(t, "admin (role admin) on "+srv.url+", profile default\n", r.stdout)
	r = ok(t, lw.run(t, "whoami", "-o", "json"))
	assert.JSONEq(t, `{"user":"admin","role":"admin","url":"`+srv.url+`","profile":"default"}`, r.stdout)

	r = ok(t, lw.run(t, "version"))
	assert.True(t, strings.HasPrefix(r.stdout, "lockwell "), r.stdout)
	// The go command stamps the commit when the module is in a git
	// checkout whose .git is a directory (not in a git worktree, whose .git
	// is a file).
	gitDir, _ := os.Stat(filepath.Join("..", "..", ".git"))
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil && gitDir != nil && gitDir.IsDir() {
		assert.Contains(t, r.stdout, "(commit "+strings.TrimSpace(string(head)), "built in a git checkout, the binary names its commit")
	} else {
		assert.Contains(t, r.stdout, "commit unknown")
	}

	// a wrong token: the hint is given once, and login does not tell you
	// to run login
	r = fails(t, lw.input("lw_wrong\n").run(t, "login", "--url", srv.url, "--token-stdin"), exitDenied, "")
	assert.NotContains(t, r.stderr, "run lockwell login")
	r = fails(t, lw.with("LOCKWELL_TOKEN", "lw_wrong").run(t, "secret", "list"), exitDenied, "")
	assert.Equal(t, 1, strings.Count(r.stderr, "lockwell login"), "%q", r.stderr)
	r = fails(t, newBinary(t).with("LOCKWELL_URL", srv.url).run(t, "secret", "list"), exitDenied, "no API token")
	assert.Equal(t, 1, strings.Count(r.stderr, "lockwell login"), "%q", r.stderr)
}

// Named profiles hold several servers in one configuration file.
func TestBinaryProfiles(t *testing.T) {
	dev, prod := startServer(t), startServer(t)
	lw := newBinary(t)
	ok(t, lw.input(dev.adminToken+"\n").run(t, "login", "--url", dev.url, "--token-stdin"))
	r := ok(t, lw.input(prod.adminToken+"\n").run(t, "login", "--profile", "prod", "--url", prod.url, "--token-stdin"))
	assert.Regexp(t, `^Logged in to \S+ as admin \(role admin\); profile prod saved in \S+ \(mode 0600\)\. Use it with --profile prod or LOCKWELL_PROFILE=prod\.\n$`, r.stdout,
		"one sentence per statement, none ending in a dangling parenthesis")

	ok(t, lw.run(t, "secret", "create", "where", "is=dev"))
	ok(t, lw.run(t, "--profile", "prod", "secret", "create", "where", "is=prod"))
	assert.Equal(t, "dev", ok(t, lw.run(t, "secret", "get", "where", "--key", "is")).stdout)
	assert.Equal(t, "prod", ok(t, lw.run(t, "secret", "get", "where", "--key", "is", "--profile", "prod")).stdout)
	assert.Equal(t, "prod", ok(t, lw.with("LOCKWELL_PROFILE", "prod").run(t, "secret", "get", "where", "--key", "is")).stdout)
	assert.Contains(t, ok(t, lw.with("LOCKWELL_PROFILE", "prod").run(t, "whoami")).stdout, prod.url+", profile prod")

	fails(t, lw.run(t, "--profile", "staging", "secret", "list"), exitError, "no saved login named staging")
	fails(t, lw.run(t, "--profile", "bad/name", "secret", "list"), exitError, "a profile name is")

	data, err := os.ReadFile(lw.env["LOCKWELL_CONFIG"])
	require.NoError(t, err)
	var file map[string]any
	require.NoError(t, json.Unmarshal(data, &file))
	assert.Equal(t, dev.url, file["url"], "the default profile stays at the top level")
	assert.Contains(t, file["profiles"], "prod")

	// logout of one profile leaves the other
	ok(t, lw.run(t, "logout", "--profile", "prod"))
	fails(t, lw.run(t, "--profile", "prod", "secret", "list"), exitDenied, "no API token")
	ok(t, lw.run(t, "secret", "list"))
}

// -i without a terminal reads values from standard input lines.
func TestBinaryInteractiveWithoutATerminal(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.input("s3cret\ntok en\n").run(t, "secret", "create", "db", "user=admin", "password", "token", "-i"))
	r := ok(t, lw.run(t, "secret", "get", "db", "-o", "json"))
	var g getJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &g))
	assert.Equal(t, map[string]string{"user": "admin", "password": "s3cret", "token": "tok en"}, g.Values)

	ok(t, lw.input("a=1\nb=two words\n").run(t, "secret", "create", "kv", "-i"))
	assert.Equal(t, "two words", ok(t, lw.run(t, "secret", "get", "kv", "--key", "b")).stdout)
	fails(t, lw.input("only-one\n").run(t, "secret", "create", "x", "k1", "k2", "-i"), exitError, "ended before the value of k2")
	fails(t, lw.input("novalue\n").run(t, "secret", "create", "x", "-i"), exitError, "line 1 has no =")
}

// A secret needs a key; {{db}} without a key fails the reference check.
func TestBinaryEmptySecretAndKeylessReference(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	fails(t, lw.run(t, "secret", "create", "emptyone"), exitUsage, "a secret needs at least one key")
	fails(t, lw.input("").run(t, "secret", "create", "emptyone", "-i"), exitUsage, "a secret needs at least one key")
	fails(t, lw.run(t, "secret", "get", "emptyone"), exitNotFound, "no secret named emptyone")

	ok(t, lw.run(t, "secret", "create", "db", "user=admin"))
	for _, level := range []string{"none", "secret", "key"} {
		r := lw.input("a: '{{db}}'\nb: '{{db.user}}'\n").run(t, "resolve", "-", "--check", level)
		require.Equal(t, exitError, r.code, "%s: %s", level, r)
		assert.Contains(t, r.stderr, "a: {{db}} names no key; write {{db.KEY}}")
	}
}

// Secret names complete from the server; completion is in the help.
func TestBinaryCompletion(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	ok(t, lw.run(t, "secret", "create", "db", "k=v"))
	ok(t, lw.run(t, "secret", "create", "dbx", "k=v", "--private"))
	ok(t, lw.run(t, "secret", "create", "other", "k=v"))

	r := ok(t, lw.run(t, "__complete", "secret", "get", "d"))
	assert.Contains(t, r.stdout, "db\tpublic\n")
	assert.Contains(t, r.stdout, "dbx\tprivate\n")
	assert.NotContains(t, r.stdout, "other")
	r = ok(t, lw.run(t, "__complete", "secret", "delete", "--public", ""))
	assert.Contains(t, r.stdout, "other\tpublic\n")
	assert.NotContains(t, r.stdout, "dbx")
	r = ok(t, lw.run(t, "__complete", "run", "--secret", "o"))
	assert.Contains(t, r.stdout, "other\tpublic\n")
	r = ok(t, lw.run(t, "completion", "bash"))
	assert.Contains(t, r.stdout, "__start_lockwell")
	assert.Contains(t, ok(t, lw.run(t, "--help")).stdout, "completion")
}

// One wording for a missing secret wherever a name is looked up.
func TestBinaryOneWordingForAMissingSecret(t *testing.T) {
	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	const missing = "no secret named nope: neither a private one of yours nor a public one"
	fails(t, lw.run(t, "secret", "get", "nope"), exitNotFound, missing)
	fails(t, lw.run(t, "secret", "delete", "nope", "-y"), exitNotFound, missing)
	fails(t, lw.run(t, "secret", "update", "nope", "k=v"), exitNotFound, missing)
	fails(t, lw.run(t, "run", "--secret", "nope", "--", "true"), exitNotFound, "--secret nope: "+missing)
	fails(t, lw.run(t, "run", "--env", "X={{nope.k}}", "--", "true"), exitNotFound, "--env X: secret reference {{nope.k}}: "+missing)
	fails(t, lw.input("x: '{{nope.k}}'\n").run(t, "resolve", "-"), exitNotFound, missing)
}

// A build with -tags nocloud links no cloud SDK, is much smaller, and
// serves and talks to the API like the full one; admin and migrate say how
// to get them.
func TestBinaryWithoutCloudSDKs(t *testing.T) {
	lite := filepath.Join(t.TempDir(), "lockwell")
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	build := exec.Command(goTool, "build", "-tags", "nocloud", "-o", lite, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	mods, err := exec.Command(goTool, "version", "-m", lite).Output()
	require.NoError(t, err)
	for _, sdk := range []string{"aws-sdk-go-v2", "cloud.google.com", "google.golang.org/api", "Azure/azure-sdk-for-go", "hashicorp/vault"} {
		assert.NotContains(t, string(mods), sdk)
	}
	liteInfo, err := os.Stat(lite)
	require.NoError(t, err)
	fullInfo, err := os.Stat(lockwellBin)
	require.NoError(t, err)
	assert.Less(t, liteInfo.Size(), fullInfo.Size()*2/3)
	t.Logf("lockwell: %d bytes; with -tags nocloud: %d bytes", fullInfo.Size(), liteInfo.Size())

	// `make dev` runs this build's serve on its own data directory.
	served := exec.Command(lite, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	stdout, err := served.StdoutPipe()
	require.NoError(t, err)
	// A file, not a buffer: exec copies into a buffer from a goroutine of
	// its own, which reading it here would race with.
	serveLog, err := os.Create(filepath.Join(t.TempDir(), "serve.log"))
	require.NoError(t, err)
	defer serveLog.Close()
	served.Stderr = serveLog
	require.NoError(t, served.Start())
	t.Cleanup(func() { _ = served.Process.Kill(); _ = served.Wait() })
	lines := bufio.NewScanner(stdout)
	listening := ""
	for listening == "" && lines.Scan() {
		if rest, found := strings.CutPrefix(lines.Text(), "Lockwell on http://"); found {
			listening, _, _ = strings.Cut(rest, " ")
		}
	}
	if listening == "" {
		logged, _ := os.ReadFile(serveLog.Name())
		t.Fatalf("the nocloud build's serve never listened: %s", logged)
	}
	res, err := http.Get("http://" + listening + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)

	srv := startServer(t)
	lw := srv.binaryFor(t, srv.adminToken)
	saved := lockwellBin
	lockwellBin = lite
	defer func() { lockwellBin = saved }()
	ok(t, lw.run(t, "secret", "create", "db", "user=admin"))
	assert.Equal(t, "admin", ok(t, lw.run(t, "secret", "get", "db", "--key", "user")).stdout)
	fails(t, lw.run(t, "migrate", "plan", "--source", "zenml-aws://?region=eu-west-1"), exitError, "this build (-tags nocloud) leaves out")
	fails(t, lw.run(t, "--auth", "aws-sigv4", "secret", "list"), exitError, "built with -tags nocloud")
}
