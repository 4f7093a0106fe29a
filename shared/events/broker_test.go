package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/events"
)

func event(i int) events.Event {
	return events.Event{Type: events.Updated, ID: fmt.Sprintf("id-%d", i), Version: int64(i)}
}

func TestBrokerDeliversInPublishOrderWithIncreasingIDs(t *testing.T) {
	b := events.NewBroker(10, 100)
	s, r := b.Subscribe(0)
	defer s.Close()
	assert.Empty(t, r.Backlog)
	assert.False(t, r.Gap)
	for i := range 50 {
		b.Publish(context.Background(), event(i))
	}
	var last uint64
	for i := range 50 {
		d := <-s.C
		assert.Equal(t, int64(i), d.Version)
		assert.Greater(t, d.Seq, last)
		last = d.Seq
	}
}

func TestBrokerResumesFromTheRing(t *testing.T) {
	b := events.NewBroker(5, 10)
	first, _ := b.Subscribe(0)
	var seqs []uint64
	for i := range 8 {
		b.Publish(context.Background(), event(i))
		seqs = append(seqs, (<-first.C).Seq)
	}
	first.Close()

	// Resuming after event 4: events 5, 6, 7 are in the ring, no gap.
	s, r := b.Subscribe(seqs[4])
	assert.False(t, r.Gap)
	require.Len(t, r.Backlog, 3)
	assert.Equal(t, seqs[7], r.Last)
	for i, d := range r.Backlog {
		assert.Equal(t, int64(5+i), d.Version)
	}
	// Live events follow the r.Backlog without a gap.
	b.Publish(context.Background(), event(8))
	assert.Equal(t, int64(8), (<-s.C).Version)
	s.Close()

	// The ring holds events 4..8 now. After event 2, event 3 was evicted: a gap.
	s, r = b.Subscribe(seqs[2])
	assert.True(t, r.Gap)
	assert.Len(t, r.Backlog, 5)
	s.Close()
	// After event 3 the next one (4) is the oldest kept: no gap.
	s, r = b.Subscribe(seqs[3])
	assert.False(t, r.Gap)
	s.Close()
	// An id this broker never gave (another server run) is a gap.
	s, r = b.Subscribe(seqs[7] + 100)
	assert.True(t, r.Gap)
	assert.Empty(t, r.Backlog)
	s.Close()
	// So is one from before it started.
	s, r = b.Subscribe(1)
	assert.True(t, r.Gap)
	s.Close()
}

func TestBrokerDropsASlowSubscriberWithoutBlocking(t *testing.T) {
	b := events.NewBroker(0, 4)
	slow, _ := b.Subscribe(0)
	fast, _ := b.Subscribe(0)
	got := make(chan int64, 100)
	go func() {
		for d := range fast.C {
			got <- d.Version
		}
		close(got)
	}()
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			b.Publish(context.Background(), event(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	// The slow one got the first four and was then dropped.
	var seen []int64
	for d := range slow.C {
		seen = append(seen, d.Version)
	}
	assert.Equal(t, []int64{0, 1, 2, 3}, seen)
	assert.True(t, slow.Dropped())
	fast.Close() // it may have been dropped as well; Close is safe either way
	for range got {
	}
	assert.Equal(t, 0, b.Subscribers())
}

func TestTypeOf(t *testing.T) {
	for op, want := range map[string]events.Type{
		"create": events.Created, "update": events.Updated, "migrate": events.Updated,
		"rollback": events.RolledBack, "restore": events.Restored, "delete": events.Deleted,
	} {
		assert.Equal(t, want, events.TypeOf(op), op)
	}
}
