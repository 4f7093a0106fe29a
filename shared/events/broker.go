package events

import (
	"context"
	"sync"
	"time"
)

// Defaults of NewBroker.
const (
	DefaultRing   = 4096 // events kept for resumption
	DefaultBuffer = 256  // events a subscriber may fall behind by
)

// Delivery is an event with the id the Broker gave it: ids increase in
// publish order.
type Delivery struct {
	Seq uint64
	Event
}

// Broker is the local server's event hub. Publish gives each event the
// next id, keeps the last events in a bounded ring for resumption and hands
// the event to every subscriber without ever waiting for one: a subscriber
// that has fallen DefaultBuffer events behind is dropped (its channel is
// closed and Dropped reports it), and reconnects to resume from the ring.
//
// Ids start at the broker's creation time in microseconds since the Unix
// epoch, so ids keep increasing across restarts of the server and an id
// from before a restart is older than anything in the ring: a client
// resuming with it learns that it missed events (Subscribe's gap).
//
// A Broker is safe for concurrent use.
type Broker struct {
	mu     sync.Mutex
	next   uint64     // id of the next event
	ring   []Delivery // the last len(ring) events, oldest at start
	start  int        // index of the oldest event in ring once full
	size   int
	buffer int
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBroker returns a broker keeping the last ring events (DefaultRing when
// 0 or less) for resumption, whose subscribers may fall buffer events
// behind (DefaultBuffer when 0 or less).
func NewBroker(ring, buffer int) *Broker {
	if ring <= 0 {
		ring = DefaultRing
	}
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Broker{
		next: uint64(time.Now().UnixMicro()), size: ring, buffer: buffer,
		subs: map[*Subscription]struct{}{},
	}
}

// Publish implements Publisher: it never blocks on subscribers.
func (b *Broker) Publish(_ context.Context, e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := Delivery{Seq: b.next, Event: e}
	b.next++
	if len(b.ring) < b.size {
		b.ring = append(b.ring, d)
	} else {
		b.ring[b.start] = d
		b.start = (b.start + 1) % b.size
	}
	for s := range b.subs {
		select {
		case s.ch <- d:
		default:
			s.dropped = true
			b.remove(s)
		}
	}
}

// Subscription is one subscriber's view of the broker. Read C until it is
// closed; then Dropped says whether the broker dropped it for falling
// behind (rather than Close).
type Subscription struct {
	C       <-chan Delivery
	ch      chan Delivery
	b       *Broker
	dropped bool // under b.mu
}

// Resume is where a subscription that gave a Last-Event-ID starts.
type Resume struct {
	// Backlog is every event kept in the ring after the given id, oldest
	// first; the live events follow it with no gap or duplicate.
	Backlog []Delivery
	// Gap reports that events after the given id may have been lost: it is
	// older than the ring's oldest event, or newer than any id this broker
	// gave (an id from another server run).
	Gap bool
	// Last is the id of the newest event published before the
	// subscription (one less than the next id).
	Last uint64
}

// Subscribe registers a subscriber. With after 0 it gets the events
// published from now on; with after set (a Last-Event-ID) it resumes: see
// Resume. The caller must Close the subscription.
func (b *Broker) Subscribe(after uint64) (*Subscription, Resume) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := Resume{Last: b.next - 1}
	if after != 0 {
		ordered := append(append([]Delivery(nil), b.ring[b.start:]...), b.ring[:b.start]...)
		oldest := b.next // the id the next event gets when the ring is empty
		if len(ordered) > 0 {
			oldest = ordered[0].Seq
		}
		r.Gap = after+1 < oldest || after >= b.next
		for _, d := range ordered {
			if d.Seq > after {
				r.Backlog = append(r.Backlog, d)
			}
		}
	}
	ch := make(chan Delivery, b.buffer)
	s := &Subscription{C: ch, ch: ch, b: b}
	if b.closed {
		close(ch)
		return s, r
	}
	b.subs[s] = struct{}{}
	return s, r
}

// Close ends every subscription (their channels close, Dropped false) and
// every later one at once, so that streams end when the server shuts
// down. Publish keeps working for the ring.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.remove(s)
	}
}

// Dropped reports whether the broker dropped s for falling behind.
func (s *Subscription) Dropped() bool {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	return s.dropped
}

// Close unregisters s; C is closed. Safe to call more than once.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.remove(s)
}

// remove unregisters s and closes its channel; b.mu is held.
func (b *Broker) remove(s *Subscription) {
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.ch)
	}
}

// Subscribers returns how many subscribers are registered.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}
