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
		if len(f) >= 7 && f[4] == audit.PhaseRequest {
			requests++
			assert.Equal(t, []string{"alice", "update", "request", "db", "-"}, f[2:7], line)
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
