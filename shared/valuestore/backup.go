package valuestore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// A backup copies every secret's current values from the deployment's value
// store into another value store, the way ZenML's backup secrets store
// does, and records what it copied in a manifest file: one JSON line per
// secret with its id, the index version it copied and the version ref in
// the backup store. The manifest makes a backup resumable (secrets already
// copied at their current version are skipped) and is what Restore reads.
// The manifest holds ids and refs only, never values.
//
// What a backup holds: the current version of every secret the index
// holds, live or deleted (in the recovery window; a restore brings its
// values back and leaves it deleted). Past versions are not copied: the
// index records them as refs into the deployment's own value store, and a
// restore cannot point a past version at another ref, so a copy could never
// be read back. A restore therefore makes a new version with the backed-up
// values, keeping every past version the index holds (their values stay
// readable for as long as the deployment's value store holds them).

// ManifestEntry is one line of a backup manifest.
type ManifestEntry struct {
	ID      string `json:"id"`
	Version int64  `json:"version"`
	Ref     string `json:"ref"`
}

// CopyReport says what a backup or restore did.
type CopyReport struct {
	Copied  int
	Skipped int
	Failed  []CopyFailure
}

// CopyFailure names a secret that was not copied and why (never its values).
type CopyFailure struct {
	ID     string
	Reason string
}

// CopyOptions configure Backup and Restore.
type CopyOptions struct {
	// Manifest is the path of the manifest file. Required.
	Manifest string
	// Progress, if set, is called after each secret.
	Progress func(id string, outcome string)
	// Force makes Restore overwrite secrets that changed since the backup.
	Force bool
	// Principal is who the versions a restore makes are recorded as made
	// by (their Change); default RestorePrincipal.
	Principal string
}

// RestorePrincipal is the principal of restored versions unless
// CopyOptions.Principal says otherwise.
const RestorePrincipal = "lockwell-admin-restore"

// Backup copies the current values of every secret whose values live in
// primary into backup, verifying each copy by reading it back, and appends
// what it copied to the manifest. Run it again to resume or to refresh: a
// secret already in the manifest at its current version is skipped.
func Backup(ctx context.Context, index backend.Backend, primary, backup Store, opts CopyOptions) (CopyReport, error) {
	var rep CopyReport
	done, err := readManifest(opts.Manifest)
	if err != nil {
		return rep, err
	}
	out, err := os.OpenFile(opts.Manifest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return rep, errcode.Wrap(errcode.Internal, err, "open manifest %s", opts.Manifest)
	}
	defer out.Close()
	err = primary.Entries(ctx, func(id string) error {
		s, err := index.Get(ctx, id)
		if errcode.Is(err, errcode.NotFound) {
			return nil // an orphan: nothing to back up (Sweep removes it)
		}
		if err != nil {
			return err
		}
		if prev, ok := done[id]; ok && prev.Version == s.Version {
			rep.Skipped++
			progress(opts, id, "skipped")
			return nil
		}
		ref, err := copyValues(ctx, primary, s.ValuesRef, backup, id)
		if err != nil {
			rep.Failed = append(rep.Failed, CopyFailure{ID: id, Reason: errcode.Message(err)})
			progress(opts, id, "failed")
			return ctx.Err()
		}
		if err := appendManifest(out, ManifestEntry{ID: id, Version: s.Version, Ref: ref}); err != nil {
			return err
		}
		rep.Copied++
		progress(opts, id, "copied")
		return nil
	})
	return rep, err
}

// Restore writes the values recorded in the manifest from backup into the
// deployment's value store, verifying each copy, and points the index at
// them with a new version (operation update, by opts.Principal, with the
// keys it added, removed or changed), keeping the secret's past versions.
// A secret that changed since it was backed up is skipped unless
// opts.Force; a secret purged since is skipped. A deleted secret stays
// deleted.
func Restore(ctx context.Context, index backend.Backend, primary, backup Store, opts CopyOptions) (CopyReport, error) {
	var rep CopyReport
	entries, err := readManifest(opts.Manifest)
	if err != nil {
		return rep, err
	}
	if len(entries) == 0 {
		return rep, errcode.New(errcode.InvalidArgument, "manifest %s lists no secrets", opts.Manifest)
	}
	for id, e := range entries {
		if err := ctx.Err(); err != nil {
			return rep, errcode.Wrap(errcode.Unavailable, err, "restore interrupted")
		}
		outcome, err := restoreOne(ctx, index, primary, backup, e, opts)
		switch {
		case err != nil:
			rep.Failed = append(rep.Failed, CopyFailure{ID: id, Reason: errcode.Message(err)})
			outcome = "failed"
		case outcome == "copied":
			rep.Copied++
		default:
			rep.Skipped++
		}
		progress(opts, id, outcome)
	}
	return rep, nil
}

func restoreOne(ctx context.Context, index backend.Backend, primary, backup Store, e ManifestEntry, opts CopyOptions) (string, error) {
	s, err := index.Get(ctx, e.ID)
	if errcode.Is(err, errcode.NotFound) {
		return "skipped (purged since the backup)", nil
	}
	if err != nil {
		return "", err
	}
	if s.Version != e.Version && !opts.Force {
		return "skipped (changed since the backup)", nil
	}
	values, err := backup.Get(ctx, e.ID, e.Ref)
	if err != nil {
		return "", err
	}
	ref, err := putVerified(ctx, primary, e.ID, values)
	if err != nil {
		return "", err
	}
	next := s.Clone()
	next.ValuesRef, next.Version, next.Updated = ref, s.Version+1, secret.Now()
	if !next.Updated.After(s.Updated) {
		next.Updated = s.Updated.Add(time.Microsecond)
	}
	next.Keys = secret.KeysOf(values)
	next.ChangeKey, next.Idempotency = "", nil
	principal := opts.Principal
	if principal == "" {
		principal = RestorePrincipal
	}
	next.Change = secret.Change{Operation: secret.OpUpdate, Principal: principal}
	if old, err := primary.Get(ctx, e.ID, s.ValuesRef); err == nil {
		next.Change.Added, next.Change.Removed, next.Change.Changed = secret.Diff(old, values)
	} else {
		// The values being restored over are lost: name every key the two
		// versions share as changed.
		next.Change.Added, next.Change.Removed, next.Change.Changed = keyDiff(s.Keys, next.Keys)
	}
	// Every past version the index holds, and the one replaced, stay; the
	// deployment's next update prunes to its retention.
	next.Keep = &secret.Retention{Versions: math.MaxInt}
	if err := index.Update(ctx, next, s.Version); err != nil {
		return "", err
	}
	_ = retireStale(ctx, index, primary, e.ID) // best effort: Sweep retires what is left
	return "copied", nil
}

// keyDiff returns the keys only in new, only in old, and in both, sorted.
func keyDiff(old, new []string) (added, removed, both []string) {
	in := func(l []string, k string) bool { return slices.Contains(l, k) }
	for _, k := range new {
		if in(old, k) {
			both = append(both, k)
		} else {
			added = append(added, k)
		}
	}
	for _, k := range old {
		if !in(new, k) {
			removed = append(removed, k)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	slices.Sort(both)
	return added, removed, both
}

// copyValues copies one version of a secret's values and verifies the copy
// by reading it back.
func copyValues(ctx context.Context, from Store, fromRef string, to Store, id string) (string, error) {
	values, err := from.Get(ctx, id, fromRef)
	if err != nil {
		return "", err
	}
	return putVerified(ctx, to, id, values)
}

// putVerified writes values as a new version and reads it back.
func putVerified(ctx context.Context, to Store, id string, values map[string]string) (string, error) {
	ref, err := to.Put(ctx, id, values)
	if err != nil {
		return "", err
	}
	back, err := to.Get(ctx, id, ref)
	if err != nil {
		return "", err
	}
	if !reflect.DeepEqual(values, back) {
		return "", errcode.New(errcode.Internal, "the copy of secret %s in %s does not read back the same", id, to.Name())
	}
	return ref, nil
}

func readManifest(path string) (map[string]ManifestEntry, error) {
	if path == "" {
		return nil, errcode.New(errcode.InvalidArgument, "a manifest file is required")
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]ManifestEntry{}, nil
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "open manifest %s", path)
	}
	defer f.Close()
	entries := map[string]ManifestEntry{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var e ManifestEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || secret.ValidateID(e.ID) != nil {
			return nil, errcode.New(errcode.InvalidArgument, "manifest %s line %d is not a manifest entry", path, line)
		}
		entries[e.ID] = e // later lines supersede earlier ones
	}
	if err := sc.Err(); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "read manifest %s", path)
	}
	return entries, nil
}

func appendManifest(f *os.File, e ManifestEntry) error {
	b, _ := json.Marshal(e)
	if _, err := f.Write(append(b, '\n')); err != nil {
		return errcode.Wrap(errcode.Internal, err, "write manifest")
	}
	return nil
}

func progress(opts CopyOptions, id, outcome string) {
	if opts.Progress != nil {
		opts.Progress(id, outcome)
	}
}
