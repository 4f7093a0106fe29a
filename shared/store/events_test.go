package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/store"
)

// collected is a Publisher that keeps what it gets.
type collected struct {
	mu  sync.Mutex
	got []events.Event
}

func (c *collected) Publish(_ context.Context, e events.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, e)
}

func TestEveryCommittedChangeEmitsOneEventWithoutValues(t *testing.T) {
	var c collected
	st := store.New(memstore.New(), store.WithEvents(&c))
	id := mustCreate(t, st, alice, "db", true, map[string]string{"password": "hunter2"})
	_, err := st.Update(ctx, alice, id, store.UpdateRequest{Values: map[string]*string{"password": ptr("s3cret")}})
	require.NoError(t, err)
	// Refused changes emit nothing.
	_, err = st.Update(ctx, bob, id, store.UpdateRequest{Name: ptr("x")})
	require.Error(t, err)
	_, err = st.Update(ctx, alice, id, store.UpdateRequest{Name: ptr("x"), IfMatch: 1})
	require.Error(t, err)
	require.Error(t, deleteErr(st, ctx, bob, id, 0))
	_, err = st.Rollback(ctx, alice, id, store.RollbackRequest{Version: 1})
	require.NoError(t, err)
	require.NoError(t, deleteErr(st, ctx, alice, id, 0))
	_, err = st.Restore(ctx, alice, id, store.RestoreRequest{})
	require.NoError(t, err)
	_, err = st.Delete(ctx, alice, id, store.DeleteRequest{Purge: true})
	require.NoError(t, err)

	require.Len(t, c.got, 6)
	for i, want := range []struct {
		typ     events.Type
		version int64
	}{{events.Created, 1}, {events.Updated, 2}, {events.RolledBack, 3}, {events.Deleted, 4}, {events.Restored, 5}, {events.Purged, 5}} {
		e := c.got[i]
		assert.Equal(t, want.typ, e.Type)
		assert.Equal(t, want.version, e.Version)
		assert.Equal(t, id, e.ID)
		assert.Equal(t, "db", e.Name)
		assert.Equal(t, "alice", e.Owner)
		assert.Equal(t, "alice", e.Principal)
		assert.True(t, e.Private)
		assert.False(t, e.Time.IsZero())
		b, _ := json.Marshal(e)
		assert.NotContains(t, string(b), "hunter2")
		assert.NotContains(t, string(b), "s3cret")
		assert.NotContains(t, string(b), "password")
	}
}
