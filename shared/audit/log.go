package audit

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
)

// Log appends records to a Storage's chain and verifies it. Create one with
// New. A Log is safe for concurrent use; any number of Logs, in any number of
// processes, may append to one Storage.
type Log struct {
	st   Storage
	key  []byte
	now  func() time.Time
	sink io.Writer

	mu       sync.Mutex
	queue    []*pending
	flushing bool

	// head is the last record this Log knows stored (nil: none); known is
	// false when it must be read again. Only the one flushing goroutine uses
	// them.
	head  *Record
	known bool
}

type pending struct {
	rec  Record
	done chan error
}

// Option configures a Log.
type Option func(*Log)

// WithSink also writes every stored record to w as one JSON line, in chain
// order, for log shippers. A failed write to w does not fail Append: the
// stored chain is the record of truth.
func WithSink(w io.Writer) Option { return func(l *Log) { l.sink = w } }

// WithClock sets the clock that stamps records without a time (tests).
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// New returns a Log over st whose MACs are keyed with key (DeriveKey).
// Errors: invalid_argument for a key that is not KeySize bytes.
func New(st Storage, key []byte, opts ...Option) (*Log, error) {
	if len(key) != KeySize {
		return nil, errcode.New(errcode.InvalidArgument, "the audit key must be %d bytes", KeySize)
	}
	l := &Log{st: st, key: append([]byte(nil), key...), now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

// maxBatch bounds how many records one storage write carries.
const maxBatch = 100

// writeTimeout bounds one batch, retries included: the batch outlives any
// one caller's context.
const writeTimeout = 10 * time.Second

// raceBackoff is how a batch that lost the race for the head backs off.
var raceBackoff = retry.Policy{Base: time.Millisecond, Max: 50 * time.Millisecond}

// Append stores r at the end of the chain and returns it as stored (with
// Seq and MAC). A zero Time is set to now. Concurrent appends are written
// together. Errors: unavailable when the record could not be stored (the
// storage failed, kept losing races for writeTimeout, or ctx ended first:
// then the record may still be stored a moment later). Callers fail closed
// on any error.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	if r.Time.IsZero() {
		r.Time = l.now()
	}
	r.normalize()
	p := &pending{rec: r, done: make(chan error, 1)}
	l.mu.Lock()
	l.queue = append(l.queue, p)
	if !l.flushing {
		l.flushing = true
		go l.drain()
	}
	l.mu.Unlock()
	select {
	case err := <-p.done:
		if err != nil {
			return Record{}, err
		}
		return p.rec, nil
	case <-ctx.Done():
		return Record{}, errcode.Wrap(errcode.Unavailable, ctx.Err(), "gave up waiting for the audit record to be stored")
	}
}

// drain writes the queue in batches until it is empty.
func (l *Log) drain() {
	for {
		l.mu.Lock()
		n := min(len(l.queue), maxBatch)
		if n == 0 {
			l.flushing = false
			l.mu.Unlock()
			return
		}
		batch := l.queue[:n:n]
		l.queue = l.queue[n:]
		l.mu.Unlock()
		l.write(batch)
	}
}

// write stores batch, re-reading the head and retrying after lost races.
func (l *Log) write(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	fail := func(err error) {
		l.known = false
		for _, p := range batch {
			p.done <- err
		}
	}
	for attempt := 1; ; attempt++ {
		if !l.known {
			head, err := l.st.AuditHead(ctx)
			if err != nil {
				fail(errcode.Wrap(errcode.Unavailable, err, "read the audit chain's head"))
				return
			}
			l.head, l.known = head, true
		}
		var after int64
		prev := ""
		if l.head != nil {
			after, prev = l.head.Seq, l.head.MAC
		}
		recs := make([]Record, len(batch))
		for i, p := range batch {
			recs[i] = p.rec
			recs[i].Seq = after + 1 + int64(i)
			recs[i].MAC = mac(l.key, prev, &recs[i])
			prev = recs[i].MAC
		}
		n, err := l.st.AppendAudit(ctx, after, recs)
		if err == nil && n != len(recs) {
			err = errcode.New(errcode.Internal, "the audit storage stored %d of %d records without an error", n, len(recs))
		}
		for i := range n {
			batch[i].rec = recs[i]
			l.emit(&recs[i])
			batch[i].done <- nil
		}
		if n > 0 {
			l.head = &recs[n-1]
		}
		batch = batch[n:]
		if err == nil {
			return
		}
		if !errors.Is(err, ErrConflict) {
			fail(errcode.Wrap(errcode.Unavailable, err, "store the audit record"))
			return
		}
		l.known = false
		if werr := raceBackoff.Wait(ctx, attempt); werr != nil {
			fail(errcode.Wrap(errcode.Unavailable, err, "too many writers raced for the audit chain"))
			return
		}
	}
}

// emit writes r to the sink.
func (l *Log) emit(r *Record) {
	if l.sink == nil {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	_, _ = l.sink.Write(append(b, '\n'))
}

// MaxPage bounds Query.Limit for Read.
const MaxPage = 1000

// Read returns the records q selects, in chain order. Errors:
// invalid_argument for a Limit outside 1..MaxPage or a negative After;
// unavailable, internal.
func (l *Log) Read(ctx context.Context, q Query) ([]Record, error) {
	if q.Limit < 1 || q.Limit > MaxPage {
		return nil, errcode.New(errcode.InvalidArgument, "page size must be between 1 and %d", MaxPage)
	}
	if q.After < 0 || q.Before < 0 {
		return nil, errcode.New(errcode.InvalidArgument, "audit sequence must not be negative")
	}
	return l.st.ReadAudit(ctx, q)
}

// Reasons of a Break.
const (
	BrokenMAC      = "mac_mismatch" // the record, or the one before it, was changed
	BrokenGap      = "gap"          // records are missing before this one
	BrokenOrder    = "out_of_order" // a sequence repeats or goes back
	BrokenSequence = "bad_start"    // the chain does not start at sequence 1 (records were deleted or expired)
)

// Break is the first broken link Verify found.
type Break struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
	// Prev is the sequence of the last record that verified (0: none).
	Prev int64 `json:"prev"`
}

// Report is what Verify found.
type Report struct {
	// Checked is how many records were read; First and Last their
	// sequences (0 for an empty chain).
	Checked     int64 `json:"checked"`
	First, Last int64
	// Broken is the first broken link; nil when the chain is intact.
	Broken *Break `json:"broken,omitempty"`
}

// verifyPage is how many records Verify reads at once.
const verifyPage = 500

// Verify walks the whole chain in sequence order and reports the first
// broken link. When allowTrimmed is set, a chain whose first records were
// removed on purpose (DynamoDB's TTL) is verified from its first stored
// record on; otherwise a chain that does not start at 1 is broken there. A
// removed tail cannot be detected from the chain alone: compare Last with
// an external copy (the JSON lines sink). Errors: unavailable, internal.
func (l *Log) Verify(ctx context.Context, allowTrimmed bool) (Report, error) {
	var rep Report
	var prev *Record
	for {
		after := int64(0)
		if prev != nil {
			after = prev.Seq
		}
		page, err := l.st.ReadAudit(ctx, Query{After: after, Limit: verifyPage})
		if err != nil {
			return rep, err
		}
		for i := range page {
			r := &page[i]
			rep.Checked++
			if rep.First == 0 {
				rep.First = r.Seq
			}
			rep.Last = r.Seq
			if b := l.check(prev, r, allowTrimmed); b != nil {
				rep.Broken = b
				return rep, nil
			}
			prev = r
		}
		if len(page) < verifyPage {
			return rep, nil
		}
	}
}

// check returns the break between prev (nil: r is the first record read)
// and r, or nil.
func (l *Log) check(prev, r *Record, allowTrimmed bool) *Break {
	if prev == nil {
		if r.Seq == 1 {
			if !validMAC(l.key, "", r) {
				return &Break{Seq: r.Seq, Reason: BrokenMAC}
			}
			return nil
		}
		if !allowTrimmed {
			return &Break{Seq: r.Seq, Reason: BrokenSequence}
		}
		return nil // the first record's predecessor is gone: it anchors the walk
	}
	switch {
	case r.Seq <= prev.Seq:
		return &Break{Seq: r.Seq, Reason: BrokenOrder, Prev: prev.Seq}
	case r.Seq != prev.Seq+1:
		return &Break{Seq: r.Seq, Reason: BrokenGap, Prev: prev.Seq}
	case !validMAC(l.key, prev.MAC, r):
		return &Break{Seq: r.Seq, Reason: BrokenMAC, Prev: prev.Seq}
	}
	return nil
}
