package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// awkward holds values that break naive quoting in some format.
var awkward = map[string]string{
	"empty":     "",
	"newline":   "line1\nline2",
	"trailing":  "ends with newline\n",
	"crlf":      "a\r\nb",
	"quotes":    `she said "hi" and 'bye'`,
	"equals":    "a=b=c",
	"hash":      "# not a comment",
	"hash_mid":  "value #still value",
	"unicode":   "päßwörd ✓ 日本語 🎉",
	"spaces":    "  padded  ",
	"backslash": `C:\path\n\t`,
	"dollar":    "$HOME ${X} `cmd`",
	"yamlish":   "- item: {a: 1}",
	"yes":       "yes",
	"null":      "null",
	"tilde":     "~",
	"number":    "0123",
	"float":     "1e3",
	"tab":       "\tt",
	"ref":       "{{db.user}}",
	"only_nl":   "\n",
	"nul":       "a\x00b",
	"bom":       "\ufeffx",
	"html":      "<a href='x'>&amp;</a>",
	"at":        "@file",
}

// Without a server: every format the CLI writes reads back exactly.
func TestValuesFormatsRoundTrip(t *testing.T) {
	for _, format := range []string{"yaml", "json", "env"} {
		t.Run(format, func(t *testing.T) {
			data, err := encodeValues(awkward, format)
			require.NoError(t, err)
			got, err := parseValues(data, "values."+format)
			require.NoError(t, err)
			secrettest.AssertSameValues(t, awkward, got)
			// and without a telling file name (as from standard input)
			got, err = parseValues(data, "-")
			require.NoError(t, err)
			secrettest.AssertSameValues(t, awkward, got)
		})
	}
}

// A one-key .env document whose value holds ": " is also a YAML mapping
// (K="a: b" reads as {`K="a`: `b"`}); from standard input, where no file
// name says .env, it must still read back as the .env it is.
func TestValuesFormatsRoundTripOneKey(t *testing.T) {
	for _, v := range []string{"a: b", "a: b # c", "{a: 1}", "x: y\n", "- x", "k=v", "? x"} {
		for _, format := range []string{"yaml", "json", "env"} {
			in := map[string]string{"K": v}
			data, err := encodeValues(in, format)
			require.NoError(t, err)
			got, err := parseValues(data, "-")
			require.NoError(t, err, format)
			secrettest.AssertSameValues(t, in, got)
		}
	}
}

// JSON null is not a string: it must not silently become "" (in an update
// it would look like a merge patch's "remove this key").
func TestJSONNullIsNotAValue(t *testing.T) {
	_, err := parseValues([]byte(`{"k": null}`), "-")
	require.Error(t, err)
	assert.Contains(t, errcode.Message(err), "value of key k is not a string")
	_, err = parseExport(strings.NewReader(`{"format": "lockwell.secrets/v1", "secrets": [{"name": "x", "values": {"k": null}}]}`))
	require.Error(t, err)
	assert.Contains(t, errcode.Message(err), "secret x: value of key k is not a string")
}

func TestParseValuesErrorsNeverShowValues(t *testing.T) {
	for _, in := range []string{
		`{"k": ["hunter2"]}`,
		"k:\n  - hunter2\n",
		"k: [hunter2\n",
		"k: null\n",
	} {
		_, err := parseValues([]byte(in), "-")
		require.Error(t, err, in)
		assert.NotContains(t, err.Error(), "hunter2")
	}
}

// secret export and secret create --values round-trip exactly through the
// server, in every format.
func TestSecretExportCreateRoundTrip(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	src, err := json.Marshal(awkward)
	require.NoError(t, err)
	ok(t, admin.run("secret", "create", "awk", "--values", "@"+writeFile(t, "awk.json", string(src))))
	secrettest.AssertSameValues(t, awkward, getSecret(t, admin, "awk").Values)

	for _, format := range []string{"yaml", "json", "env"} {
		t.Run(format, func(t *testing.T) {
			// to standard output, then from a file
			r := ok(t, admin.run("secret", "export", "awk", "-o", format))
			file := writeFile(t, "awk."+format, r.stdout)
			ok(t, admin.run("secret", "create", "awk-"+format, "--values", "@"+file))
			secrettest.AssertSameValues(t, awkward, getSecret(t, admin, "awk-"+format).Values)

			// to a file (mode 0600), format from its name, then from stdin
			out := filepath.Join(t.TempDir(), "exported."+format)
			ok(t, admin.run("secret", "export", "awk", "--file", out))
			fi, err := os.Stat(out)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			data, err := os.ReadFile(out)
			require.NoError(t, err)
			inv := admin
			inv.stdin = string(data)
			ok(t, inv.run("secret", "create", "awk-stdin-"+format, "--values", "@-"))
			secrettest.AssertSameValues(t, awkward, getSecret(t, admin, "awk-stdin-"+format).Values)
		})
	}
}

func TestExportAllImport(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	src, err := json.Marshal(awkward)
	require.NoError(t, err)
	ok(t, admin.run("secret", "create", "awk", "--values", string(src)))
	ok(t, admin.run("secret", "create", "db", "user=alice", "password=pw"))
	ok(t, admin.run("secret", "create", "db", "user=mine", "--private"))

	for _, format := range []string{"yaml", "json"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "all."+format)
			r := ok(t, admin.run("export", "--all", "-f", file))
			assert.Contains(t, r.stderr, "Exported 3 secrets")
			fi, err := os.Stat(file)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

			// into an empty server: everything is created, private stays private
			dst := startServer(t)
			to := dst.as(t, dst.adminToken)
			r = ok(t, to.run("import", file, "--dry-run"))
			assert.Contains(t, r.stdout, "create awk (public): 25 keys")
			assert.Contains(t, r.stdout, "create db (private): 1 key")
			assert.Contains(t, r.stdout, "Dry run")
			assert.NotContains(t, r.stdout, "alice")
			r = ok(t, to.run("secret", "list", "-o", "json"))
			assert.Equal(t, "[]\n", r.stdout, "a dry run changes nothing")

			ok(t, to.run("import", file))
			secrettest.AssertSameValues(t, awkward, getSecret(t, to, "awk").Values)
			g := getSecret(t, to, "db")
			assert.True(t, g.Private)
			secrettest.AssertSameValues(t, map[string]string{"user": "mine"}, g.Values)
			r = ok(t, to.run("secret", "list", "--public", "-o", "json"))
			assert.Contains(t, r.stdout, `"name": "db"`)

			// conflicts: fail imports nothing, skip leaves, overwrite replaces exactly
			ok(t, to.run("secret", "update", "awk", "extra=1", "--remove-key", "empty"))
			_ = to.run("secret", "delete", "db", "-y") // the private one
			oneLineError(t, to.run("import", file), "secrets already exist, so nothing was imported: awk (public), db (public)")
			r = ok(t, to.run("import", file, "--on-conflict", "skip"))
			assert.Contains(t, r.stdout, "skip   awk (public): exists")
			assert.Contains(t, r.stdout, "create db (private)")
			r = ok(t, to.run("import", file, "--on-conflict", "overwrite", "--dry-run"))
			assert.Contains(t, r.stdout, "update awk (public): +empty -extra")
			assert.Contains(t, r.stdout, "same   db (private): unchanged")
			assert.NotContains(t, r.stdout, "alice")
			ok(t, to.run("import", file, "--on-conflict", "overwrite"))
			secrettest.AssertSameValues(t, awkward, getSecret(t, to, "awk").Values)
			g = getSecret(t, to, "db") // private first
			secrettest.AssertSameValues(t, map[string]string{"user": "mine"}, g.Values)
		})
	}

	oneLineError(t, admin.run("export"), "export needs --all")
	oneLineError(t, admin.run("import", writeFile(t, "bad.yaml", "a: b\n")), "not an export document")
	oneLineError(t, admin.run("import", writeFile(t, "bad.json", `{"format": "lockwell.secrets/v1", "secrets": [{"name": "x", "values": {"k": 1}}]}`)), "secret x: value of key k is not a string")
	oneLineError(t, admin.run("import", writeFile(t, "dup.yaml", "format: lockwell.secrets/v1\nsecrets:\n- name: a\n- name: a\n")), "secret a (public) appears twice")
	oneLineError(t, admin.run("import", "x", "--on-conflict", "merge"), "--on-conflict must be fail, skip or overwrite")
}

func TestResolveFiles(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "user=alice", "password=p@ss: #1\nline2"))

	yamlIn := "# deploy config\ndb:\n  url: postgres://{{db.user}}@h/db\n  password: '{{ db.password }}'\n  port: 5432\nplain: text\n"
	r := ok(t, admin.run("resolve", writeFile(t, "c.yaml", yamlIn)))
	assert.Contains(t, r.stdout, "# deploy config")
	assert.Contains(t, r.stdout, "url: postgres://alice@h/db")
	assert.Contains(t, r.stdout, "port: 5432")

	jsonIn := `{"url": "postgres://{{db.user}}@h/db", "n": 1, "password": "{{db.password}}"}`
	out := filepath.Join(t.TempDir(), "out.json")
	ok(t, admin.run("resolve", writeFile(t, "c.json", jsonIn), "-f", out))
	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(data, &got))
	assert.True(t, got["password"] == "p@ss: #1\nline2", "JSON password resolved")
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	envIn := "# env\nDB_USER={{db.user}}\nDB_PASSWORD={{db.password}}\nOTHER='kept as is'\n"
	r = ok(t, admin.run("resolve", writeFile(t, "app.env", envIn)))
	vals, err := parseValues([]byte(r.stdout), "x.env")
	require.NoError(t, err)
	secrettest.AssertSameValues(t, map[string]string{"DB_USER": "alice", "DB_PASSWORD": "p@ss: #1\nline2", "OTHER": "kept as is"}, vals)
	assert.Contains(t, r.stdout, "OTHER='kept as is'\n", "unchanged lines are kept verbatim")

	// from standard input with an explicit format
	inv := admin
	inv.stdin = "U={{db.user}}\n"
	r = ok(t, inv.run("resolve", "-", "--format", "env"))
	assert.True(t, r.stdout == "U=alice\n", "stdin rendered")

	// checks never print values, and report every problem
	bad := writeFile(t, "bad.yaml", "a: '{{db.user}}'\nb: '{{db.nokey}}'\nc: 'x {{gone.k}}'\n")
	for _, c := range []struct {
		level    string
		code     int
		problems int
	}{{"none", 0, 0}, {"secret", 1, 1}, {"key", 1, 2}} {
		r = admin.run("resolve", bad, "--check", c.level)
		assert.Equal(t, c.code, r.code, "%s: %s", c.level, r)
		assert.NotContains(t, r.stdout+r.stderr, "alice")
		if c.problems > 0 {
			assert.Contains(t, r.stderr, "c: secret reference {{gone.k}}: no secret named gone: neither a private one of yours nor a public one")
			assert.Contains(t, r.stderr, "failed the "+c.level+" check")
		}
		if c.level == "key" {
			assert.Contains(t, r.stderr, "b: secret reference {{db.nokey}}: the secret db does not contain a value for key nokey. Available keys: password, user")
		}
	}
	r = ok(t, admin.run("resolve", writeFile(t, "good.yaml", "a: '{{db.user}}'\n"), "--check", "key"))
	assert.Contains(t, r.stdout, "1 references pass the key check")

	// rendering stops at the first missing reference, with one line
	oneLineError(t, admin.run("resolve", bad), "b: secret reference {{db.nokey}}: the secret db does not contain a value for key nokey")
	oneLineError(t, admin.run("resolve", bad, "--check", "everything"), "check level must be none, secret or key")

	// a file without references needs no server at all
	r = ok(t, invocation{env: map[string]string{"LOCKWELL_CONFIG": "/nonexistent"}}.run("resolve", writeFile(t, "p.yaml", "a: b\n")))
	assert.True(t, strings.TrimSpace(r.stdout) == "a: b", "plain file passes through")
}
