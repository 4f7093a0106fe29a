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
	// RetireFailed, if set, is called with the secret id of each entry
	// whose stale versions could not be retired (never a value).
	RetireFailed func(secretID string, err error)
}

// Sweep removes value entries this deployment owns (by their tags) that no
// index entry refers to: what a crash between the two writes of a create
// or a delete leaves behind. It returns how many it removed (or, in a dry
// run, found). Entries of other deployments are never touched: Entries only
// yields this deployment's.
//
// An entry whose secret the index holds (live, or deleted within its
// recovery window) is never removed: every version the index keeps names a
// ref in it. Outside a dry run, Sweep also retires such an entry's versions
// older than the oldest version the index keeps (Store.Retire, as a
// successful update does): the backstop for updates whose retire failed or
// never ran. A retire that fails is reported to RetireFailed and does not
// stop the sweep.
func Sweep(ctx context.Context, index backend.Backend, values Store, opts SweepOptions) (int, error) {
	if opts.Grace == 0 {
		opts.Grace = time.Minute
	}
	orphans, live, err := scan(ctx, index, values)
	if err != nil {
		return 0, err
	}
	if !opts.DryRun {
		for _, id := range live {
			if err := retireStale(ctx, index, values, id); err != nil && opts.RetireFailed != nil {
				opts.RetireFailed(id, err)
			}
		}
	}
	if len(orphans) == 0 {
		return 0, nil
	}
	if !opts.DryRun {
		t := time.NewTimer(opts.Grace)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, errcode.Wrap(errcode.Unavailable, ctx.Err(), "sweep interrupted")
		case <-t.C:
		}
		if orphans, err = orphansOf(ctx, index, orphans); err != nil {
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

// scan walks this deployment's entries and sorts them into orphans (no
// index entry) and the ids of live ones.
func scan(ctx context.Context, index backend.Backend, values Store) (orphans map[string]bool, live []string, err error) {
	orphans = map[string]bool{}
	err = values.Entries(ctx, func(id string) error {
		_, err := index.Get(ctx, id)
		switch {
		case errcode.Is(err, errcode.NotFound):
			orphans[id] = true
			return nil
		case err == nil:
			live = append(live, id)
			return nil
		default:
			return err
		}
	})
	return orphans, live, err
}

// orphansOf returns the candidates that still have no index entry.
func orphansOf(ctx context.Context, index backend.Backend, candidates map[string]bool) (map[string]bool, error) {
	orphans := map[string]bool{}
	for id := range candidates {
		_, err := index.Get(ctx, id)
		switch {
		case errcode.Is(err, errcode.NotFound):
			orphans[id] = true
		case err != nil:
			return nil, err
		}
	}
	return orphans, nil
}

// retireStale retires the versions of id's entry older than the oldest
// version the index keeps: what an update does after it lands, and Sweep
// for every live entry. A secret purged meanwhile is not an error.
func retireStale(ctx context.Context, index backend.Backend, values Store, id string) error {
	keep, err := OldestKeptRef(ctx, index, id)
	if err == nil {
		err = values.Retire(ctx, id, keep)
	}
	if errcode.Is(err, errcode.NotFound) {
		return nil
	}
	return err
}
