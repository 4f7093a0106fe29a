package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
