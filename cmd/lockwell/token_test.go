package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/retry"
)

// mintToken creates a token for user as admin and returns it.
func mintToken(t *testing.T, srv *localServer, user, role string) string {
	t.Helper()
	r := ok(t, srv.as(t, srv.adminToken).run("token", "create", "--user", user, "--role", role))
	return strings.TrimSpace(r.stdout)
}

type listedToken struct {
	ID, User, Role, Created string
}

func listTokensJSON(t *testing.T, inv invocation) map[string]listedToken {
	t.Helper()
	r := ok(t, inv.run("token", "list", "-o", "json"))
	var items []listedToken
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &items), "token list -o json is a JSON array")
	byID := map[string]listedToken{}
	for _, it := range items {
		byID[it.ID] = it
	}
	return byID
}

func TestTokenListAndRevoke(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	carol := mintToken(t, srv, "carol", "member")
	carolID := identity.TokenIDOf(carol)
	ok(t, srv.as(t, carol).run("secret", "list"))

	got := listTokensJSON(t, admin)
	require.Contains(t, got, carolID)
	assert.Equal(t, "carol", got[carolID].User)
	assert.Equal(t, "member", got[carolID].Role)
	created, err := time.Parse(time.RFC3339, got[carolID].Created)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), created, time.Minute)
	assert.Contains(t, got, identity.TokenIDOf(srv.adminToken), "the admin's own token is listed")

	table := ok(t, admin.run("token", "list"))
	assert.True(t, strings.HasPrefix(table.stdout, "ID"), "a header line")
	assert.Contains(t, table.stdout, carolID)
	for _, out := range []string{table.stdout, table.stderr} {
		assert.False(t, strings.Contains(out, strings.TrimPrefix(carol, identity.TokenPrefix)), "no token is printed")
	}
	yaml := ok(t, admin.run("token", "list", "-o", "yaml"))
	assert.Contains(t, yaml.stdout, "id: "+carolID)
	oneLineError(t, admin.run("token", "list", "-o", "env"), "-o must be table, json or yaml")

	// Members may neither list nor revoke by id.
	oneLineError(t, srv.as(t, carol).run("token", "list"), "only admins")
	oneLineError(t, srv.as(t, carol).run("token", "revoke", identity.TokenIDOf(srv.adminToken)), "only admins")

	oneLineError(t, admin.run("token", "revoke", "carol"), "token id must be tok_")
	oneLineError(t, admin.run("token", "revoke"), "accepts 1 arg")
	r := ok(t, admin.run("token", "revoke", carolID))
	assert.Contains(t, r.stderr, "Revoked token "+carolID)
	oneLineError(t, srv.as(t, carol).run("secret", "list"), "not valid")
	oneLineError(t, admin.run("token", "revoke", carolID), "no token has id")
	assert.NotContains(t, listTokensJSON(t, admin), carolID)
}

func TestLogout(t *testing.T) {
	srv := startServer(t)
	dave := mintToken(t, srv, "dave", "member")
	configPath := filepath.Join(t.TempDir(), "config.json")
	inv := invocation{env: map[string]string{"LOCKWELL_CONFIG": configPath}}
	saved := func() config {
		t.Helper()
		data, err := os.ReadFile(configPath)
		require.NoError(t, err)
		var c config
		require.NoError(t, json.Unmarshal(data, &c))
		return c
	}
	login := func(token string) {
		t.Helper()
		in := inv
		in.stdin = token + "\n"
		ok(t, in.run("login", "--url", srv.url, "--token-stdin"))
		require.NotEmpty(t, saved().Token)
	}

	// Without --revoke: the token leaves the file and keeps working.
	login(dave)
	r := ok(t, inv.run("logout"))
	assert.Contains(t, r.stderr, "still works")
	assert.Empty(t, saved().Token)
	assert.Equal(t, srv.url, saved().URL, "the server stays saved")
	oneLineError(t, inv.run("secret", "list"), "lockwell login")
	ok(t, srv.as(t, dave).run("secret", "list"))

	// With --revoke: revoked on the server, then removed.
	login(dave)
	r = ok(t, inv.run("logout", "--revoke"))
	assert.Contains(t, r.stderr, "Revoked token "+identity.TokenIDOf(dave))
	assert.Empty(t, saved().Token)
	oneLineError(t, srv.as(t, dave).run("secret", "list"), "not valid")
	assert.False(t, strings.Contains(r.stderr+r.stdout, dave), "the token is never printed")

	// Nothing saved: nothing to do.
	r = ok(t, inv.run("logout", "--revoke"))
	assert.Contains(t, r.stderr, "No saved token")

	// A token the server already refuses is removed without an error.
	login(mintToken(t, srv, "erin", "member"))
	erin := saved().Token
	ok(t, srv.as(t, srv.adminToken).run("token", "revoke", identity.TokenIDOf(erin)))
	r = ok(t, inv.run("logout", "--revoke"))
	assert.Contains(t, r.stderr, "no longer accepts it")
	assert.Empty(t, saved().Token)

	// A server that cannot be reached: the token is removed all the same,
	// and the error names its id for an admin.
	frank := mintToken(t, srv, "frank", "member")
	require.NoError(t, os.WriteFile(configPath, []byte(`{"url":"http://127.0.0.1:1","token":"`+frank+`"}`), 0o600))
	r = inv.run("logout", "--revoke", "--timeout", "2s")
	oneLineError(t, r, "lockwell token revoke "+identity.TokenIDOf(frank))
	assert.Empty(t, saved().Token)
	assert.False(t, strings.Contains(r.stderr, frank), "the token is never printed")
}

// TestClientTokenCalls: the Go client's token calls against the real local
// server, including a revocation whose first answer is lost.
func TestClientTokenCalls(t *testing.T) {
	srv := startServer(t)
	ctx := context.Background()
	admin, err := client.New(srv.url, client.BearerToken(srv.adminToken))
	require.NoError(t, err)
	gina, err := admin.CreateToken(ctx, "gina", "admin")
	require.NoError(t, err)

	items, err := admin.ListTokens(ctx)
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.Equal(t, identity.TokenIDOf(gina), items[1].ID, "oldest first")
	assert.Equal(t, "gina", items[1].User)
	assert.Equal(t, identity.Admin, items[1].Role)

	proxyURL, _ := lossyProxy(t, srv.url, http.MethodDelete)
	lossy, err := client.New(proxyURL, client.BearerToken(srv.adminToken), client.WithRetryPolicy(retry.Policy{Attempts: 3, Base: time.Millisecond}))
	require.NoError(t, err)
	require.NoError(t, lossy.RevokeToken(ctx, identity.TokenIDOf(gina)), "the retry finds it revoked: done")
	assert.Equal(t, errcode.NotFound, errcode.Of(admin.RevokeToken(ctx, identity.TokenIDOf(gina))))
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(admin.RevokeToken(ctx, "nope")))

	hank, err := admin.CreateToken(ctx, "hank", "member")
	require.NoError(t, err)
	hankClient, err := client.New(srv.url, client.BearerToken(hank))
	require.NoError(t, err)
	_, err = hankClient.ListTokens(ctx)
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err))
	require.NoError(t, hankClient.RevokeSelf(ctx))
	_, err = hankClient.WhoAmI(ctx)
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "refused at once")
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(hankClient.RevokeSelf(ctx)))
}
