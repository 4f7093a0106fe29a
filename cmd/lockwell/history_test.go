package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	deploy "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// TestSecretHistoryDiffAndRollback: history after several updates, get
// --version, diff without values unless --show-values, and rollback.
func TestSecretHistoryDiffAndRollback(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "user=alice", "password=first-pw"))
	ok(t, admin.run("secret", "update", "db", "password=second-pw", "port=5432"))
	ok(t, admin.run("secret", "update", "db", "--remove-key", "user"))
	ok(t, admin.run("secret", "update", "db", "host=db.internal"))
	id := getSecret(t, admin, "db").ID

	r := ok(t, admin.run("secret", "history", "db"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 5, r.stdout)
	assert.Regexp(t, `^VERSION\s+CREATED\s+PRINCIPAL\s+OPERATION\s+ADDED\s+REMOVED\s+CHANGED$`, lines[0])
	assert.Contains(t, r.stdout, "4 (current)")
	for _, v := range []string{"first-pw", "second-pw", "alice", "5432", "db.internal"} {
		assert.NotContains(t, r.stdout, v, "history never shows values")
	}
	var hist []historyView
	r = ok(t, admin.run("secret", "history", id, "-o", "json"))
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &hist))
	require.Len(t, hist, 4)
	byVersion := map[int64]historyView{}
	for _, h := range hist {
		byVersion[h.Version] = h
		assert.Equal(t, "admin", h.Principal)
	}
	assert.Equal(t, []string{"port"}, byVersion[2].Added)
	assert.Equal(t, []string{"password"}, byVersion[2].Changed)
	assert.Equal(t, []string{"user"}, byVersion[3].Removed)
	assert.True(t, byVersion[4].Current)
	assert.NotContains(t, r.stdout, "second-pw")

	// get --version shows that version's values
	r = ok(t, admin.run("secret", "get", "db", "--version", "1", "-o", "json"))
	var g getJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &g))
	secrettest.AssertSameValues(t, map[string]string{"user": "alice", "password": "first-pw"}, g.Values)
	assert.EqualValues(t, 1, g.Version)
	r = ok(t, admin.run("secret", "get", "db", "--version", "2", "--key", "password"))
	assert.True(t, r.stdout == "second-pw", "--key with --version prints that version's value")
	fails(t, admin.run("secret", "get", "db", "--version", "9"), exitNotFound, "has no version 9")
	fails(t, admin.run("secret", "get", "db", "--version", "0"), exitUsage, "--version must be a version number")

	// diff: key names only, unless --show-values
	r = ok(t, admin.run("secret", "diff", "db", "1"))
	assert.Contains(t, r.stdout, "version 1 → version 4")
	assert.Contains(t, r.stdout, "+ host\n")
	assert.Contains(t, r.stdout, "+ port\n")
	assert.Contains(t, r.stdout, "- user\n")
	assert.Contains(t, r.stdout, "~ password\n")
	var d diffView
	for _, format := range []string{"table", "json", "yaml"} {
		r = ok(t, admin.run("secret", "diff", "db", "1", "2", "-o", format))
		for _, v := range []string{"first-pw", "second-pw", "alice", "5432"} {
			assert.NotContains(t, r.stdout, v, "diff -o %s shows no values without --show-values", format)
		}
	}
	r = ok(t, admin.run("secret", "diff", "db", "1", "2", "-o", "json"))
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	assert.Equal(t, diffView{ID: id, From: 1, To: 2, Added: []string{"port"}, Removed: []string{}, Changed: []string{"password"}}, d)

	r = ok(t, admin.run("secret", "diff", "db", "1", "2", "--show-values"))
	assert.NotContains(t, r.stdout, "first-pw", "--show-values masks")
	assert.NotContains(t, r.stdout, "second-pw")
	assert.Contains(t, r.stdout, "(8 characters)")
	assert.Contains(t, r.stdout, "(9 characters)")
	r = ok(t, admin.run("secret", "diff", "db", "1", "2", "--show-values=plain", "-o", "json"))
	d = diffView{}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	require.Contains(t, d.Values, "password")
	assert.Equal(t, "first-pw", *d.Values["password"].From)
	assert.Equal(t, "second-pw", *d.Values["password"].To)
	assert.Nil(t, d.Values["port"].From)
	r = ok(t, admin.run("secret", "diff", "db", "4", "4"))
	assert.Contains(t, r.stdout, "no differences")
	fails(t, admin.run("secret", "diff", "db", "x"), exitUsage, "A must be a version number")
	fails(t, admin.run("secret", "diff", "db", "1", "2", "--show-values=clear"), exitUsage, "masked (the default) or plain")

	// rollback makes a new version with version 1's values
	r = ok(t, admin.run("secret", "rollback", "db", "1"))
	assert.Contains(t, r.stdout, "Rolled back public secret db to version 1 (now version 5, 2 keys)")
	g = getSecret(t, admin, "db")
	secrettest.AssertSameValues(t, map[string]string{"user": "alice", "password": "first-pw"}, g.Values)
	r = ok(t, admin.run("secret", "history", "db"))
	assert.Regexp(t, `5 \(current\)\s+\S+\s+admin\s+rollback of 1`, r.stdout)
	fails(t, admin.run("secret", "rollback", "db", "5"), exitError, "is the current version")
	fails(t, admin.run("secret", "rollback", "db", "77"), exitNotFound, "has no version 77")
	fails(t, admin.run("secret", "rollback", "db"), exitUsage, "accepts 2 arg(s)")
}

// TestSecretDeleteRestorePurge: delete says until when and how to restore;
// list --deleted; restore with a taken name, then --name; several deleted
// secrets of one name; purge.
func TestSecretDeleteRestorePurge(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "password=pw-1"))
	id := getSecret(t, admin, "db").ID

	before := time.Now().UTC()
	r := ok(t, admin.run("secret", "delete", "db", "-y"))
	assert.Contains(t, r.stdout, "Deleted public secret db (id "+id+"). It can be restored until ")
	assert.Contains(t, r.stdout, "lockwell secret restore "+id)
	assert.Contains(t, r.stdout, before.Add(7*24*time.Hour).Format("2006-01-02"), "the default recovery window is 7 days")
	m := regexp.MustCompile(`restored until (\S+):`).FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	until := m[1]
	parsed, err := time.Parse(time.RFC3339, until)
	require.NoError(t, err, "the date is RFC 3339, as everywhere in the CLI")
	assert.Equal(t, until, displayTime(parsed), "in UTC")
	fails(t, admin.run("secret", "get", "db"), exitNotFound, "no secret named db")

	r = ok(t, admin.run("secret", "list"))
	assert.NotContains(t, r.stdout, id, "a deleted secret is not listed")
	r = ok(t, admin.run("secret", "list", "--deleted"))
	assert.Contains(t, r.stdout, "RESTORABLE UNTIL")
	assert.Regexp(t, regexp.QuoteMeta(id)+`.*\s`+regexp.QuoteMeta(until)+`\n`, r.stdout, "list --deleted shows the date delete gave, in the same format")
	r = ok(t, admin.run("secret", "list", "--deleted", "-o", "json"))
	var items []secretView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &items))
	require.Len(t, items, 1)
	assert.Equal(t, id, items[0].ID)
	assert.NotEmpty(t, items[0].Deleted)
	assert.Equal(t, until, items[0].PurgeAfter)
	assert.NotContains(t, r.stdout, "pw-1")

	// the name is free: another secret takes it, and restore asks for --name
	ok(t, admin.run("secret", "create", "db", "password=pw-2"))
	fails(t, admin.run("secret", "restore", "db"), exitConflict, "restore under a new name with --name NEW_NAME")
	ok(t, admin.run("secret", "create", "db-taken", "k=v"))
	r = fails(t, admin.run("secret", "restore", "db", "--name", "db-taken"), exitConflict, "db-taken is taken too: another secret has that name; give --name a name no secret has")
	assert.NotContains(t, r.stderr, "NEW_NAME", "--name was given")
	r = ok(t, admin.run("secret", "restore", "db", "--name", "db-old"))
	assert.Contains(t, r.stdout, "Restored public secret db-old (id "+id)
	r = ok(t, admin.run("secret", "get", "db-old", "--key", "password"))
	assert.True(t, r.stdout == "pw-1", "restored with its values")
	fails(t, admin.run("secret", "restore", id), exitConflict, "is not deleted")
	fails(t, admin.run("secret", "restore", "nope"), exitNotFound, "no deleted secret you may restore was named nope")

	// two deleted secrets that had one name: restore asks for the id
	second := getSecret(t, admin, "db").ID
	ok(t, admin.run("secret", "delete", "db", "-y"))
	ok(t, admin.run("secret", "create", "db", "password=pw-3"))
	third := getSecret(t, admin, "db").ID
	ok(t, admin.run("secret", "delete", third, "-y"))
	r = fails(t, admin.run("secret", "restore", "db"), exitConflict, "2 deleted secrets were named db; restore one by its id")
	assert.Contains(t, r.stderr, second)
	assert.Contains(t, r.stderr, third)
	r = ok(t, admin.run("secret", "restore", second))
	assert.Contains(t, r.stdout, "Restored public secret db (id "+second)
	r = ok(t, admin.run("secret", "restore", "db", "--name", "db-third"))
	assert.Contains(t, r.stdout, "id "+third)

	// completion of restore offers the names deleted secrets had
	ok(t, admin.run("secret", "delete", "db-third", "-y"))
	r = ok(t, admin.run("__complete", "secret", "restore", ""))
	assert.Contains(t, r.stdout, "db-third\tpublic")
	assert.NotContains(t, r.stdout, "db-old")

	// --purge destroys: nothing to restore; it asks like delete does
	fails(t, admin.run("secret", "delete", "db-old", "--purge"), exitError, "pass -y")
	term := admin
	term.terminal, term.stdin = true, "n\n"
	r = term.run("secret", "delete", "db-old", "--purge")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "Destroy the public secret db-old (id "+id+") for good? It cannot be restored. [y/N] lockwell: not deleted\n")
	term.stdin = "y\n"
	r = ok(t, term.run("secret", "delete", "db-old", "--purge"))
	assert.Contains(t, r.stdout, "Deleted public secret db-old (id "+id+") for good: it cannot be restored.")
	fails(t, admin.run("secret", "restore", id), exitNotFound, "no deleted secret")
	r = ok(t, admin.run("secret", "list", "--deleted", "-o", "json"))
	assert.NotContains(t, r.stdout, id)

	// a member cannot purge the admin's public secret
	r = ok(t, admin.run("token", "create", "--user", "bob"))
	bob := srv.as(t, strings.TrimSpace(r.stdout))
	fails(t, bob.run("secret", "delete", "db", "--purge", "-y"), exitDenied, "")
	assert.Equal(t, second, getSecret(t, admin, "db").ID)
}

func TestSecretHistoryHelp(t *testing.T) {
	inv := invocation{env: map[string]string{}}
	r := ok(t, inv.run("secret", "--help"))
	for _, c := range []string{"history", "diff", "rollback", "restore"} {
		assert.Contains(t, r.stdout, fmt.Sprintf("\n  %s ", c))
	}
	r = ok(t, inv.run("secret", "diff", "--help"))
	assert.Contains(t, r.stdout, "--show-values")
	r = ok(t, inv.run("admin", "--help"))
	assert.Contains(t, r.stdout, "purge")
}

// TestHistoryShowsRenamesAndPrunedVersions: what the key columns cannot
// show (a rename, a change of visibility) is in history and diff; a
// rollback onto a name taken meanwhile says which name; a pruned version
// is reported as no longer kept, not as never made.
func TestHistoryShowsRenamesAndPrunedVersions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler), History: deploy.History{KeepVersions: 3}})
	srv := &localServer{url: s.URL, adminToken: servertest.AdminToken(t, dir), dataDir: dir}
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "password=pw-1"))
	ok(t, admin.run("secret", "rename", "db", "database"))
	ok(t, admin.run("secret", "update", "database", "--visibility", "private"))

	r := ok(t, admin.run("secret", "history", "database"))
	assert.Regexp(t, `3 \(current\)\s+\S+\s+admin\s+update \(made private\)`, r.stdout)
	assert.Regexp(t, `2\s+\S+\s+admin\s+update \(renamed from db\)`, r.stdout)
	r = ok(t, admin.run("secret", "diff", "database", "1"))
	assert.Contains(t, r.stdout, "name: db → database")
	assert.Contains(t, r.stdout, "visibility: public → private")
	assert.Contains(t, r.stdout, "the same keys and values")
	assert.NotContains(t, r.stdout, "no differences")
	r = ok(t, admin.run("secret", "diff", "database", "1", "-o", "json"))
	var d diffView
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d))
	assert.Equal(t, &nameDiff{From: "db", To: "database"}, d.Name)
	assert.Equal(t, &nameDiff{From: "public", To: "private"}, d.Visibility)

	// Version 1 was called db, which another secret has now. Explaining
	// that reads no version's values: no new get_version record.
	ok(t, admin.run("secret", "create", "db", "password=other"))
	valueReads := func() int {
		r := ok(t, admin.run("audit", "--operation", "get_version", "-o", "json"))
		return strings.Count(r.stdout, `"get_version"`)
	}
	before := valueReads()
	fails(t, admin.run("secret", "rollback", "database", "1"), exitConflict, "version 1 of database was named db, and another secret has that name now")
	assert.Equal(t, before, valueReads(), "the rollback's explanation read no version's values")

	// With three versions kept, the first ones are pruned.
	ok(t, admin.run("secret", "update", "database", "password=pw-2"))
	ok(t, admin.run("secret", "update", "database", "password=pw-3"))
	fails(t, admin.run("secret", "rollback", "database", "1"), exitNotFound, "version 1 of the secret database is no longer kept")
	fails(t, admin.run("secret", "diff", "database", "2"), exitNotFound, "here 3 to 5")
	fails(t, admin.run("secret", "rollback", "database", "9"), exitNotFound, "has no version 9: its current version is 5")

	// A rollback that renames says so.
	ok(t, admin.run("secret", "update", "database", "--visibility", "public"))
	ok(t, admin.run("secret", "rename", "database", "database-2"))
	r = ok(t, admin.run("secret", "rollback", "database-2", "5"))
	assert.Contains(t, r.stdout, "Its name is version 5's again: database (it was database-2), so {{database-2.KEY}} references no longer find it.")
	assert.Contains(t, r.stdout, "It is private again, as version 5 was.")
}
