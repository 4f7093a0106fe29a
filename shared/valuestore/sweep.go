package valuestore

import (
	"context"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
)

// SweepOptions configure Sweep.
type SweepOptions struct {
	// Grace is how long an entry must stay orphaned before it is removed.
	// A create writes its values before its index entry, so an entry seen
	// without an index entry may belong to a create still in flight; it is
	// checked again after Grace. Default one minute, far beyond any
	// request's deadline.
	Grace time.Duration
	// DryRun reports orphans without removing them.
	DryRun bool
	// Found, if set, is called with each orphan's secret id.
	Found func(secretID string)
}

// Sweep removes value entries this deployment owns (by their tags) that no
// index entry refers to: what a crash between the two writes of a create
// or a delete leaves behind. It returns how many it removed (or, in a dry
// run, found). Entries of other deployments are never touched: Entries only
// yields this deployment's.
func Sweep(ctx context.Context, index backend.Backend, values Store, opts SweepOptions) (int, error) {
	if opts.Grace == 0 {
		opts.Grace = time.Minute
	}
	orphans, err := orphansOf(ctx, index, values, nil)
	if err != nil || len(orphans) == 0 {
		return 0, err
	}
	if !opts.DryRun {
		t := time.NewTimer(opts.Grace)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, errcode.Wrap(errcode.Unavailable, ctx.Err(), "sweep interrupted")
		case <-t.C:
		}
		if orphans, err = orphansOf(ctx, index, values, orphans); err != nil {
			return 0, err
		}
	}
	n := 0
	for id := range orphans {
		if opts.Found != nil {
			opts.Found(id)
		}
		if !opts.DryRun {
			if err := values.Delete(ctx, id); err != nil && !errcode.Is(err, errcode.NotFound) {
				return n, err
			}
		}
		n++
	}
	return n, nil
}

// orphansOf returns the entries without an index entry, among candidates
// when given, else among all of this deployment's entries.
func orphansOf(ctx context.Context, index backend.Backend, values Store, candidates map[string]bool) (map[string]bool, error) {
	orphans := map[string]bool{}
	check := func(id string) error {
		_, err := index.Get(ctx, id)
		switch {
		case errcode.Is(err, errcode.NotFound):
			orphans[id] = true
			return nil
		default:
			return err
		}
	}
	if candidates != nil {
		for id := range candidates {
			if err := check(id); err != nil {
				return nil, err
			}
		}
		return orphans, nil
	}
	return orphans, values.Entries(ctx, check)
}
