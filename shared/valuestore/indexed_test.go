package valuestore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/store/storetest"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/example"
)

func fileValues(t *testing.T) *example.Store {
	s, err := example.New(t.TempDir(), "lockwell", "deployment-1")
	require.NoError(t, err)
	return s
}

func TestIndexedPassesTheBackendConformanceSuite(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		return valuestore.Indexed(memstore.New(), fileValues(t))
	})
}

func TestIndexedKeepsTheStoresPromises(t *testing.T) {
	storetest.Run(t, func(t *testing.T) backend.Backend {
		return valuestore.Indexed(memstore.New(), fileValues(t))
	})
}

// failingIndex fails every create, as an index that is down would.
type failingIndex struct{ backend.Backend }

func (failingIndex) Create(context.Context, *secret.Secret) error {
	return errcode.New(errcode.Unavailable, "index down")
}

func TestCreateRemovesTheValuesWhenTheIndexWriteFails(t *testing.T) {
	values := fileValues(t)
	b := valuestore.Indexed(failingIndex{memstore.New()}, values)
	err := b.Create(context.Background(), backendtest.New("x", "alice", false, map[string]string{"k": "v"}))
	require.Equal(t, errcode.Unavailable, errcode.Of(err))
	n := 0
	require.NoError(t, values.Entries(context.Background(), func(string) error { n++; return nil }))
	assert.Zero(t, n, "no value entry is left behind")
}

// ambiguousIndex stores every create but reports it as failed, as an index
// whose commit landed just before the request timed out does.
type ambiguousIndex struct{ backend.Backend }

func (a ambiguousIndex) Create(ctx context.Context, s *secret.Secret) error {
	if err := a.Backend.Create(ctx, s); err != nil {
		return err
	}
	return errcode.New(errcode.Unavailable, "index did not answer in time")
}

func TestCreateKeepsTheValuesWhenTheIndexWriteMayHaveLanded(t *testing.T) {
	ctx := context.Background()
	b := valuestore.Indexed(ambiguousIndex{memstore.New()}, fileValues(t))
	s := backendtest.New("x", "alice", false, map[string]string{"k": "v"})
	require.Equal(t, errcode.Unavailable, errcode.Of(b.Create(ctx, s)))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err, "the index entry that landed must still have its values")
	backendtest.SameValues(t, map[string]string{"k": "v"}, got.Values)
}

func TestTheIndexOnlyEverPointsAtTheWinnersValues(t *testing.T) {
	ctx := context.Background()
	b := valuestore.Indexed(memstore.New(), fileValues(t))
	s := backendtest.New("raced", "alice", false, map[string]string{"k": "first"})
	require.NoError(t, b.Create(ctx, s))
	winner := backendtest.Next(s, func(n *secret.Secret) { n.Values = map[string]string{"k": "winner"} })
	loser := backendtest.Next(s, func(n *secret.Secret) { n.Values = map[string]string{"k": "loser"} })
	require.NoError(t, b.Update(ctx, winner, 1))
	require.Equal(t, errcode.FailedPrecondition, errcode.Of(b.Update(ctx, loser, 1)))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"k": "winner"}, got.Values, "the losing writer's values must not replace the winner's")
}

func TestSizeLimitNamesTheStore(t *testing.T) {
	values := fileValues(t)
	b := valuestore.Indexed(memstore.New(), values)
	big := strings.Repeat("x", values.Limit())
	err := b.Create(context.Background(), backendtest.New("big", "alice", false, map[string]string{"k": big}))
	require.Equal(t, errcode.TooLarge, errcode.Of(err))
	assert.Contains(t, errcode.Message(err), values.Name())
}

func TestSweepRemovesOnlyOrphans(t *testing.T) {
	ctx := context.Background()
	index, values := memstore.New(), fileValues(t)
	b := valuestore.Indexed(index, values)
	kept := backendtest.New("kept", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, kept))
	// A crash between the two writes of a create leaves values without an
	// index entry.
	orphan := secret.NewID()
	_, err := values.Put(ctx, orphan, map[string]string{"k": "v"})
	require.NoError(t, err)

	var found []string
	n, err := valuestore.Sweep(ctx, index, values, valuestore.SweepOptions{DryRun: true, Found: func(id string) { found = append(found, id) }})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{orphan}, found)

	n, err = valuestore.Sweep(ctx, index, values, valuestore.SweepOptions{Grace: time.Millisecond})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = values.Get(ctx, orphan, "1")
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	got, err := b.Get(ctx, kept.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"k": "v"}, got.Values)
}

// landsAfterFirstLook is an index whose Get of id, the first time, answers
// as the index stood and then runs land: a create's index write landing
// right after Sweep first saw its values orphaned.
type landsAfterFirstLook struct {
	backend.Backend
	id   string
	land func()
}

func (l *landsAfterFirstLook) Get(ctx context.Context, id string) (*secret.Secret, error) {
	s, err := l.Backend.Get(ctx, id)
	if id == l.id && l.land != nil {
		l.land()
		l.land = nil
	}
	return s, err
}

// TestSweepSparesACreateThatFinishesDuringTheGrace: the create's second
// write lands after Sweep's first look and before its look after the
// grace, by construction rather than by timing.
func TestSweepSparesACreateThatFinishesDuringTheGrace(t *testing.T) {
	ctx := context.Background()
	mem, values := memstore.New(), fileValues(t)
	s := backendtest.New("slow", "alice", false, map[string]string{"k": "v"})
	ref, err := values.Put(ctx, s.ID, s.Values) // the create's first write
	require.NoError(t, err)
	landed := false
	index := &landsAfterFirstLook{Backend: mem, id: s.ID, land: func() {
		entry := s.Clone()
		entry.Values, entry.ValuesRef = nil, ref
		require.NoError(t, mem.Create(ctx, entry)) // its second write lands within the grace
		landed = true
	}}
	n, err := valuestore.Sweep(ctx, index, values, valuestore.SweepOptions{Grace: time.Millisecond})
	require.NoError(t, err)
	require.True(t, landed, "Sweep looked at the entry")
	assert.Zero(t, n)
	_, err = values.Get(ctx, s.ID, ref)
	require.NoError(t, err)
}

// countingValues counts reads of the value store.
type countingValues struct {
	valuestore.Store
	gets int
}

func (c *countingValues) Get(ctx context.Context, id, ref string) (map[string]string, error) {
	c.gets++
	return c.Store.Get(ctx, id, ref)
}

func TestDeleteDoesNotReadTheValueStore(t *testing.T) {
	values := &countingValues{Store: fileValues(t)}
	st := store.New(valuestore.Indexed(memstore.New(), values))
	alice := identity.Principal{Name: "alice"}
	s, err := st.Create(context.Background(), alice, store.CreateRequest{Name: "x", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	_, err = st.Delete(context.Background(), alice, s.ID, store.DeleteRequest{Purge: true})
	require.NoError(t, err)
	assert.Zero(t, values.gets, "a purge needs no values")
}
