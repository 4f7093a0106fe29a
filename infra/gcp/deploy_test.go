package gcp_test

import (
	"encoding/base64"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

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
	assert.Contains(t, string(main), "dashboard = { "+gcp.DashboardName+` = "dashboard" }`, "main.tf deploys the dashboard function too")
}

// TestGatewayRoutesEveryOperation renders gateway.yaml.tftpl as Terraform
// does (each function's URL in urls) and checks that the API Gateway sends
// every method and path of the functions' operations to the function of
// that operation, and / and every other GET page, sign-in and whoami to
// the dashboard, on one host.
func TestGatewayRoutesEveryOperation(t *testing.T) {
	tmpl, err := os.ReadFile("gateway.yaml.tftpl")
	require.NoError(t, err)
	url := func(entry string) string { return "https://lockwell-" + strings.ToLower(entry) + ".example.run.app" }
	rendered := regexp.MustCompile(`\$\{urls\["(\w+)"\]\}`).ReplaceAllStringFunc(string(tmpl), func(m string) string {
		return url(regexp.MustCompile(`"(\w+)"`).FindStringSubmatch(m)[1])
	})
	require.NotContains(t, rendered, "${", "every interpolation is a function URL")
	type backend struct {
		Address         string `yaml:"address"`
		PathTranslation string `yaml:"path_translation"`
	}
	var doc struct {
		Swagger string  `yaml:"swagger"`
		Backend backend `yaml:"x-google-backend"`
		Paths   map[string]map[string]struct {
			Backend *backend `yaml:"x-google-backend"`
		} `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(rendered), &doc))
	require.Equal(t, "2.0", doc.Swagger)
	require.Equal(t, backend{url(gcp.DashboardName), "APPEND_PATH_TO_ADDRESS"}, doc.Backend, "the dashboard is the default backend")

	// The routes of each operation (httpapi's routes table) and the
	// dashboard's own.
	routes := map[string][]string{
		"create":        {"post /api/v1/secrets"},
		"list":          {"get /api/v1/secrets"},
		"get":           {"get /api/v1/secrets/{id}", "get /api/v1/secrets/by-name/{name}", "get /api/v1/secrets/{id}/versions"},
		"update":        {"patch /api/v1/secrets/{id}", "post /api/v1/secrets/{id}/rollback", "post /api/v1/secrets/{id}/restore"},
		"delete":        {"delete /api/v1/secrets/{id}"},
		"purge_expired": {"post /api/v1/admin/purge"},
		"dashboard":     {"get /", "get /{path=**}", "post /api/v1/session", "delete /api/v1/session", "get /api/v1/whoami"},
	}
	want := map[string]string{}
	for _, f := range append(slices.Clone(gcp.Functions), gcp.Function{Name: gcp.DashboardName, Operation: "dashboard"}) {
		require.Contains(t, routes, f.Operation, "a route for each function")
		for _, r := range routes[f.Operation] {
			want[r] = url(f.Name)
		}
	}
	got := map[string]string{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			b := doc.Backend
			if op.Backend != nil {
				b = *op.Backend
			}
			assert.Equal(t, "APPEND_PATH_TO_ADDRESS", b.PathTranslation, "%s %s", method, path)
			got[method+" "+path] = b.Address
		}
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
