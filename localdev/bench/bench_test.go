package main

import (
	"bytes"
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/server"
)

// TestBenchRuns runs the whole benchmark at a tiny scale, so that make bench
// keeps working: every measurement succeeds and the report has its rows and
// targets.
func TestBenchRuns(t *testing.T) {
	cfg := config{Duration: 150 * time.Millisecond, Warmup: 20 * time.Millisecond, Workers: 2, Small: 20, Large: 1100, DataDir: t.TempDir()}
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	require.NoError(t, err)
	for _, m := range []measurement{res.baseline, res.get, res.create, res.update, res.listSmall, res.listLarge, res.listDeep} {
		assert.Positive(t, m.ops, m.name)
		assert.Zero(t, m.errors, m.name)
		assert.Contains(t, out.String(), m.name)
	}
	assert.Equal(t, 1100, res.large)
	assert.Contains(t, out.String(), "list (50 after 1000 of 1100)")
	assert.Contains(t, out.String(), "target: get throughput")
	assert.Contains(t, out.String(), "target: list p50")
}

// TestMain lets the test binary serve as the bench's child processes.
func TestMain(m *testing.M) {
	if runRole() {
		return
	}
	os.Exit(m.Run())
}

// TestBenchRunsAsProcesses runs the benchmark the way make bench does: the
// server and the baseline each in a process of its own.
func TestBenchRunsAsProcesses(t *testing.T) {
	cfg := config{Duration: 150 * time.Millisecond, Warmup: 20 * time.Millisecond, Workers: 2, Small: 20, Large: 40, DataDir: t.TempDir(), Processes: true}
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	require.NoError(t, err)
	for _, m := range []measurement{res.baseline, res.get, res.create, res.update, res.listSmall, res.listLarge} {
		assert.Positive(t, m.ops, m.name)
		assert.Zero(t, m.errors, m.name)
	}
}

// TestBenchRunsOnPostgres runs the benchmark with the server on PostgreSQL,
// as make bench does after the SQLite run, in a schema of its own that is
// gone afterwards.
func TestBenchRunsOnPostgres(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	storeURL, drop, err := benchSchema(context.Background(), pgURL)
	require.NoError(t, err)
	schema, err := url.Parse(storeURL)
	require.NoError(t, err)
	require.NotEmpty(t, schema.Query().Get("search_path"))
	cfg := config{Duration: 150 * time.Millisecond, Warmup: 20 * time.Millisecond, Workers: 2, Small: 20, Large: 40,
		DataDir: t.TempDir(), StoreURL: storeURL, Processes: true}
	var out bytes.Buffer
	res, err := run(context.Background(), cfg, &out)
	require.NoError(t, err)
	for _, m := range []measurement{res.baseline, res.get, res.create, res.update, res.listSmall, res.listLarge} {
		assert.Positive(t, m.ops, m.name)
		assert.Zero(t, m.errors, m.name)
	}
	assert.NoFileExists(t, filepath.Join(cfg.DataDir, server.DatabaseFile), "the server used SQLite")

	drop()
	db, err := sql.Open("pgx", pgURL)
	require.NoError(t, err)
	defer db.Close()
	var left int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, schema.Query().Get("search_path")).Scan(&left))
	assert.Zero(t, left, "the bench's schema is dropped")
}
