package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
)

// TestAuditTableColumns: the SECRET column names a secret the same way on
// every row (its name when any record gave it, else its id), and VERSION
// says "-" where the record holds none (request records, refusals).
func TestAuditTableColumns(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	recs := []audit.Record{
		{Seq: 1, Time: at, RequestID: "r1", Principal: "alice", Operation: "create", Phase: audit.PhaseRequest, SecretName: "db"},
		{Seq: 2, Time: at, RequestID: "r1", Principal: "alice", Operation: "create", Phase: audit.PhaseResponse, SecretID: "id-db", SecretName: "db", Version: 1, Outcome: "ok"},
		{Seq: 3, Time: at, RequestID: "r2", Principal: "alice", Operation: "update", Phase: audit.PhaseRequest, SecretID: "id-db"},
		{Seq: 4, Time: at, RequestID: "r2", Principal: "alice", Operation: "update", Phase: audit.PhaseResponse, SecretID: "id-db", SecretName: "db", Version: 2, Outcome: "ok"},
		{Seq: 5, Time: at, RequestID: "r3", Principal: "bob", Operation: "delete", Phase: audit.PhaseRequest, SecretID: "id-other"},
		{Seq: 6, Time: at, RequestID: "r3", Principal: "bob", Operation: "delete", Phase: audit.PhaseResponse, SecretID: "id-other", Outcome: "not_found"},
		{Seq: 7, Time: at, RequestID: "r4", Principal: "", Operation: "get", Phase: audit.PhaseResponse, Outcome: "unauthenticated"},
	}
	rows := func(t *testing.T, pages ...[]audit.Record) [][]string {
		var out bytes.Buffer
		p := auditPrinter{a: &app{stdout: &out}, lines: true}
		for _, page := range pages {
			p.add(page)
			require.NoError(t, p.flush())
		}
		var rows [][]string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			rows = append(rows, strings.Fields(line))
		}
		return rows
	}
	got := rows(t, recs)
	require.Len(t, got, 8)
	assert.Equal(t, []string{"SEQ", "TIME", "PRINCIPAL", "OPERATION", "PHASE", "SECRET", "VERSION", "OUTCOME", "CLIENT"}, got[0])
	secret := func(row []string) string { return row[5] }
	version := func(row []string) string { return row[6] }
	for i, want := range []struct{ secret, version string }{
		{"db", "-"}, {"db", "1"}, {"db", "-"}, {"db", "2"}, {"id-other", "-"}, {"id-other", "-"},
	} {
		assert.Equal(t, want.secret, secret(got[i+1]), "SECRET of record %d", i+1)
		assert.Equal(t, want.version, version(got[i+1]), "VERSION of record %d", i+1)
	}
	assert.Equal(t, "2026-03-04T04:06:07Z", got[1][1], "times in RFC 3339 UTC, as everywhere in the CLI")
	// A refused request without a principal: no secret, no version.
	assert.Equal(t, []string{"7", "2026-03-04T04:06:07Z", "get", "response", "-", "-", "unauthenticated"}, got[7])

	// Following: the response of an earlier page named the secret.
	got = rows(t, recs[:4], []audit.Record{{Seq: 8, Time: at, RequestID: "r9", Principal: "alice", Operation: "update", Phase: audit.PhaseRequest, SecretID: "id-db"}})
	assert.Equal(t, "db", secret(got[len(got)-1]))
}
