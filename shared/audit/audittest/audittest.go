// Package audittest is the conformance suite of audit.Storage: every
// storage (SQL dialects, DynamoDB, memory) runs Run.
package audittest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
)

// Harness is what a storage gives the suite.
type Harness struct {
	// New returns a fresh, empty storage; the test closes it.
	New func(t *testing.T) audit.Storage
	// Tamper changes the principal of stored record seq to principal in
	// place, as someone with write access to the storage would, leaving its
	// MAC as it is.
	Tamper func(t *testing.T, st audit.Storage, seq int64, principal string)
}

// Key is the chain key the suite uses.
var Key = make([]byte, audit.KeySize)

func newLog(t *testing.T, st audit.Storage) *audit.Log {
	l, err := audit.New(st, Key)
	require.NoError(t, err)
	return l
}

func rec(i int, principal, op, id string) audit.Record {
	return audit.Record{
		Principal: principal, Role: "member", Operation: op, Phase: audit.PhaseResponse,
		SecretID: id, SecretName: "name-" + id, Version: int64(i), Outcome: audit.OutcomeOK,
		TokenID: "t" + id, TokenUser: "carol",
		RequestID: fmt.Sprintf("req-%d", i), ClientAddr: "127.0.0.1", UserAgent: "audittest/1 ünïcode",
	}
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	t.Run("AppendReadHead", func(t *testing.T) { testAppendReadHead(t, h) })
	t.Run("ConditionalAppend", func(t *testing.T) { testConditional(t, h) })
	t.Run("FiltersAndPages", func(t *testing.T) { testFilters(t, h) })
	t.Run("TwoProcesses", func(t *testing.T) { testTwoProcesses(t, h) })
	t.Run("TamperDetected", func(t *testing.T) { testTamper(t, h) })
}

func testAppendReadHead(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	head, err := st.AuditHead(ctx)
	require.NoError(t, err)
	assert.Nil(t, head, "an empty chain has no head")
	l := newLog(t, st)
	when := time.Date(2026, 5, 1, 12, 30, 45, 123456789, time.FixedZone("x", 3600))
	var stored []audit.Record
	for i := 1; i <= 3; i++ {
		r := rec(i, "alice", "get", fmt.Sprintf("s%d", i))
		r.Time = when.Add(time.Duration(i) * time.Second)
		got, err := l.Append(ctx, r)
		require.NoError(t, err)
		assert.Equal(t, int64(i), got.Seq)
		assert.Len(t, got.MAC, 64)
		stored = append(stored, got)
	}
	head, err = st.AuditHead(ctx)
	require.NoError(t, err)
	require.NotNil(t, head)
	assert.Equal(t, stored[2], *head)
	all, err := st.ReadAudit(ctx, audit.Query{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, stored, all, "records read back exactly as stored (time at microseconds, UTC)")
	assert.Equal(t, when.Add(time.Second).UTC().Truncate(time.Microsecond), all[0].Time)
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
	assert.Equal(t, int64(3), rep.Checked)
}

func testConditional(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	l := newLog(t, st)
	_, err := l.Append(ctx, rec(1, "alice", "get", "a"))
	require.NoError(t, err)
	// A writer that still thinks the chain is empty loses.
	r := rec(2, "mallory", "get", "b")
	r.Seq, r.Time, r.MAC = 1, time.Now().UTC().Truncate(time.Microsecond), "00"
	n, err := st.AppendAudit(ctx, 0, []audit.Record{r})
	assert.True(t, errors.Is(err, audit.ErrConflict), "got %v", err)
	assert.Equal(t, 0, n)
	all, err := st.ReadAudit(ctx, audit.Query{Limit: 10})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "alice", all[0].Principal)
	// The Log re-reads the head after a race it did not see.
	other := newLog(t, st)
	_, err = other.Append(ctx, rec(3, "bob", "get", "c"))
	require.NoError(t, err)
	got, err := l.Append(ctx, rec(4, "alice", "get", "d"))
	require.NoError(t, err)
	assert.Equal(t, int64(3), got.Seq)
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
}

func testFilters(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	l := newLog(t, st)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 12; i++ {
		principal, op := "alice", "get"
		if i%2 == 0 {
			principal = "bob"
		}
		if i%3 == 0 {
			op = "update"
		}
		r := rec(i, principal, op, fmt.Sprintf("s%d", i%4))
		r.Time = base.Add(time.Duration(i) * time.Minute)
		_, err := l.Append(ctx, r)
		require.NoError(t, err)
	}
	seqs := func(q audit.Query) []int64 {
		recs, err := st.ReadAudit(ctx, q)
		require.NoError(t, err)
		out := []int64{}
		for _, r := range recs {
			out = append(out, r.Seq)
		}
		return out
	}
	assert.Equal(t, []int64{2, 4, 6, 8, 10, 12}, seqs(audit.Query{Limit: 100, Filter: audit.Filter{Principal: "bob"}}))
	assert.Equal(t, []int64{3, 6, 9, 12}, seqs(audit.Query{Limit: 100, Filter: audit.Filter{Operation: "update"}}))
	assert.Equal(t, []int64{1, 5, 9}, seqs(audit.Query{Limit: 100, Filter: audit.Filter{Secret: "s1"}}))
	assert.Equal(t, []int64{2, 6, 10}, seqs(audit.Query{Limit: 100, Filter: audit.Filter{Secret: "name-s2"}}), "by name too")
	assert.Equal(t, []int64{4, 5}, seqs(audit.Query{Limit: 100, Filter: audit.Filter{Since: base.Add(4 * time.Minute), Until: base.Add(6 * time.Minute)}}))
	// Keyset pages of a filtered query.
	assert.Equal(t, []int64{2, 4}, seqs(audit.Query{Limit: 2, Filter: audit.Filter{Principal: "bob"}}))
	assert.Equal(t, []int64{6, 8}, seqs(audit.Query{After: 4, Limit: 2, Filter: audit.Filter{Principal: "bob"}}))
	assert.Equal(t, []int64{}, seqs(audit.Query{After: 12, Limit: 2}))
	assert.Equal(t, []int64{}, seqs(audit.Query{Limit: 5, Filter: audit.Filter{Principal: "nobody"}}))
	// Newest first, paging back in time.
	assert.Equal(t, []int64{12, 11, 10}, seqs(audit.Query{Newest: true, Limit: 3}))
	assert.Equal(t, []int64{12, 10}, seqs(audit.Query{Newest: true, Limit: 2, Filter: audit.Filter{Principal: "bob"}}))
	assert.Equal(t, []int64{8, 6}, seqs(audit.Query{Newest: true, Before: 10, Limit: 2, Filter: audit.Filter{Principal: "bob"}}))
	assert.Equal(t, []int64{5, 4}, seqs(audit.Query{Newest: true, Limit: 100, Filter: audit.Filter{Since: base.Add(4 * time.Minute), Until: base.Add(6 * time.Minute)}}))
	assert.Equal(t, []int64{}, seqs(audit.Query{Newest: true, Before: 1, Limit: 5}))
	assert.Equal(t, []int64{1}, seqs(audit.Query{Newest: true, Before: 2, Limit: 5}))
}

// testTwoProcesses appends from two Logs (two processes) on one storage
// concurrently: every record is stored once, in one unbroken chain.
func testTwoProcesses(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	logs := []*audit.Log{newLog(t, st), newLog(t, st)}
	const workers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, len(logs)*workers*each)
	seen := make(chan int64, len(logs)*workers*each)
	for li, l := range logs {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					got, err := l.Append(ctx, rec(i, fmt.Sprintf("p%d-%d", li, w), "get", "x"))
					if err != nil {
						errs <- err
						return
					}
					seen <- got.Seq
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	close(seen)
	for err := range errs {
		require.NoError(t, err)
	}
	total := len(logs) * workers * each
	unique := map[int64]bool{}
	for s := range seen {
		assert.False(t, unique[s], "sequence %d given twice", s)
		unique[s] = true
	}
	assert.Len(t, unique, total)
	rep, err := logs[0].Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
	assert.Equal(t, int64(total), rep.Checked)
	assert.Equal(t, int64(total), rep.Last)
}

func testTamper(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.New(t)
	l := newLog(t, st)
	for i := 1; i <= 5; i++ {
		_, err := l.Append(ctx, rec(i, "alice", "get", "s"))
		require.NoError(t, err)
	}
	h.Tamper(t, st, 3, "mallory")
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	require.NotNil(t, rep.Broken, "a changed record must break the chain")
	assert.Equal(t, audit.Break{Seq: 3, Reason: audit.BrokenMAC, Prev: 2}, *rep.Broken)
	// Another key does not verify the chain at all.
	wrong, err := audit.New(st, append([]byte{1}, Key[1:]...))
	require.NoError(t, err)
	rep, err = wrong.Verify(ctx, false)
	require.NoError(t, err)
	require.NotNil(t, rep.Broken)
	assert.Equal(t, int64(1), rep.Broken.Seq)
}
