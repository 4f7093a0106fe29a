// Package retry is Lockwell's one retry policy: jittered exponential backoff
// for errors classified unavailable (throttling, timeouts, 5xx, transaction
// conflicts), bounded by an attempt count and always by the caller's context
// deadline. Every backend, value store and the API client retry through it.
package retry

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Policy says how often and how long to retry. The zero value is Default.
type Policy struct {
	Attempts int           // total attempts, including the first; 0 means 5
	Base     time.Duration // first backoff; 0 means 20ms
	Max      time.Duration // cap on one backoff; 0 means 1s
}

// Default is the policy used when none is given.
var Default = Policy{Attempts: 5, Base: 20 * time.Millisecond, Max: time.Second}

// Do calls op until it succeeds, returns an error that is not unavailable, the
// attempts run out, or ctx ends. It returns op's last error, or ctx's error
// (classified unavailable) when the deadline leaves no time for another
// attempt. Backoff is "full jitter": a uniform random wait up to the
// exponential bound.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error) error {
	p = p.withDefaults()
	var err error
	for attempt := 1; ; attempt++ {
		if err = op(ctx); err == nil || errcode.Of(err) != errcode.Unavailable || attempt >= p.Attempts {
			return err
		}
		if werr := p.Wait(ctx, attempt); werr != nil {
			if ctx.Err() == nil {
				return err // no time left for another attempt: report the real failure
			}
			return errcode.Wrap(errcode.Unavailable, ctx.Err(), "gave up retrying: %s", errcode.Message(err))
		}
	}
}

// Wait sleeps the backoff that follows failed attempt number attempt (1 for
// the first): a uniform random wait up to p.Base doubled attempt-1 times,
// capped at p.Max. It returns an error (classified unavailable) without
// waiting when ctx's deadline comes before the wait would end, and when ctx
// ends while waiting. Loops that retry on their own terms (not on
// unavailable) use it so that every retry in Lockwell backs off alike.
func (p Policy) Wait(ctx context.Context, attempt int) error {
	p = p.withDefaults()
	bound := p.Base << min(attempt-1, 30)
	if bound > p.Max || bound <= 0 {
		bound = p.Max
	}
	wait := time.Duration(rand.Int64N(int64(bound) + 1))
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return errcode.New(errcode.Unavailable, "no time left before the deadline for another attempt")
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return errcode.Wrap(errcode.Unavailable, ctx.Err(), "gave up waiting to retry")
	case <-t.C:
		return nil
	}
}

func (p Policy) withDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = Default.Attempts
	}
	if p.Base <= 0 {
		p.Base = Default.Base
	}
	if p.Max <= 0 {
		p.Max = Default.Max
	}
	return p
}
