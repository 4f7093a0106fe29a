//go:build !nocloud

package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/server"
)

// TestAuditEndToEnd runs operations of two principals through the real
// server and CLI, reads them back from GET /audit (lockwell audit), checks
// that no value is anywhere in the audit data, then tampers with one stored
// row and expects admin audit verify to name it.
func TestAuditEndToEnd(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	alice := srv.as(t, mintToken(t, srv, "alice", "member"))
	bob := srv.as(t, mintToken(t, srv, "bob", "admin"))
	values := []string{"e2e-value-one", "e2e-value-two", "e2e-value-three"}

	ok(t, alice.run("secret", "create", "db", "password="+values[0]))
	for i := 1; i <= 2; i++ {
		ok(t, alice.run("secret", "update", "db", "password="+values[i]))
	}
	r := ok(t, bob.run("secret", "get", "db", "-o", "json"))
	assert.Contains(t, r.stdout, values[2])
	ok(t, alice.run("secret", "delete", "db", "-y"))

	r = ok(t, admin.run("audit", "-o", "json"))
	var recs []audit.Record
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &recs))
	type step struct{ principal, op, phase, outcome string }
	var got []step
	for _, rec := range recs {
		if rec.SecretName == "db" || rec.Operation == "delete" || rec.Operation == "update" {
			got = append(got, step{rec.Principal, rec.Operation, rec.Phase, rec.Outcome})
		}
	}
	for _, want := range []step{
		{"alice", "create", audit.PhaseResponse, "ok"},
		{"alice", "update", audit.PhaseRequest, ""},
		{"alice", "update", audit.PhaseResponse, "ok"},
		{"bob", "get", audit.PhaseResponse, "ok"},
		{"alice", "delete", audit.PhaseResponse, "ok"},
	} {
		assert.Contains(t, got, want)
	}
	var updates int
	for _, s := range got {
		if s == (step{"alice", "update", audit.PhaseResponse, "ok"}) {
			updates++
		}
	}
	assert.Equal(t, 2, updates, "each update is recorded")

	// The table names the secret on request rows too, and gives them no
	// version.
	table := ok(t, admin.run("audit", "--operation", "update"))
	var requests int
	for _, line := range strings.Split(table.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) >= 9 && f[4] == audit.PhaseRequest {
			requests++
			assert.Equal(t, []string{"alice", "update", "request", "db"}, f[2:6], line)
			assert.Equal(t, []string{"-", "-"}, f[7:9], "no version, no outcome yet: %s", line)
		}
	}
	assert.Equal(t, 2, requests, "%s", table.stdout)

	// No value anywhere: not in the API's answer, not in the stored rows.
	db, err := sql.Open("sqlite", filepath.Join(srv.dataDir, server.AuditDatabaseFile))
	require.NoError(t, err)
	defer db.Close()
	var dump strings.Builder
	rows, err := db.Query(`SELECT * FROM audit_log ORDER BY seq`)
	require.NoError(t, err)
	cols, err := rows.Columns()
	require.NoError(t, err)
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		fmt.Fprintln(&dump, vals...)
		n++
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Equal(t, len(recs), n, "the API returned every stored record")
	for _, v := range values {
		assert.NotContains(t, r.stdout, v, "a value in GET /audit")
		assert.NotContains(t, dump.String(), v, "a value in the audit table")
	}
	for _, tok := range []string{srv.adminToken, alice.env["LOCKWELL_TOKEN"], bob.env["LOCKWELL_TOKEN"]} {
		assert.NotContains(t, r.stdout+dump.String(), tok, "a token in the audit data")
	}

	r = ok(t, admin.run("admin", "audit", "verify", "--data-dir", srv.dataDir))
	assert.Contains(t, r.stdout, "audit chain intact")

	// Someone with write access to the database rewrites who did it.
	_, err = db.Exec(`UPDATE audit_log SET principal = 'mallory' WHERE seq = 5`)
	require.NoError(t, err)
	r = admin.run("admin", "audit", "verify", "--data-dir", srv.dataDir)
	assert.NotEqual(t, 0, r.code, "%s", r)
	assert.Contains(t, r.stderr, "audit chain broken at record 5 (mac_mismatch)")
}

// TestAuditSecretFilterResolvesNames: --secret NAME means the secret the
// name gives now, with the records from before its rename and without
// those of other secrets that once had the name; a name no secret has any
// more falls back to the records naming it, with a note. Bad filter values
// are usage errors.
func TestAuditSecretFilterResolvesNames(t *testing.T) {
	srv := startServer(t)
	admin := srv.as(t, srv.adminToken)
	ok(t, admin.run("secret", "create", "db", "k=v1"))
	first := getSecret(t, admin, "db").ID
	ok(t, admin.run("secret", "rename", "db", "db-old"))
	ok(t, admin.run("secret", "create", "cfg", "k=v"))
	ok(t, admin.run("secret", "rename", "cfg", "db"))
	current := getSecret(t, admin, "db").ID
	ok(t, admin.run("secret", "update", "db", "k=v2"))
	ok(t, admin.run("secret", "create", "gone", "k=v"))
	ok(t, admin.run("secret", "delete", "gone", "-y"))

	records := func(args ...string) ([]audit.Record, result) {
		r := ok(t, admin.run(append([]string{"audit", "-o", "json"}, args...)...))
		var recs []audit.Record
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &recs))
		return recs, r
	}
	recs, r := records("--secret", "db")
	assert.Empty(t, r.stderr)
	ops := map[string]bool{}
	for _, rec := range recs {
		assert.Equal(t, current, rec.SecretID, "record %d is of another secret", rec.Seq)
		ops[rec.Operation+"/"+rec.SecretName] = true
	}
	assert.True(t, ops["create/cfg"], "the create under its older name: %v", ops)
	assert.True(t, ops["update/db"], "%v", ops)
	recs, _ = records("--secret", first)
	require.NotEmpty(t, recs)
	for _, rec := range recs {
		assert.Equal(t, first, rec.SecretID)
	}

	recs, r = records("--secret", "gone")
	assert.Equal(t, "No secret is named gone now (deleted or purged): showing the records that name it.\n", r.stderr)
	require.NotEmpty(t, recs)
	for _, rec := range recs {
		assert.Equal(t, "gone", rec.SecretName)
	}

	// The table has the id, and "-" for a request's outcome.
	r = ok(t, admin.run("audit", "--secret", "db", "--operation", "update"))
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 5, "the rename and the update: %s", r.stdout)
	assert.Equal(t, []string{"admin", "update", "request", "db", current[len(current)-8:], "-", "-"}, strings.Fields(lines[3])[2:9])
	assert.Equal(t, []string{"admin", "update", "response", "db", current[len(current)-8:], "3", "ok"}, strings.Fields(lines[4])[2:9])

	// Times: durations, days, dates and RFC 3339; anything else is refused.
	for _, since := range []string{"1h", "90m", "1d", "7d", "2026-01-02", "2026-01-02T15:04:05Z"} {
		recs, _ = records("--since", since, "--secret", "db")
		assert.NotEmpty(t, recs, "--since %s", since)
	}
	recs, _ = records("--until", "2000-01-01")
	assert.Empty(t, recs)
	for _, bad := range []string{"yesterday", "-1h", "-2d", "2026-13-01", "7days"} {
		fails(t, admin.run("audit", "--since", bad), exitUsage, "--since must be an RFC 3339 time (2026-01-02T15:04:05Z), a date (2026-01-02), or a duration ago (24h, 7d)")
	}
	r = fails(t, admin.run("audit", "--operation", "read"), exitUsage, `--operation must be one of create, get, get_version, lookup`)
	assert.Contains(t, r.stderr, "purge_expired")
	recs, _ = records("--operation", "purge")
	assert.Empty(t, recs)
	fails(t, admin.run("audit", "-o", "yaml"), exitUsage, "-o must be table or json")
}
