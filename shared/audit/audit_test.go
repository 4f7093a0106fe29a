package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/errcode"
)

func TestMemory(t *testing.T) {
	audittest.Run(t, audittest.Harness{
		New: func(*testing.T) audit.Storage { return audit.NewMemory() },
		Tamper: func(_ *testing.T, st audit.Storage, seq int64, principal string) {
			st.(*audit.Memory).Tamper(seq, func(r *audit.Record) { r.Principal = principal })
		},
	})
}

func TestVerifyNamesGapAndOrder(t *testing.T) {
	ctx := context.Background()
	m := audit.NewMemory()
	l, err := audit.New(m, audittest.Key)
	require.NoError(t, err)
	for range 4 {
		_, err := l.Append(ctx, audit.Record{Principal: "a", Operation: "get", Phase: audit.PhaseResponse, Outcome: "ok"})
		require.NoError(t, err)
	}
	m.Tamper(3, func(r *audit.Record) { r.Seq = 9 })
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, &audit.Break{Seq: 9, Reason: audit.BrokenGap, Prev: 2}, rep.Broken)
	m.Tamper(9, func(r *audit.Record) { r.Seq = 2 })
	rep, err = l.Verify(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, &audit.Break{Seq: 2, Reason: audit.BrokenOrder, Prev: 2}, rep.Broken)
}

func TestAppendFailsClosed(t *testing.T) {
	m := audit.NewMemory()
	m.Fail = errcode.New(errcode.Internal, "disk full")
	l, err := audit.New(m, audittest.Key)
	require.NoError(t, err)
	_, err = l.Append(context.Background(), audit.Record{Principal: "a", Operation: "get"})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
}

func TestSinkWritesJSONLines(t *testing.T) {
	var buf bytes.Buffer
	l, err := audit.New(audit.NewMemory(), audittest.Key, audit.WithSink(&buf))
	require.NoError(t, err)
	_, err = l.Append(context.Background(), audit.Record{Principal: "a", Operation: "get", SecretID: "s1"})
	require.NoError(t, err)
	var got audit.Record
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, int64(1), got.Seq)
	assert.Equal(t, "s1", got.SecretID)
}

func TestDeriveKey(t *testing.T) {
	a, err := audit.DeriveKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	b, err := audit.DeriveKey(bytes.Repeat([]byte{8}, 32))
	require.NoError(t, err)
	assert.Len(t, a, audit.KeySize)
	assert.NotEqual(t, a, b)
	assert.NotEqual(t, bytes.Repeat([]byte{7}, 32), a, "never the store key itself")
	_, err = audit.DeriveKey([]byte("short"))
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}
