package gcp_test

import (
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/functions/gcp"
)

// TestTerraformIsFormattedAndParses runs `terraform fmt -check`, which
// parses every file. `terraform validate` needs the google provider from the
// Terraform registry, which this environment cannot reach, and Terraform is
// not in the registries CI installs from: without it the test skips, in CI
// too, and says so.
func TestTerraformIsFormattedAndParses(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("skipping: terraform is not installed (it is not available from Debian's packages or the Go module proxy)")
	}
	cmd := exec.Command(tf, "fmt", "-check", "-recursive", "-diff", ".")
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE=/dev/null", "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "terraform fmt -check: %s", out)
}

// TestTerraformDeploysEveryFunction checks that main.tf deploys exactly the
// functions package functions/gcp registers, with the same operations.
func TestTerraformDeploysEveryFunction(t *testing.T) {
	main, err := os.ReadFile("main.tf")
	require.NoError(t, err)
	block := regexp.MustCompile(`(?s)functions = \{\n(.*?)\n  \}`).FindSubmatch(main)
	require.NotNil(t, block, "main.tf: locals.functions")
	got := map[string]string{}
	for _, m := range regexp.MustCompile(`(\w+)\s*=\s*"(\w+)"`).FindAllSubmatch(block[1], -1) {
		got[string(m[1])] = string(m[2])
	}
	want := map[string]string{}
	for _, f := range gcp.Functions {
		want[f.Name] = f.Operation
	}
	assert.Equal(t, want, got)
}

// TestStagedSourceBuildsAsTheBuildpackBuildsIt lays out the source with
// stage.sh, adds the main package the Go buildpack generates (a blank
// import of the module root and funcframework.Start), builds it with the
// build tags Terraform passes, and serves one function from it, with
// FUNCTION_TARGET as Cloud Functions sets it.
func TestStagedSourceBuildsAsTheBuildpackBuildsIt(t *testing.T) {
	staged := filepath.Join(t.TempDir(), "src")
	out, err := exec.Command("bash", "stage.sh", staged).CombinedOutput()
	require.NoError(t, err, "stage.sh: %s", out)
	root, err := os.ReadFile(filepath.Join(staged, "lockwell.go"))
	require.NoError(t, err)
	assert.Contains(t, string(root), `_ "github.com/lockwell/lockwell/functions/gcp"`)
	assert.NoFileExists(t, filepath.Join(staged, "functions", "gcp", "gcp_test.go"), "tests are not deployed")

	app := filepath.Join(staged, "functions.local", "app")
	require.NoError(t, os.MkdirAll(app, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(app, "main.go"), []byte(buildpackMain), 0o644))
	bin := filepath.Join(t.TempDir(), "function")
	build := exec.Command("go", "build", "-o", bin, "./functions.local/app")
	build.Dir = staged
	build.Env = append(os.Environ(), "GOFLAGS=-tags=lockwell_only,lockwell_sql,lockwell_gcpsecretmanager", "GOPROXY=off", "CGO_ENABLED=0")
	out, err = build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	// Serve until the function answers, for as long as it runs (up to two
	// minutes, however slow the machine); a process that exits first lost
	// its port between choosing and binding it, and gets another.
	data := t.TempDir()
	userinfo := base64.RawURLEncoding.EncodeToString([]byte(`{"email":"alice@example.com","email_verified":true}`))
	var (
		resp *http.Response
		logs *strings.Builder
	)
	for try := 0; try < 3 && resp == nil; try++ {
		l, lerr := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, lerr)
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		run := exec.Command(bin)
		run.Env = append(os.Environ(), "PORT="+port, "FUNCTION_TARGET=ListSecrets", "K_SERVICE=lockwell-listsecrets",
			"LOCKWELL_STORE=sqlite://"+filepath.Join(data, "lockwell.db"), "LOCKWELL_KEY=localkey://"+filepath.Join(data, "store.key"),
			"LOCKWELL_VALUES=", "LOCKWELL_AUTH=platform", "LOCKWELL_GCP_IDENTITY=apigateway")
		run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		logs = &strings.Builder{}
		run.Stdout, run.Stderr = logs, logs
		require.NoError(t, run.Start())
		exited := make(chan struct{})
		go func() { _ = run.Wait(); close(exited) }()
		t.Cleanup(func() { _ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL); <-exited })
		for limit := time.Now().Add(2 * time.Minute); time.Now().Before(limit); {
			req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+"/lockwell-listsecrets", nil)
			req.Header.Set("X-Apigateway-Api-Userinfo", userinfo)
			if resp, err = http.DefaultClient.Do(req); err == nil {
				break
			}
			select {
			case <-exited:
				limit = time.Time{}
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	require.NoError(t, err, "the function did not serve: %s", logs)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "logs: %s", logs)
}

// buildpackMain is the main package the Go functions-framework buildpack
// generates for a declaratively registered function (functions-framework-go
// 1.x): it imports the function's package for its registrations and starts
// the framework on $PORT. The buildpack's calls funcframework.Start(port),
// which listens on every interface as Cloud Run needs; here it listens on
// loopback only.
const buildpackMain = `package main

import (
	"log"
	"os"

	_ "github.com/lockwell/lockwell"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	port := "8080"
	if envPort := os.Getenv("PORT"); envPort != "" {
		port = envPort
	}
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		log.Fatalf("funcframework.Start: %v\n", err)
	}
}
`
