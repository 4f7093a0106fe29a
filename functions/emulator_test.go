package functions_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/rie"
	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// emulatorPath finds the Runtime Interface Emulator, installing it (go
// install into localdev/rie/bin) in CI; elsewhere a missing emulator skips.
func emulatorPath(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(root, "localdev", "rie", "bin")
	if p, err := rie.Find(bin); err == nil {
		return p
	}
	if !testenv.InCI() {
		testenv.Missing(t, "the Lambda Runtime Interface Emulator is not installed; run: GOBIN=$PWD/localdev/rie/bin go install %s", rie.Package)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p, err := rie.Install(ctx, bin)
	require.NoError(t, err)
	return p
}

// sampleEvent reads localdev/events/<name>.json, with the placeholder id
// replaced.
func sampleEvent(t *testing.T, name, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "localdev", "events", name+".json"))
	require.NoError(t, err)
	if id != "" {
		b = bytes.ReplaceAll(b, []byte("00000000-0000-7000-8000-000000000000"), []byte(id))
	}
	return b
}

// TestBootstrapsUnderTheEmulator builds every function's bootstrap as
// functions.mk builds it (SQL backends linked), runs each under its own
// Runtime Interface Emulator against one SQLite store, and drives create,
// get, list, update and delete with the sample API Gateway v2 events, plus
// malformed events, which must get a 4xx.
func TestBootstrapsUnderTheEmulator(t *testing.T) {
	emu := emulatorPath(t)
	build := t.TempDir()
	cmd := exec.Command("make", "-s", "-f", "functions/functions.mk", "build",
		"LAMBDA_BUILD_DIR="+build, "LAMBDA_BACKEND_TAGS=lockwell_only,lockwell_sql", "LAMBDA_GOARCH="+runtime.GOARCH)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "make build: %s", out)

	data := t.TempDir()
	env := []string{
		"LOCKWELL_STORE=sqlite://" + filepath.Join(data, "lockwell.db"),
		"LOCKWELL_KEY=localkey://" + filepath.Join(data, "store.key"),
		"LOCKWELL_VALUES=", "LOCKWELL_DEPLOYMENT=", "LOCKWELL_ADMINS=", "LOCKWELL_AUTH=platform",
	}
	ctx := context.Background()
	fns := map[string]*rie.Emulator{}
	for _, fn := range []string{"create", "get", "list", "update", "delete"} {
		e, err := rie.Start(ctx, rie.Config{RIE: emu, Bootstrap: filepath.Join(build, fn, "bootstrap"), Env: env, Name: fn})
		require.NoError(t, err)
		fns[fn] = e
	}
	t.Cleanup(func() {
		for _, e := range fns {
			_ = e.Close()
		}
	})
	invoke := func(fn string, event []byte) apiResponse {
		t.Helper()
		out, err := fns[fn].Invoke(ctx, event)
		require.NoError(t, err, "%s: %s\nlogs:\n%s", fn, out, fns[fn].Logs())
		var resp apiResponse
		require.NoError(t, json.Unmarshal(out, &resp), "%s answered %s", fn, out)
		return resp
	}
	decode := func(resp apiResponse, v any) {
		t.Helper()
		require.NoError(t, json.Unmarshal([]byte(resp.Body), v), "body: %s", resp.Body)
	}

	// create (the first invocation also creates the store and its key)
	created := invoke("create", sampleEvent(t, "create", ""))
	require.Equal(t, http.StatusCreated, created.StatusCode, created.Body)
	var sec struct {
		ID      string            `json:"id"`
		Version int               `json:"version"`
		Keys    []string          `json:"keys"`
		Values  map[string]string `json:"values"`
	}
	decode(created, &sec)
	require.NotEmpty(t, sec.ID)
	assert.Equal(t, []string{"password", "username"}, sec.Keys)
	assert.Nil(t, sec.Values, "create never returns values")

	// the same request again (same Idempotency-Key): the first result
	replay := invoke("create", sampleEvent(t, "create", ""))
	require.Equal(t, http.StatusCreated, replay.StatusCode, replay.Body)
	var again struct{ ID string }
	decode(replay, &again)
	assert.Equal(t, sec.ID, again.ID)

	b64 := invoke("create", sampleEvent(t, "create-base64", ""))
	require.Equal(t, http.StatusCreated, b64.StatusCode, b64.Body)

	// get, by another process sharing the store
	got := invoke("get", sampleEvent(t, "get", sec.ID))
	require.Equal(t, http.StatusOK, got.StatusCode, got.Body)
	decode(got, &sec)
	secrettest.AssertSameValues(t, map[string]string{"username": "app", "password": "example-only"}, sec.Values, "get after create")
	assert.Equal(t, `"1"`, got.Headers["Etag"])

	// get by name, served by the same function
	byName := invoke("get", sampleEvent(t, "get-by-name", ""))
	require.Equal(t, http.StatusOK, byName.StatusCode, byName.Body)
	var named struct {
		ID     string            `json:"id"`
		Values map[string]string `json:"values"`
	}
	decode(byName, &named)
	assert.Equal(t, sec.ID, named.ID)
	secrettest.AssertSameValues(t, sec.Values, named.Values, "get by name")

	// list: metadata only
	for name, want := range map[string]int{"list": 1, "list-function-url": 2} { // list.json filters on name_prefix=db
		listed := invoke("list", sampleEvent(t, name, ""))
		require.Equal(t, http.StatusOK, listed.StatusCode, listed.Body)
		var page struct {
			Items []map[string]any `json:"items"`
		}
		decode(listed, &page)
		require.Len(t, page.Items, want, name)
		var ids []any
		for _, it := range page.Items {
			ids = append(ids, it["id"])
			assert.NotContains(t, it, "values", "list never returns values")
		}
		assert.Contains(t, ids, sec.ID, name)
	}

	// update: If-Match "1"; null removes a key
	updated := invoke("update", sampleEvent(t, "update", sec.ID))
	require.Equal(t, http.StatusOK, updated.StatusCode, updated.Body)
	got = invoke("get", sampleEvent(t, "get", sec.ID))
	sec.Values = nil // json.Unmarshal merges into a non-nil map
	decode(got, &sec)
	assert.Equal(t, 2, sec.Version)
	secrettest.AssertSameValues(t, map[string]string{"password": "rotated-example"}, sec.Values, "get after update")
	stale := invoke("update", sampleEvent(t, "update", sec.ID))
	assert.Equal(t, http.StatusPreconditionFailed, stale.StatusCode, stale.Body)

	// delete, then it is gone
	deleted := invoke("delete", sampleEvent(t, "delete", sec.ID))
	assert.Equal(t, http.StatusOK, deleted.StatusCode, deleted.Body)
	assert.Contains(t, deleted.Body, `"purge_after"`, "a delete answers with the recovery window")
	assert.Equal(t, http.StatusNotFound, invoke("get", sampleEvent(t, "get", sec.ID)).StatusCode)
	assert.Equal(t, http.StatusNotFound, invoke("delete", sampleEvent(t, "delete", sec.ID)).StatusCode)

	// malformed events: 4xx responses, never a function error or a 5xx
	noContext := map[string]any{}
	require.NoError(t, json.Unmarshal(sampleEvent(t, "list", ""), &noContext))
	delete(noContext, "requestContext")
	noIdentity := map[string]any{}
	require.NoError(t, json.Unmarshal(sampleEvent(t, "list", ""), &noIdentity))
	delete(noIdentity["requestContext"].(map[string]any), "authorizer")
	badBase64 := map[string]any{}
	require.NoError(t, json.Unmarshal(sampleEvent(t, "create", ""), &badBase64))
	badBase64["isBase64Encoded"] = true
	notJSONBody := map[string]any{}
	require.NoError(t, json.Unmarshal(sampleEvent(t, "create-base64", ""), &notJSONBody))
	notJSONBody["body"] = base64.StdEncoding.EncodeToString([]byte("name=x"))
	marshal := func(v any) []byte { b, _ := json.Marshal(v); return b }
	cases := []struct {
		name, fn string
		event    []byte
		status   int
	}{
		{"payload is not JSON", "get", []byte(`not json at all`), http.StatusBadRequest},
		{"payload is a JSON string", "list", []byte(`"hello"`), http.StatusBadRequest},
		{"no requestContext", "list", marshal(noContext), http.StatusBadRequest},
		{"isBase64Encoded on a plain body", "create", marshal(badBase64), http.StatusBadRequest},
		{"body is not JSON", "create", marshal(notJSONBody), http.StatusBadRequest},
		{"unknown route", "create", sampleEvent(t, "list", ""), http.StatusNotFound},
		{"another function's route", "get", sampleEvent(t, "delete", sec.ID), http.StatusNotFound},
		{"no authorizer identity", "list", marshal(noIdentity), http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := invoke(tc.fn, tc.event)
			assert.Equal(t, tc.status, resp.StatusCode, resp.Body)
			assert.Contains(t, resp.Body, `"error"`)
		})
	}

	// no function printed a value
	for fn, e := range fns {
		for _, v := range []string{"example-only", "rotated-example"} {
			assert.False(t, strings.Contains(e.Logs(), v), "%s's log contains a secret value", fn)
		}
	}
}
