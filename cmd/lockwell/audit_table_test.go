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
	assert.Equal(t, []string{"SEQ", "TIME", "PRINCIPAL", "OPERATION", "PHASE", "SECRET", "ID", "VERSION", "OUTCOME", "CLIENT"}, got[0])
	secret := func(row []string) string { return row[5] }
	version := func(row []string) string { return row[7] }
	outcome := func(row []string) string { return row[8] }
	for i, want := range []struct{ secret, version, outcome string }{
		{"db", "-", "-"}, {"db", "1", "ok"}, {"db", "-", "-"}, {"db", "2", "ok"}, {"-", "-", "-"}, {"-", "-", "not_found"},
	} {
		assert.Equal(t, want.secret, secret(got[i+1]), "SECRET of record %d", i+1)
		assert.Equal(t, want.version, version(got[i+1]), "VERSION of record %d", i+1)
		assert.Equal(t, want.outcome, outcome(got[i+1]), "OUTCOME of record %d (request records have none)", i+1)
	}
	assert.Equal(t, "2026-03-04T04:06:07Z", got[1][1], "times in RFC 3339 UTC, as everywhere in the CLI")
	assert.Equal(t, "id-db", got[2][6], "the ID column")
	// A refused request without a principal: no secret, no version.
	assert.Equal(t, []string{"7", "2026-03-04T04:06:07Z", "-", "get", "response", "-", "-", "-", "unauthenticated", "-"}, got[7])

	// A name another request gave is not assumed: the secret may have been
	// called otherwise then. The ID column says which secret it is.
	got = rows(t, recs[:4], []audit.Record{{Seq: 8, Time: at, RequestID: "r9", Principal: "alice", Operation: "update", Phase: audit.PhaseRequest, SecretID: "id-db"}})
	assert.Equal(t, "-", secret(got[len(got)-1]))
	assert.Equal(t, "id-db", got[len(got)-1][6])
}

// TestAuditFollowTableAligned: with --follow pages are printed as they
// come; every row starts its columns where the header above it does, also
// when a later page has longer names or ids than the first.
func TestAuditFollowTableAligned(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var out bytes.Buffer
	p := auditPrinter{a: &app{stdout: &out}, lines: true}
	pages := [][]audit.Record{
		{{Seq: 1, Time: at, RequestID: "r1", Principal: "al", Operation: "get", Phase: audit.PhaseResponse, SecretID: "0b6f3c2e-1111-4222-8333-444455556666", SecretName: "db", Version: 1, Outcome: "ok", ClientAddr: "127.0.0.1"}},
		{},
		{{Seq: 2, Time: at, RequestID: "r2", Principal: "al", Operation: "update", Phase: audit.PhaseRequest, SecretID: "0b6f3c2e-1111-4222-8333-444455556666"}},
		{{Seq: 1234567, Time: at, RequestID: "r3", Principal: "a-principal-with-a-long-name", Operation: "revoke_own_token", Phase: audit.PhaseResponse,
			SecretID: "9c6f3c2e-1111-4222-8333-444455556666", SecretName: "a-secret-with-a-rather-long-name", Version: 12, Outcome: "failed_precondition", ClientAddr: "10.0.0.1"}},
		{{Seq: 1234568, Time: at, RequestID: "r4", Principal: "al", Operation: "get", Phase: audit.PhaseResponse, SecretID: "0b6f3c2e-1111-4222-8333-444455556666", SecretName: "db", Version: 2, Outcome: "ok", ClientAddr: "127.0.0.1"}},
	}
	for _, page := range pages {
		p.add(page)
		require.NoError(t, p.flush())
	}
	// starts returns where each of line's cells begins.
	starts := func(line string) []int {
		var s []int
		for i := range line {
			if line[i] != ' ' && (i == 0 || line[i-1] == ' ') {
				s = append(s, i)
			}
		}
		return s
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var header []int
	var rows int
	for _, line := range lines {
		if strings.HasPrefix(line, "SEQ ") {
			header = starts(line)
			continue
		}
		require.NotNil(t, header, "a row before the header: %q", out.String())
		assert.Equal(t, header, starts(line), "row %q is not aligned with its header\n%s", line, out.String())
		rows++
	}
	assert.Equal(t, 4, rows)
	assert.Equal(t, 2, strings.Count(out.String(), "SEQ "), "the header again only when the columns grew:\n%s", out.String())
	assert.Contains(t, lines[1], " 55556666 ", "a short id: the random end of the id, not its time-ordered start")
}
