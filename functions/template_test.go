package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/functions/backends"
	"github.com/lockwell/lockwell/functions/lambdahttp"
	"github.com/lockwell/lockwell/functions/lambdaserve"
	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/dynamostore"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// root is the repository root (tests run in functions/).
const root = ".."

// The functions this issue defines; merged templates may add more (the
// migrator), which must build the same way.
var lockwellFunctions = []string{"CreateSecretFunction", "GetSecretFunction", "ListSecretsFunction", "UpdateSecretFunction", "DeleteSecretFunction"}

// loadTemplate parses template.yaml with goformation, with Ref and GetAtt of
// resources resolved to logical ids (goformation resolves them to nil),
// conditions evaluated, and params overriding parameter defaults.
// goformation v7.14.9 does not know HttpApi's EnableIamAuthorizer, so that
// line is checked here and removed before parsing.
func loadTemplate(t *testing.T, params map[string]any) *cloudformation.Template {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	require.NoError(t, err)
	enable := regexp.MustCompile(`(?m)^\s*EnableIamAuthorizer: true\s*\n`)
	require.Regexp(t, enable, string(raw), "the HTTP API must enable the IAM authorizer")
	raw = enable.ReplaceAll(raw, nil)
	// goformation's EvaluateConditions replaces a resource that has a
	// Condition with the condition's value; resource conditions are not
	// what these tests check, so drop them.
	raw = regexp.MustCompile(`(?m)^    Condition: \w+\s*\n`).ReplaceAll(raw, nil)

	var resources map[string]any
	refs := func(name string, input, tpl any) any {
		if s, ok := input.(string); ok && resources[s] != nil {
			return s
		}
		return intrinsics.Ref(name, input, tpl)
	}
	getAtt := func(_ string, input, _ any) any {
		switch v := input.(type) {
		case string:
			return "GetAtt:" + v
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i] = fmt.Sprint(p)
			}
			return "GetAtt:" + strings.Join(parts, ".")
		}
		return nil
	}
	var doc struct {
		Resources map[string]any `yaml:"Resources"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &doc))
	resources = doc.Resources
	tpl, err := goformation.ParseYAMLWithOptions(raw, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Ref": refs, "Fn::GetAtt": getAtt},
		ParameterOverrides:        params,
		EvaluateConditions:        true,
	})
	require.NoError(t, err)
	return tpl
}

var (
	packagesOnce sync.Once
	packagesOf   map[string]string
	packagesErr  error
)

// functionPackage returns the Go package `make build-<logicalID>` builds,
// as make itself resolves the target (the SAM makefile build).
func functionPackage(t *testing.T, logicalID string) string {
	t.Helper()
	out, err := exec.Command("make", "-s", "-n", "-C", root, "build-"+logicalID, "ARTIFACTS_DIR=/artifacts").CombinedOutput()
	require.NoError(t, err, "make build-%s: %s", logicalID, out)
	m := regexp.MustCompile(`-o /artifacts/bootstrap (\./\S+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "make build-%s must build bootstrap into $(ARTIFACTS_DIR): %s", logicalID, out)
	return m[1]
}

// operation is the httpapi operation a function's package serves: its
// directory name under functions/.
func operation(pkg string) string { return filepath.Base(pkg) }

func TestTemplateFunctionsBuild(t *testing.T) {
	tpl := loadTemplate(t, nil)
	fns := tpl.GetAllServerlessFunctionResources()
	for _, id := range lockwellFunctions {
		require.Contains(t, fns, id)
	}

	var globals struct {
		Globals struct {
			Function struct {
				Runtime       string   `yaml:"Runtime"`
				Architectures []string `yaml:"Architectures"`
				Handler       string   `yaml:"Handler"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
	}
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(raw, &globals))
	assert.Equal(t, "provided.al2023", globals.Globals.Function.Runtime)
	assert.Equal(t, []string{"arm64"}, globals.Globals.Function.Architectures)
	assert.Equal(t, "bootstrap", globals.Globals.Function.Handler)

	var pkgs []string
	for id, fn := range fns {
		assert.Equal(t, "makefile", fn.AWSCloudFormationMetadata["BuildMethod"], "%s: Metadata.BuildMethod", id)
		require.NotNil(t, fn.CodeUri, "%s: CodeUri", id)
		require.NotNil(t, fn.CodeUri.String, "%s: CodeUri must be a local path", id)
		dir := filepath.Join(root, *fn.CodeUri.String)
		assert.FileExists(t, filepath.Join(dir, "Makefile"), "%s: CodeUri holds the Makefile SAM runs", id)
		assert.FileExists(t, filepath.Join(dir, "go.mod"), "%s: CodeUri is the module root", id)
		pkg := functionPackage(t, id)
		assert.DirExists(t, filepath.Join(root, pkg), "%s builds %s", id, pkg)
		pkgs = append(pkgs, pkg)
	}

	// Every function's package builds as the AWS bootstrap is built
	// (default backend tags; the host architecture, to reuse the build cache).
	cmd := exec.Command("go", append([]string{"build", "-tags", "lambda.norpc", "-trimpath"}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %v: %s", pkgs, out)
}

// route is one HttpApi event of a function.
type route struct {
	function, op, method, path string
}

func templateRoutes(t *testing.T, tpl *cloudformation.Template) []route {
	t.Helper()
	var routes []route
	for id, fn := range tpl.GetAllServerlessFunctionResources() {
		op := operation(functionPackage(t, id))
		if op == lambdaserve.Dashboard {
			continue // its routes: TestTemplateDashboardRoutes
		}
		for name, ev := range fn.Events {
			if ev.Type != "HttpApi" {
				continue
			}
			require.NotNil(t, ev.Properties, "%s.%s", id, name)
			require.NotNil(t, ev.Properties.HttpApiEvent, "%s.%s: not a typed HttpApi event", id, name)
			h := ev.Properties.HttpApiEvent
			require.NotNil(t, h.Method, "%s.%s: Method", id, name)
			require.NotNil(t, h.Path, "%s.%s: Path", id, name)
			require.NotNil(t, h.ApiId, "%s.%s: ApiId", id, name)
			assert.Equal(t, "LockwellApi", *h.ApiId, "%s.%s: routes belong to the IAM-authorized API", id, name)
			if assert.NotNil(t, h.PayloadFormatVersion, "%s.%s", id, name) {
				assert.Equal(t, "2.0", *h.PayloadFormatVersion, "%s.%s", id, name)
			}
			assert.Nil(t, h.Auth, "%s.%s: routes use the API's default (IAM) authorizer", id, name)
			routes = append(routes, route{id, op, *h.Method, *h.Path})
		}
	}
	sort.Slice(routes, func(i, j int) bool { return order[routes[i].op] < order[routes[j].op] })
	return routes
}

var order = map[string]int{"create": 0, "list": 1, "get": 2, "update": 3, "delete": 4}

func TestTemplateHTTPAPIUsesIAM(t *testing.T) {
	tpl := loadTemplate(t, nil)
	api, err := tpl.GetServerlessHttpApiWithName("LockwellApi")
	require.NoError(t, err)
	require.NotNil(t, api.Auth)
	require.NotNil(t, api.Auth.DefaultAuthorizer)
	assert.Equal(t, "AWS_IAM", *api.Auth.DefaultAuthorizer)
	require.Contains(t, tpl.Outputs, "ApiUrl")
}

// TestTemplateRoutesReachTheirHandlers drives every route of the template
// through the Lambda adapter into the real HTTP API, served the way the
// route's function serves it (one operation), and expects success; every
// other function must answer the same event with 404.
func TestTemplateRoutesReachTheirHandlers(t *testing.T) {
	tpl := loadTemplate(t, nil)
	routes := templateRoutes(t, tpl)
	require.Len(t, routes, 9)
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.op] = true
	}
	assert.Len(t, seen, 5, "every operation has a route (get three: by id, by name and versions; update three: patch, rollback, restore): %v", routes)

	const owner = "arn:aws:iam::123456789012:user/route-test"
	st := store.New(memstore.New())
	api := httpapi.New(st, httpapi.ContextAuthenticator{}, httpapi.Options{})
	adapters := map[string]*lambdahttp.Adapter{}
	for _, r := range routes {
		adapters[r.function] = lambdahttp.New(api.Operation(r.op), lambdahttp.Options{})
	}
	existing, err := st.Create(context.Background(), identity.Principal{Name: owner, Role: identity.Member},
		store.CreateRequest{Name: "route-target", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)

	// A deleted secret for the restore route.
	deleted, err := st.Create(context.Background(), identity.Principal{Name: owner, Role: identity.Member},
		store.CreateRequest{Name: "route-deleted"})
	require.NoError(t, err)
	_, err = st.Delete(context.Background(), identity.Principal{Name: owner, Role: identity.Member}, deleted.ID, store.DeleteRequest{})
	require.NoError(t, err)

	bodies := map[string]string{
		"POST /api/v1/secrets":               `{"name":"route-created","values":{"a":"b"}}`,
		"PATCH /api/v1/secrets/{id}":         `{"values":{"c":"d"}}`,
		"POST /api/v1/secrets/{id}/rollback": `{"version":1}`,
	}
	for _, r := range routes {
		id := existing.ID
		if strings.HasSuffix(r.path, "/restore") {
			id = deleted.ID
		}
		path := strings.ReplaceAll(strings.ReplaceAll(r.path, "{id}", id), "{name}", existing.Name)
		event := apiEvent(r.method, path, bodies[r.method+" "+r.path], owner)
		for fn, a := range adapters {
			resp := invokeAdapter(t, a, event)
			if fn == r.function {
				assert.True(t, resp.StatusCode >= 200 && resp.StatusCode < 300, "%s %s on %s: %d %s", r.method, r.path, fn, resp.StatusCode, resp.Body)
			} else {
				assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s must not be served by %s", r.method, r.path, fn)
			}
		}
	}
}

type apiResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

func invokeAdapter(t *testing.T, a *lambdahttp.Adapter, event []byte) apiResponse {
	t.Helper()
	out, err := a.Invoke(context.Background(), event)
	require.NoError(t, err)
	var resp apiResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	return resp
}

// apiEvent returns an API Gateway HTTP API (payload 2.0) event signed in by
// the IAM authorizer as userArn.
func apiEvent(method, path, body, userArn string) []byte {
	rawPath, query, _ := strings.Cut(path, "?")
	ev := map[string]any{
		"version": "2.0", "routeKey": method + " " + rawPath, "rawPath": rawPath, "rawQueryString": query,
		"headers": map[string]string{"content-type": "application/json", "host": "api.example.com"},
		"requestContext": map[string]any{
			"requestId": "test", "stage": "$default", "domainName": "api.example.com",
			"http":       map[string]any{"method": method, "path": rawPath, "sourceIp": "192.0.2.1"},
			"authorizer": map[string]any{"iam": map[string]any{"userArn": userArn}},
		},
		"body": body, "isBase64Encoded": false,
	}
	b, _ := json.Marshal(ev)
	return b
}

// grantedActions returns the actions a function's inline policy statements
// allow, and fails on wildcards and statements without a resource.
func grantedActions(t *testing.T, id string, fn *serverless.Function) []string {
	t.Helper()
	require.NotNil(t, fn.Policies, "%s: Policies", id)
	require.NotNil(t, fn.Policies.IAMPolicyDocumentArray, "%s: Policies must be inline statements", id)
	set := map[string]bool{}
	for _, doc := range *fn.Policies.IAMPolicyDocumentArray {
		for _, st := range doc.Statement {
			if st == nil {
				continue // !Ref AWS::NoValue: a condition removed it
			}
			m, ok := st.(map[string]any)
			require.True(t, ok, "%s: statement %v", id, st)
			assert.Equal(t, "Allow", m["Effect"], "%s", id)
			assert.NotEmpty(t, m["Resource"], "%s: statement %v has no resource", id, m["Action"])
			assert.NotEqual(t, "*", m["Resource"], "%s: statement %v on every resource", id, m["Action"])
			var acts []any
			switch a := m["Action"].(type) {
			case string:
				acts = []any{a}
			case []any:
				acts = a
			}
			for _, a := range acts {
				s := fmt.Sprint(a)
				assert.NotContains(t, s, "*", "%s: wildcard action", id)
				set[s] = true
			}
		}
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// TestTemplateGrantsWhatTheCodeCalls compares, for each function and each
// value-store choice, the IAM actions the template grants with the actions
// the linked packages call for its operation (functions/backends): exactly
// those, no more. emulator_test's recording test checks the table against
// the calls the code really makes.
func TestTemplateGrantsWhatTheCodeCalls(t *testing.T) {
	for _, valueStore := range []string{"none", "awssecretsmanager"} {
		t.Run("ValueStore="+valueStore, func(t *testing.T) {
			tpl := loadTemplate(t, map[string]any{"ValueStore": valueStore})
			for id, fn := range tpl.GetAllServerlessFunctionResources() {
				pkg := functionPackage(t, id)
				if !strings.HasPrefix(pkg, "./functions/") {
					// The migrator: migrate/lambda's own test checks its
					// grants; it writes through the store, so it audits.
					assertAuditGrants(t, id, fn)
					continue
				}
				op := operation(pkg)
				if op == "events" {
					// No API operation: it reads the table's stream and
					// puts events on the bus (functions/streamevents).
					assert.Equal(t, []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "events:PutEvents"},
						grantedActions(t, id, fn), "%s: the events function's grants", id)
					continue
				}
				// Every function that opens the deployment keeps its audit log.
				want := backends.AuditActions()
				assertAuditGrants(t, id, fn)
				if op == lambdaserve.Dashboard {
					// With platform identity it calls nothing else on AWS.
					assert.Equal(t, want, grantedActions(t, id, fn), "%s: the dashboard needs the audit log's permissions only", id)
					continue
				}
				for _, a := range backends.Actions(op) {
					service, _, _ := strings.Cut(a, ":")
					switch {
					case service == "kms" && valueStore != "none":
					case service == "secretsmanager" && valueStore == "none":
					case slices.Contains(want, a):
					default:
						want = append(want, a)
					}
				}
				sort.Strings(want)
				assert.Equal(t, want, grantedActions(t, id, fn), "%s (%s): granted IAM actions differ from the code's", id, op)
			}
		})
	}
}

// assertAuditGrants checks that fn's audit permissions are scoped to the
// audit log: the DynamoDB actions to the table's "a#" items (records, head
// hint, wrapped chain key; dynamodb:LeadingKeys), the KMS actions to the
// chain key's encryption context (audit.KeyAAD), never to data keys.
func assertAuditGrants(t *testing.T, id string, fn *serverless.Function) {
	t.Helper()
	require.NotNil(t, fn.Policies, "%s: Policies", id)
	require.NotNil(t, fn.Policies.IAMPolicyDocumentArray, "%s: Policies must be inline statements", id)
	var ddb, kms bool
	for _, doc := range *fn.Policies.IAMPolicyDocumentArray {
		for _, st := range doc.Statement {
			m, ok := st.(map[string]any)
			if !ok {
				continue
			}
			cond, _ := m["Condition"].(map[string]any)
			if like, ok := cond["ForAllValues:StringLike"].(map[string]any); ok {
				if keys, ok := like["dynamodb:LeadingKeys"].([]any); ok {
					assert.Equal(t, []any{"a#*"}, keys, "%s: the audit statement covers the a# items only", id)
					assert.Equal(t, []any{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, m["Action"], "%s", id)
					ddb = true
				}
			}
			if eq, ok := cond["StringEquals"].(map[string]any); ok {
				if v, ok := eq["kms:EncryptionContext:lockwell-aad"]; ok {
					assert.Equal(t, audit.KeyAAD, v, "%s: the chain key's encryption context", id)
					assert.Equal(t, []any{"kms:Decrypt", "kms:GenerateDataKey"}, m["Action"], "%s", id)
					kms = true
				}
			}
		}
	}
	if pkg := functionPackage(t, id); strings.HasPrefix(pkg, "./functions/") {
		assert.True(t, ddb, "%s: no DynamoDB statement for the audit log's a# items", id)
	}
	assert.True(t, kms, "%s: no KMS statement for the audit chain key", id)
}

// TestTemplateTableIsTheBackendsTable checks that the table template.yaml
// declares is the one package dynamostore reads and writes.
func TestTemplateTableIsTheBackendsTable(t *testing.T) {
	tpl := loadTemplate(t, nil)
	table, err := tpl.GetDynamoDBTableWithName("SecretsTable")
	require.NoError(t, err)
	def := dynamostore.TableDefinition("x")

	type key struct{ Name, Type string }
	var wantKeys, gotKeys []key
	for _, k := range def.KeySchema {
		wantKeys = append(wantKeys, key{*k.AttributeName, string(k.KeyType)})
	}
	for _, k := range table.KeySchema {
		gotKeys = append(gotKeys, key{k.AttributeName, k.KeyType})
	}
	assert.Equal(t, wantKeys, gotKeys, "key schema")

	var wantAttrs, gotAttrs []key
	for _, a := range def.AttributeDefinitions {
		wantAttrs = append(wantAttrs, key{*a.AttributeName, string(a.AttributeType)})
	}
	for _, a := range table.AttributeDefinitions {
		gotAttrs = append(gotAttrs, key{a.AttributeName, a.AttributeType})
	}
	assert.ElementsMatch(t, wantAttrs, gotAttrs, "attribute definitions")

	type index struct {
		Keys       []key
		Projection string
		Attributes []string
	}
	want, got := map[string]index{}, map[string]index{}
	for _, g := range def.GlobalSecondaryIndexes {
		ix := index{Projection: string(g.Projection.ProjectionType), Attributes: append([]string(nil), g.Projection.NonKeyAttributes...)}
		for _, k := range g.KeySchema {
			ix.Keys = append(ix.Keys, key{*k.AttributeName, string(k.KeyType)})
		}
		sort.Strings(ix.Attributes)
		want[*g.IndexName] = ix
	}
	for _, g := range table.GlobalSecondaryIndexes {
		require.NotNil(t, g.Projection, g.IndexName)
		ix := index{Attributes: append([]string(nil), g.Projection.NonKeyAttributes...)}
		if g.Projection.ProjectionType != nil {
			ix.Projection = *g.Projection.ProjectionType
		}
		for _, k := range g.KeySchema {
			ix.Keys = append(ix.Keys, key{k.AttributeName, k.KeyType})
		}
		sort.Strings(ix.Attributes)
		got[g.IndexName] = ix
	}
	assert.Equal(t, want, got, "global secondary indexes")
	require.NotNil(t, table.BillingMode)
	assert.Equal(t, string(def.BillingMode), *table.BillingMode)
	if assert.NotNil(t, table.PointInTimeRecoverySpecification) {
		assert.Equal(t, true, *table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled)
	}
}

// TestTemplateDashboardRoutes checks the dashboard function's routes (its
// assets and sign-in without an authorizer, whoami with the API's) and that
// its handler serves them, and no route of the other functions.
func TestTemplateDashboardRoutes(t *testing.T) {
	tpl := loadTemplate(t, nil)
	fn, err := tpl.GetServerlessFunctionWithName("DashboardFunction")
	require.NoError(t, err)
	require.Equal(t, "./functions/dashboard", functionPackage(t, "DashboardFunction"))
	type dashRoute struct {
		method, path string
		anonymous    bool
	}
	var got []dashRoute
	for name, ev := range fn.Events {
		require.Equal(t, "HttpApi", ev.Type, name)
		h := ev.Properties.HttpApiEvent
		require.NotNil(t, h, name)
		assert.Equal(t, "LockwellApi", *h.ApiId, name)
		assert.Equal(t, "2.0", *h.PayloadFormatVersion, name)
		anonymous := false
		if h.Auth != nil {
			require.NotNil(t, h.Auth.Authorizer, name)
			assert.Equal(t, "NONE", *h.Auth.Authorizer, name)
			anonymous = true
		}
		got = append(got, dashRoute{*h.Method, *h.Path, anonymous})
	}
	assert.ElementsMatch(t, []dashRoute{
		{"GET", "/", true}, {"GET", "/{proxy+}", true},
		{"POST", "/api/v1/session", true}, {"DELETE", "/api/v1/session", true},
		{"GET", "/api/v1/whoami", false},
	}, got)

	const user = "arn:aws:iam::123456789012:user/dashboard-test"
	api := httpapi.New(store.New(memstore.New()), httpapi.ContextAuthenticator{}, httpapi.Options{})
	a := lambdahttp.New(lambdaserve.DashboardHandler(api), lambdahttp.Options{Anonymous: true})
	anonymousEvent := func(method, path, body string) []byte {
		var ev map[string]any
		require.NoError(t, json.Unmarshal(apiEvent(method, path, body, user), &ev))
		delete(ev["requestContext"].(map[string]any), "authorizer")
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		return b
	}
	for _, path := range []string{"/", "/secret", "/assets/app.js"} {
		resp := invokeAdapter(t, a, anonymousEvent("GET", path, ""))
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, resp.Headers["Content-Security-Policy"], "frame-ancestors 'none'", path)
	}
	resp := invokeAdapter(t, a, apiEvent("GET", "/api/v1/whoami", "", user))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Body, user)
	// With platform identity there is no token to sign in with.
	resp = invokeAdapter(t, a, anonymousEvent("POST", "/api/v1/session", `{"token":"lw_x"}`))
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp = invokeAdapter(t, a, apiEvent("GET", "/api/v1/secrets", "", user))
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "the list function serves the secrets")
}
