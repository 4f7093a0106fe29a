package migrate

import (
	"context"
	"sort"
	"sync"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
)

// PlanItem is what would happen to one legacy entry. It never holds values.
type PlanItem struct {
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Scope    string        `json:"scope"`
	Schema   string        `json:"schema,omitempty"`
	Keys     []string      `json:"keys"`
	Status   legacy.Status `json:"status"`
	Target   string        `json:"target,omitempty"`
	// Action is create, none (already migrated or same values), update (the
	// legacy entry changed since it was migrated: its earlier copy is
	// updated whatever the conflict policy), conflict, skip or
	// not_migratable.
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	// For entries of ZenML's centralized store: the secret id (the entry's
	// reference), whether it is private, its ZenML user and the Lockwell
	// principal that will own it ("" for the one the migration runs as).
	ID        string `json:"id,omitempty"`
	Private   bool   `json:"private,omitempty"`
	ZenMLUser string `json:"zenml_user,omitempty"`
	Owner     string `json:"owner,omitempty"`
}

// Ref returns the reference of the planned entry (see legacy.Item.Ref).
func (p PlanItem) Ref() string {
	if p.ID != "" {
		return p.ID
	}
	return p.Name
}

// The plan actions.
const (
	ActionCreate        = "create"
	ActionNone          = "none"
	ActionUpdate        = "update"
	ActionConflict      = "conflict"
	ActionSkip          = "skip"
	ActionNotMigratable = "not_migratable"
	ActionFail          = "fail" // the run would fail the entry; Reason says why
)

// Select returns the listed items, or only those named (in the given order)
// by name or reference (Item.Ref), with not_found naming the first name
// that is not listed and invalid_argument for a name several centralized
// entries share (give their ids).
func Select(items []legacy.Item, names []string) ([]legacy.Item, error) {
	if len(names) == 0 {
		return items, nil
	}
	byName := map[string]legacy.Item{}
	byRef := map[string]legacy.Item{}
	shared := map[string]bool{}
	for _, it := range items {
		if it.Owned != nil {
			byRef[it.Ref()] = it
			if _, dup := byName[it.Name]; dup {
				shared[it.Name] = true
			}
		}
		if _, dup := byName[it.Name]; !dup || it.Status == legacy.Migratable {
			byName[it.Name] = it
		}
	}
	out := make([]legacy.Item, 0, len(names))
	for _, n := range names {
		if it, ok := byRef[n]; ok {
			out = append(out, it)
			continue
		}
		if shared[n] {
			return nil, errcode.New(errcode.InvalidArgument, "several ZenML secrets are named %q (private ones of different users, or a private and a public one); name them by id", n)
		}
		it, ok := byName[n]
		if !ok {
			return nil, errcode.New(errcode.NotFound, "legacy secret %q not found in the source; check the name and the scope", n)
		}
		out = append(out, it)
	}
	return out, nil
}

// Plan says, for each selected entry, what a run with opts would do,
// without writing anything. It reads legacy values to compare them with
// existing secrets but never returns them.
func Plan(ctx context.Context, src legacy.Source, tgt Target, opts Options, names []string) ([]PlanItem, error) {
	listed, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	items, err := Select(listed, names)
	if err != nil {
		return nil, err
	}
	d := src.Describe()
	out := make([]PlanItem, len(items))
	for i, it := range items {
		p := PlanItem{Name: it.Name, Location: it.Location, Scope: string(d.Scope), Schema: it.Schema, Keys: it.Keys, Status: it.Status, Reason: it.Reason}
		if o := it.Owned; o != nil {
			p.ID, p.Private, p.ZenMLUser = o.ID, o.Private, first(o.UserName, o.UserID)
		}
		if p.Keys == nil {
			p.Keys = []string{}
		}
		switch it.Status {
		case legacy.Skipped:
			p.Action = ActionSkip
		case legacy.NotMigratable:
			p.Action = ActionNotMigratable
		default:
			if err := planOne(ctx, src, tgt, opts, &p); err != nil {
				return nil, err
			}
		}
		out[i] = p
	}
	return out, nil
}

func planOne(ctx context.Context, src legacy.Source, tgt Target, opts Options, p *PlanItem) error {
	ref := p.Ref()
	entry, err := src.Read(ctx, ref)
	if err != nil {
		if errcode.Is(err, errcode.Unavailable) || errcode.Is(err, errcode.Internal) {
			return err
		}
		p.Action, p.Reason = ActionSkip, errcode.Message(err)
		return nil
	}
	origin := src.Describe().OriginOf(ref, entry)
	place := opts.Place(ref, entry)
	p.Target, p.Owner = place.Name, place.Owner
	if len(p.Keys) == 0 { // sources that list without keys (ZenML's REST API)
		p.Keys = legacy.SortedKeys(entry.Values)
	}
	if tgt, err = targetFor(ctx, tgt, place); err != nil {
		if errcode.Is(err, errcode.Unavailable) || errcode.Is(err, errcode.Internal) {
			return err
		}
		p.Action, p.Reason = ActionFail, errcode.Message(err)
		return nil
	}
	existing, err := tgt.Find(ctx, place.Name, place.Private)
	switch {
	case errcode.Is(err, errcode.NotFound):
		p.Action = ActionCreate
	case err != nil:
		return err
	case existing.Origin == origin && sameValues(existing.Values, entry.Values):
		p.Action, p.Reason = ActionNone, "already migrated"
	case existing.Origin == origin:
		// As Migrate does: its own earlier copy is no conflict.
		p.Action, p.Reason = ActionUpdate, "the legacy entry changed since it was migrated; its earlier copy will be updated"
	case sameValues(existing.Values, entry.Values):
		p.Action, p.Reason = ActionNone, "a secret with the same name and the same values exists"
	default:
		p.Action, p.Reason = ActionConflict, "a secret with the same name and different values exists"
		if opts.OnConflict == Rename {
			p.Target = RenamedName(place.Name, origin)
			p.Reason += "; it will be created as " + p.Target
		}
	}
	return nil
}

// Run migrates the selected migratable entries in process, at most
// concurrency at a time, calling progress after each one (from one
// goroutine at a time), and returns every result sorted by name: listed
// entries that are skipped or not migratable included. Transient errors
// are retried a few times and then reported as failed results; the error
// returned is only for a source that cannot be listed.
func Run(ctx context.Context, src legacy.Source, tgt Target, opts Options, names []string, concurrency int, progress func(done, total int, r Result)) ([]Result, error) {
	listed, err := src.List(ctx)
	if err != nil {
		return nil, err
	}
	items, err := Select(listed, names)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(items))
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, concurrency))
	)
	report := func(i int, r Result) {
		mu.Lock()
		defer mu.Unlock()
		results[i] = r
		done++
		if progress != nil {
			progress(done, len(items), r)
		}
	}
	for i, it := range items {
		switch it.Status {
		case legacy.Skipped:
			report(i, Result{Name: it.Ref(), Outcome: Skipped, Reason: it.Reason})
			continue
		case legacy.NotMigratable:
			report(i, Result{Name: it.Ref(), Outcome: NotMigratable, Reason: it.Reason})
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			report(i, migrateWithRetries(ctx, src, tgt, opts, it.Ref()))
		})
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results, nil
}

// runAttempts bounds how often Run retries one entry after transient errors.
const runAttempts = 3

func migrateWithRetries(ctx context.Context, src legacy.Source, tgt Target, opts Options, name string) Result {
	var err error
	for range runAttempts {
		var r Result
		if r, err = Migrate(ctx, src, tgt, opts, name); err == nil {
			return r
		}
		if ctx.Err() != nil {
			break
		}
	}
	return Result{Name: name, Outcome: Failed, Reason: errcode.Message(err)}
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Summarize counts results by outcome.
func Summarize(results []Result) Counts {
	c := Counts{}
	for _, r := range results {
		c[r.Outcome]++
	}
	return c
}
