package example_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/example"
)

// stalledWriter makes the next Put of s that is about to take a version
// number stop there until release is closed; reached is closed when it does.
// Only the first such Put stops.
func stalledWriter(s *example.Store) (reached, release chan struct{}) {
	reached, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	example.SetBeforeWrite(s, func(int) {
		once.Do(func() {
			close(reached)
			<-release
		})
	})
	return reached, release
}

// TestAStalledWriterNeverTakesAFinishedWritersVersion forces the interleaving
// behind the conformance failure "the winner's values are stored ... keys with
// other values": writer B picks the next version number, stalls, and
// resumes only after writer A has written that very number and finished.
// B must take another number; it used to overwrite A's version, so that both
// refs named B's values.
func TestAStalledWriterNeverTakesAFinishedWritersVersion(t *testing.T) {
	ctx := context.Background()
	s, err := example.New(t.TempDir(), "lockwell", "d")
	require.NoError(t, err)
	id := secret.NewID()
	_, err = s.Put(ctx, id, map[string]string{"n": "0"})
	require.NoError(t, err)

	reached, release := stalledWriter(s)
	var refB string
	var errB error
	done := make(chan struct{})
	go func() {
		defer close(done)
		refB, errB = s.Put(ctx, id, map[string]string{"n": "B"})
	}()
	<-reached
	example.SetBeforeWrite(s, nil) // A runs straight through
	refA, err := s.Put(ctx, id, map[string]string{"n": "A"})
	require.NoError(t, err)
	close(release)
	<-done
	require.NoError(t, errB)

	assert.NotEqual(t, refA, refB, "two writes got the same version")
	gotA, err := s.Get(ctx, id, refA)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"n": "A"}, gotA, "A's version holds A's values")
	gotB, err := s.Get(ctx, id, refB)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"n": "B"}, gotB, "B's version holds B's values")
}

// TestTheIndexedWinnerKeepsItsValuesWhenALoserStalls is the same interleaving
// through the index pairing: A wins the index update, B (stalled before it
// wrote its values) loses it, and a read must still return A's values.
func TestTheIndexedWinnerKeepsItsValuesWhenALoserStalls(t *testing.T) {
	ctx := context.Background()
	values, err := example.New(t.TempDir(), "lockwell", "d")
	require.NoError(t, err)
	b := valuestore.Indexed(memstore.New(), values)
	s := backendtest.New("raced", "alice", false, map[string]string{"n": "0"})
	require.NoError(t, b.Create(ctx, s))

	reached, release := stalledWriter(values)
	var errB error
	done := make(chan struct{})
	go func() {
		defer close(done)
		errB = b.Update(ctx, backendtest.Next(s, func(n *secret.Secret) { n.Values = map[string]string{"n": "B"} }), 1)
	}()
	<-reached
	example.SetBeforeWrite(values, nil)
	require.NoError(t, b.Update(ctx, backendtest.Next(s, func(n *secret.Secret) { n.Values = map[string]string{"n": "A"} }), 1))
	close(release)
	<-done
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(errB), "the stalled writer loses")

	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"n": "A"}, got.Values, "the winner's values are stored")
}
