package migrate

import (
	"context"
	"sort"
	"sync"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/errcode"
)

// PlanItem is what would happen to one legacy entry. It never holds values.
// Outcome and Reason are what a run would report for the entry, in the same
// words (Plan and Migrate share one decision, see decide); Action is the
// write the run would make.
type PlanItem struct {
	Name     string        `json:"name"`
	Location string        `json:"location"`
	Scope    string        `json:"scope"`
	Schema   string        `json:"schema,omitempty"`
	Keys     []string      `json:"keys"`
	Status   legacy.Status `json:"status"`
	Target   string        `json:"target,omitempty"`
	Outcome  Outcome       `json:"outcome"`
	// Action is create, update (the legacy entry changed since it was
	// migrated: its earlier copy is updated whatever the conflict policy),
	// overwrite (--on-conflict overwrite) or none.
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
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionOverwrite = "overwrite"
	ActionNone      = "none"
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

// Plan says, for each selected entry, what a run with opts would do and
// report, without writing anything: an entry a run would fail is a failed
// item, never an error of the whole plan. It reads legacy values to compare
// them with existing secrets but never returns them. Items are sorted by
// reference, as Run sorts its results. The error is for a source that
// cannot be listed, or a transient failure (unavailable, internal) that a
// run would retry.
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
		p := PlanItem{Name: it.Name, Location: it.Location, Scope: string(d.Scope), Schema: it.Schema, Keys: it.Keys, Status: it.Status, Reason: it.Reason, Action: ActionNone}
		if o := it.Owned; o != nil {
			p.ID, p.Private, p.ZenMLUser = o.ID, o.Private, first(o.UserName, o.UserID)
		}
		if p.Keys == nil {
			p.Keys = []string{}
		}
		switch it.Status {
		case legacy.Skipped:
			p.Outcome = Skipped
		case legacy.NotMigratable:
			p.Outcome = NotMigratable
		default:
			if err := planOne(ctx, src, tgt, opts, &p); err != nil {
				return nil, err
			}
		}
		out[i] = p
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref() < out[j].Ref() })
	return out, nil
}

// planOne is Migrate without the writes, step for step.
func planOne(ctx context.Context, src legacy.Source, tgt Target, opts Options, p *PlanItem) error {
	fail := func(reason string) { p.Outcome, p.Reason = Failed, reason }
	// failOrRetry fails the item for a permanent error, as a run would,
	// and returns a transient one.
	failOrRetry := func(err error) error {
		res, err := permanentOrRetry(Result{}, err)
		if err != nil {
			return err
		}
		fail(res.Reason)
		return nil
	}
	ref := p.Ref()
	d := src.Describe()
	entry, err := src.Read(ctx, ref)
	switch {
	case errcode.Is(err, errcode.NotFound):
		res, err := alreadyMoved(ctx, tgt, opts, ref, d.Origin(ref))
		if err != nil {
			return err
		}
		p.Outcome, p.Reason, p.Target = res.Outcome, res.Reason, res.Target
		return nil
	case errcode.Is(err, errcode.FailedPrecondition):
		p.Outcome, p.Reason = Skipped, errcode.Message(err)
		if d.Flavor == "github" {
			p.Outcome = NotMigratable
		}
		return nil
	case errcode.Is(err, errcode.InvalidArgument):
		fail("cannot read legacy entry: " + errcode.Message(err))
		return nil
	case err != nil:
		return err
	}
	origin := d.OriginOf(ref, entry)
	place := opts.Place(ref, entry)
	p.Target, p.Owner = place.Name, place.Owner
	if len(p.Keys) == 0 { // sources that list without keys (ZenML's REST API)
		p.Keys = legacy.SortedKeys(entry.Values)
	}
	if tgt, err = targetFor(ctx, tgt, place); err != nil {
		return failOrRetry(err)
	}
	if err := checkEntry(place.Name, entry.Values); err != nil {
		fail(errcode.Message(err))
		return nil
	}
	target := place.Name
	for range 2 { // at most one rename
		p.Target = target
		existing, err := tgt.Find(ctx, target, place.Private)
		if errcode.Is(err, errcode.NotFound) {
			existing, err = nil, nil
		}
		if err != nil {
			return failOrRetry(err)
		}
		dec := decide(existing, entry.Values, origin, opts.OnConflict, place.Name, target)
		if dec.action == actionRename {
			target = dec.target
			continue
		}
		p.Outcome, p.Reason = dec.outcome, dec.reason
		switch {
		case dec.action == actionCreate:
			p.Action = ActionCreate
		case dec.action == actionReplace && dec.reason == reasonUpdatedCopy:
			p.Action = ActionUpdate
		case dec.action == actionReplace:
			p.Action = ActionOverwrite
		}
		return nil
	}
	return errcode.New(errcode.Internal, "planning %s: the renamed name was renamed again", ref)
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
