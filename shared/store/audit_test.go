package store_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/store"
)

func auditedStore(t *testing.T) (*store.Store, *audit.Memory) {
	m := audit.NewMemory()
	l, err := audit.New(m, audittest.Key)
	require.NoError(t, err)
	return store.New(memstore.New(), store.WithAuditLog(l)), m
}

func allRecords(t *testing.T, m *audit.Memory) []audit.Record {
	recs, err := m.ReadAudit(ctx, audit.Query{Limit: 1000})
	require.NoError(t, err)
	return recs
}

type brief struct{ principal, op, phase, id, name, outcome string }

func briefs(recs []audit.Record) []brief {
	out := []brief{}
	for _, r := range recs {
		out = append(out, brief{r.Principal, r.Operation, r.Phase, r.SecretID, r.SecretName, r.Outcome})
	}
	return out
}

func TestAuditRecordsEachOperation(t *testing.T) {
	st, m := auditedStore(t)
	actx := audit.WithRequest(ctx, audit.RequestFacts{ID: "req-1", ClientAddr: "127.0.0.1", UserAgent: "test"})
	sec, err := st.Create(actx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"password": "hunter2-value"}})
	require.NoError(t, err)
	_, err = st.Get(actx, bob, sec.ID)
	require.NoError(t, err)
	_, err = st.Lookup(actx, bob, "db")
	require.NoError(t, err)
	_, err = st.Update(actx, alice, sec.ID, store.UpdateRequest{Values: map[string]*string{"password": ptr("s3cond-value")}})
	require.NoError(t, err)
	_, err = st.Lookup(actx, bob, "nope")
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	_, err = st.List(actx, bob, store.ListRequest{})
	require.NoError(t, err)
	require.NoError(t, deleteErr(st, actx, bob, sec.ID, 0))

	recs := allRecords(t, m)
	assert.Equal(t, []brief{
		{"alice", "create", audit.PhaseRequest, "", "db", ""},
		{"alice", "create", audit.PhaseResponse, sec.ID, "db", "ok"},
		{"bob", "get", audit.PhaseResponse, sec.ID, "db", "ok"},
		{"bob", "lookup", audit.PhaseResponse, sec.ID, "db", "ok"},
		{"alice", "update", audit.PhaseRequest, sec.ID, "", ""},
		{"alice", "update", audit.PhaseResponse, sec.ID, "db", "ok"},
		{"bob", "lookup", audit.PhaseResponse, "", "nope", "not_found"},
		{"bob", "delete", audit.PhaseRequest, sec.ID, "", ""},
		{"bob", "delete", audit.PhaseResponse, sec.ID, "db", "ok"}, // a delete answers with the secret it moved into the recovery window,
	}, briefs(recs), "list is not audited; each read and change is, with its principal")
	assert.Equal(t, int64(2), recs[5].Version)
	assert.Equal(t, "req-1", recs[2].RequestID)
	assert.Equal(t, "127.0.0.1", recs[2].ClientAddr)
	raw, err := json.Marshal(recs)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "hunter2-value")
	assert.NotContains(t, string(raw), "s3cond-value")
}

func TestAuditFailsClosed(t *testing.T) {
	st, m := auditedStore(t)
	sec, err := st.Create(ctx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"password": "v1"}})
	require.NoError(t, err)
	m.Fail = errcode.New(errcode.Unavailable, "audit storage down")

	got, err := st.Get(ctx, alice, sec.ID)
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Nil(t, got, "no values without an audit record")
	got, err = st.Lookup(ctx, alice, "db")
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Nil(t, got)

	_, err = st.Update(ctx, alice, sec.ID, store.UpdateRequest{Values: map[string]*string{"password": ptr("v2")}})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	_, err = st.Create(ctx, alice, store.CreateRequest{Name: "other"})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err))
	assert.Equal(t, errcode.Unavailable, errcode.Of(deleteErr(st, ctx, alice, sec.ID, 0)))

	m.Fail = nil
	now, err := st.Get(ctx, alice, sec.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), now.Version, "nothing changed")
	assert.Equal(t, "v1", now.Values["password"])
	_, err = st.Lookup(ctx, alice, "other")
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "nothing created")
}
