package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

type getJSON struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Private bool              `json:"private"`
	Owner   string            `json:"owner"`
	Version int64             `json:"version"`
	Keys    []string          `json:"keys"`
	Values  map[string]string `json:"values"`
}

func getSecret(t *testing.T, inv invocation, nameOrID string) getJSON {
	t.Helper()
	r := ok(t, inv.run("secret", "get", nameOrID, "-o", "json"))
	var g getJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &g))
	return g
}

func TestSecretLifecycle(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)

	valuesFile := writeFile(t, "v.json", `{"password": "s3cr3t value", "port": "5432"}`)
	r := ok(t, admin.run("secret", "create", "db", "user=alice", "--values", "@"+valuesFile))
	assert.Contains(t, r.stdout, "Created public secret db")

	g := getSecret(t, admin, "db")
	secrettest.AssertSameValues(t, map[string]string{"user": "alice", "password": "s3cr3t value", "port": "5432"}, g.Values)
	assert.Equal(t, []string{"password", "port", "user"}, g.Keys)
	assert.EqualValues(t, 1, g.Version)
	assert.Equal(t, "admin", g.Owner)

	r = ok(t, admin.run("secret", "get", "db", "--key", "password"))
	assert.True(t, r.stdout == "s3cr3t value", "--key prints exactly the value")
	r = ok(t, admin.run("secret", "get", g.ID, "-o", "env"))
	assert.Contains(t, r.stdout, "user=alice\n")
	r = ok(t, admin.run("secret", "get", "db", "-o", "yaml"))
	assert.Contains(t, r.stdout, "name: db")
	r = ok(t, admin.run("secret", "get", "db"))
	assert.Contains(t, r.stdout, "Visibility:")

	// list never shows values
	for _, format := range []string{"table", "json", "yaml"} {
		r = ok(t, admin.run("secret", "list", "-o", format))
		assert.Contains(t, r.stdout, "db")
		assert.NotContains(t, r.stdout, "s3cr3t", format)
		assert.NotContains(t, r.stdout, "alice", format)
	}
	ok(t, admin.run("secret", "create", "other", "k=v"))
	r = ok(t, admin.run("secret", "list", "--name-prefix", "ot", "-o", "json"))
	var items []getJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &items))
	require.Len(t, items, 1)
	assert.Equal(t, "other", items[0].Name)

	// update merges; --remove-key removes; --private flips visibility
	ok(t, admin.run("secret", "update", "db", "user=bob", "extra=1", "--remove-key", "port"))
	g = getSecret(t, admin, "db")
	secrettest.AssertSameValues(t, map[string]string{"user": "bob", "password": "s3cr3t value", "extra": "1"}, g.Values)
	assert.EqualValues(t, 2, g.Version)
	oneLineError(t, admin.run("secret", "update", "db", "--remove-key", "nope"), "has no key nope to remove. Available keys: extra, password, user")
	oneLineError(t, admin.run("secret", "update", "db", "a=1", "--remove-key", "a"), "key a is both set and removed")
	oneLineError(t, admin.run("secret", "update", "db"), "nothing to update")
	ok(t, admin.run("secret", "update", "db", "--visibility", "private"))
	assert.True(t, getSecret(t, admin, "db").Private)
	ok(t, admin.run("secret", "update", "db", "--visibility", "public"))
	assert.False(t, getSecret(t, admin, "db").Private)

	// rename, then the old name is gone
	ok(t, admin.run("secret", "rename", "db", "database"))
	assert.Equal(t, g.ID, getSecret(t, admin, "database").ID)
	oneLineError(t, admin.run("secret", "get", "db"), "no secret named db")

	// delete needs -y without a terminal
	oneLineError(t, admin.run("secret", "delete", "database"), "pass -y")
	ok(t, admin.run("secret", "delete", "database", "-y"))
	oneLineError(t, admin.run("secret", "get", g.ID), "the secret with id "+g.ID+" (database) is deleted; it can be restored until ")

	// clashes and bad input are one-line errors
	oneLineError(t, admin.run("secret", "create", "other", "k=v"), "already exists")
	oneLineError(t, admin.run("secret", "create", "bad name", "k=v"), "not allowed")
	oneLineError(t, admin.run("secret", "create", "x", "1key=v"), "must start with a letter")
	oneLineError(t, admin.run("secret", "create", "x", "novalue"), "key novalue has no value")
	oneLineError(t, admin.run("secret", "create", "x", "k=v", "k=w"), "given twice")
	oneLineError(t, admin.run("secret", "get", "x", "--bogus"), "unknown flag: --bogus")
	oneLineError(t, admin.run("secret", "get", "other", "--key", "nope"), "has no key nope. Available keys: k")
}

func TestCreateValueInputs(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)

	certFile := writeFile(t, "cert.pem", "-----BEGIN-----\nabc\n-----END-----\n")
	yamlFile := writeFile(t, "v.yaml", "host: db.internal\nport: 5432\nflag: true\n")
	envFile := writeFile(t, "v.env", "# comment\nA=1\nB=\"two words\"\n")

	inv := admin
	inv.stdin = `{"fromstdin": "yes"}`
	ok(t, inv.run("secret", "create", "s1", "--values", "@-"))
	secrettest.AssertSameValues(t, map[string]string{"fromstdin": "yes"}, getSecret(t, admin, "s1").Values)

	ok(t, admin.run("secret", "create", "s2", "cert=@"+certFile, "at=@@literal", "--values", "@"+yamlFile))
	secrettest.AssertSameValues(t, map[string]string{"cert": "-----BEGIN-----\nabc\n-----END-----\n", "at": "@literal", "host": "db.internal", "port": "5432", "flag": "true"}, getSecret(t, admin, "s2").Values)

	ok(t, admin.run("secret", "create", "s3", "--values", "@"+envFile))
	secrettest.AssertSameValues(t, map[string]string{"A": "1", "B": "two words"}, getSecret(t, admin, "s3").Values)

	// -i asks for bare keys without echo
	inv = admin
	inv.terminal = true
	inv.secrets = []string{"hidden-1", "hidden-2"}
	ok(t, inv.run("secret", "create", "s4", "user=u", "password", "token", "-i"))
	secrettest.AssertSameValues(t, map[string]string{"user": "u", "password": "hidden-1", "token": "hidden-2"}, getSecret(t, admin, "s4").Values)

	// -i with no keys asks for key names, then values
	inv = admin
	inv.terminal = true
	inv.stdin = "k1\nk2\n\n"
	inv.secrets = []string{"v1", "v2"}
	ok(t, inv.run("secret", "create", "s5", "-i"))
	secrettest.AssertSameValues(t, map[string]string{"k1": "v1", "k2": "v2"}, getSecret(t, admin, "s5").Values)

	oneLineError(t, admin.run("secret", "create", "s6", "--values", `{"k": 1}`), "value of key k is not a string")
	oneLineError(t, admin.run("secret", "create", "s6", "--values", "@/nonexistent/file.json"), "cannot read /nonexistent/file.json")
	oneLineError(t, admin.run("secret", "create", "s6", "k=v", "--values", `{"k": "w"}`), "key k is given twice")
}

// A name resolves to the caller's private secret first, then the public
// one; nobody else sees a private secret.
func TestPrivateFirstResolution(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	r := ok(t, admin.run("token", "create", "--user", "bob"))
	bobToken := strings.TrimSpace(r.stdout)
	assert.True(t, strings.HasPrefix(bobToken, "lw_"))
	assert.Contains(t, r.stderr, "not shown again")
	bob := srv.as(t, bobToken)

	ok(t, admin.run("secret", "create", "db", "user=shared"))
	ok(t, bob.run("secret", "create", "db", "user=bobs-own", "--private"))

	r = ok(t, bob.run("secret", "get", "db", "--key", "user"))
	assert.True(t, r.stdout == "bobs-own", "bob's private secret shadows the public one")
	r = ok(t, admin.run("secret", "get", "db", "--key", "user"))
	assert.True(t, r.stdout == "shared", "admin does not see bob's private secret")

	r = ok(t, admin.run("secret", "list", "-o", "json"))
	assert.Equal(t, 1, strings.Count(r.stdout, `"name": "db"`), "admin lists only the public db")
	r = ok(t, bob.run("secret", "list", "--private", "-o", "json"))
	assert.Equal(t, 1, strings.Count(r.stdout, `"private": true`))

	// references resolve the same way
	tpl := writeFile(t, "c.yaml", "user: '{{db.user}}'\n")
	r = ok(t, bob.run("resolve", tpl))
	assert.True(t, r.stdout == "user: 'bobs-own'\n", "resolve uses bob's private secret")
	r = ok(t, admin.run("resolve", tpl))
	assert.True(t, r.stdout == "user: 'shared'\n", "resolve uses the public secret for admin")

	// deleting bob's private db uncovers the public one
	ok(t, bob.run("secret", "delete", "db", "-y"))
	r = ok(t, bob.run("secret", "get", "db", "--key", "user"))
	assert.True(t, r.stdout == "shared", "after deleting the private secret the public one is used")

	// members cannot mint tokens
	oneLineError(t, bob.run("token", "create", "--user", "eve"), "lockwell: ")
}

func TestLoginAndConfigPrecedence(t *testing.T) {
	srv := startServer(t)
	cfgPath := filepath.Join(t.TempDir(), "sub", "config.json")
	base := invocation{env: map[string]string{"LOCKWELL_CONFIG": cfgPath}}

	inv := base
	inv.stdin = srv.adminToken + "\n"
	r := ok(t, inv.run("login", "--url", srv.url, "--token-stdin"))
	assert.Contains(t, r.stdout, "mode 0600")
	fi, err := os.Stat(cfgPath)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(cfgPath))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// later commands use the configuration
	ok(t, base.run("secret", "create", "fromconfig", "k=v"))
	r = ok(t, base.run("secret", "list"))
	assert.Contains(t, r.stdout, "fromconfig")

	// the environment beats the file, flags beat the environment
	inv = base
	inv.env = map[string]string{"LOCKWELL_CONFIG": cfgPath, "LOCKWELL_URL": "http://127.0.0.1:1"}
	oneLineError(t, inv.run("secret", "list", "--timeout", "2s"), "no API token for http://127.0.0.1:1: the saved login is for "+srv.url)
	inv.env["LOCKWELL_TOKEN"] = srv.adminToken
	oneLineError(t, inv.run("secret", "list", "--timeout", "2s"), "cannot reach 127.0.0.1:1")
	delete(inv.env, "LOCKWELL_TOKEN")
	ok(t, inv.run("secret", "list", "--url", srv.url))
	ok(t, inv.run("secret", "list", "--url", srv.url+"/"))

	// the saved token is never sent to another server
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), srv.adminToken) {
			leaked.Store(true)
		}
		http.Error(w, `{"error":{"code":"unauthenticated","message":"no"}}`, http.StatusUnauthorized)
	}))
	defer other.Close()
	r = base.run("secret", "list", "--url", other.URL)
	oneLineError(t, r, "the saved login is for "+srv.url)
	assert.False(t, leaked.Load(), "the saved token reached a server it was not saved for")
	inv.env["LOCKWELL_TOKEN"] = "lw_wrong"
	r = inv.run("secret", "list", "--url", srv.url)
	oneLineError(t, r, "run lockwell login")
	assert.NotContains(t, r.stderr, "lw_wrong")
	tokFile := writeFile(t, "tok", srv.adminToken+"\n")
	ok(t, inv.run("secret", "list", "--url", srv.url, "--token-file", tokFile))

	// login takes the token from --token-file too, without prompting
	ok(t, base.run("login", "--url", srv.url, "--token-file", tokFile))

	// --token works but warns; a bad token is refused before saving
	r = ok(t, base.run("login", "--url", srv.url, "--token", srv.adminToken))
	assert.Contains(t, r.stderr, "warning: --token puts the token in the process list")
	inv = base
	inv.stdin = "lw_bad\n"
	oneLineError(t, inv.run("login", "--url", srv.url, "--token-stdin"), "lockwell: ")
	// the prompt is used when nothing else gives a token
	inv = base
	inv.secrets = []string{srv.adminToken}
	ok(t, inv.run("login", "--url", srv.url))

	oneLineError(t, base.run("login", "--url", "https://user:pw@example.com", "--no-verify", "--token-stdin"), "must not contain a user name or password")
	noConfig := invocation{env: map[string]string{"LOCKWELL_CONFIG": filepath.Join(t.TempDir(), "none.json")}}
	oneLineError(t, noConfig.run("secret", "list"), "no server URL")
	noConfig.env["LOCKWELL_URL"] = srv.url
	oneLineError(t, noConfig.run("secret", "list"), "no API token")
	// a configuration others can read is used with a warning
	require.NoError(t, os.Chmod(cfgPath, 0o644))
	r = ok(t, base.run("secret", "list"))
	assert.Contains(t, r.stderr, "readable by others")
}

// TestDeletedSecretMessagesAndPurge: get and history on the id of a
// deleted secret say it is deleted and until when it can be restored;
// delete --purge destroys a deleted secret by id, or by the name it had
// when no live secret has the name and only one deleted secret had it.
func TestDeletedSecretMessagesAndPurge(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "k=v"))
	id := getSecret(t, admin, "db").ID
	r := ok(t, admin.run("secret", "delete", "db", "-y"))
	m := regexp.MustCompile(`restored until (\S+):`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	until := m[1]
	want := "the secret with id " + id + " (db) is deleted; it can be restored until " + until + " with: lockwell secret restore " + id
	fails(t, admin.run("secret", "get", id), exitNotFound, want)
	fails(t, admin.run("secret", "get", id, "--version", "1"), exitNotFound, want)
	fails(t, admin.run("secret", "history", id), exitNotFound, want)
	fails(t, admin.run("secret", "get", "9c6f3c2e-1111-4222-8333-444455556666"), exitNotFound, "no secret has the id 9c6f3c2e-1111-4222-8333-444455556666")

	// by id; --private does not pick a public one
	fails(t, admin.run("secret", "delete", id, "--purge", "--private", "-y"), exitNotFound, "the deleted secret "+id+" is public, not private")
	fails(t, admin.run("secret", "delete", id, "--purge"), exitError, "pass -y")
	r = ok(t, admin.run("secret", "delete", id, "--purge", "-y"))
	assert.Equal(t, "Purged the deleted public secret db (id "+id+"): it cannot be restored.\n", r.stdout)
	assert.Empty(t, r.stderr)
	fails(t, admin.run("secret", "restore", id), exitNotFound, "no deleted secret")
	fails(t, admin.run("secret", "get", id), exitNotFound, "no secret has the id "+id)

	// by name, when only one deleted secret had it and no live one has it
	ok(t, admin.run("secret", "create", "cache", "k=v", "--private"))
	cache := getSecret(t, admin, "cache").ID
	ok(t, admin.run("secret", "delete", "cache", "-y"))
	r = ok(t, admin.run("secret", "delete", "cache", "--purge", "-y"))
	assert.Equal(t, "Purged the deleted private secret cache (id "+cache+"): it cannot be restored.\n", r.stdout)
	r = ok(t, admin.run("secret", "list", "--deleted", "-o", "json"))
	assert.NotContains(t, r.stdout, cache)

	// a live secret of the name comes first
	ok(t, admin.run("secret", "create", "x", "k=v"))
	oldX := getSecret(t, admin, "x").ID
	ok(t, admin.run("secret", "delete", "x", "-y"))
	ok(t, admin.run("secret", "create", "x", "k=v"))
	liveX := getSecret(t, admin, "x").ID
	r = ok(t, admin.run("secret", "delete", "x", "--purge", "-y"))
	assert.Contains(t, r.stdout, "Deleted public secret x (id "+liveX+") for good")
	r = ok(t, admin.run("secret", "list", "--deleted", "-o", "json"))
	assert.Contains(t, r.stdout, oldX, "the deleted one is left alone")

	// two deleted secrets had the name: purge asks for the id
	ok(t, admin.run("secret", "create", "x", "k=v"))
	ok(t, admin.run("secret", "delete", "x", "-y"))
	fails(t, admin.run("secret", "delete", "x", "--purge", "-y"), exitConflict, "several deleted secrets were named x; purge one by its id")
	// without --purge a deleted secret's name is not found, as before
	fails(t, admin.run("secret", "delete", "x", "-y"), exitNotFound, "no secret named x")
}
