// Package example is the worked example of a custom value store: a small but
// real store that keeps each secret's values as JSON files in a directory,
// registered under the URL scheme "filevalues". Use it as the starting point
// for a store of your own, and for a single machine where a directory on an
// encrypted disk is good enough.
//
//	filevalues:///var/lib/lockwell/values?prefix=lockwell
//
// Layout: one directory per entry, <dir>/<prefix>/<secret id>/, holding
// meta.json (the tags: {"deployment": ..., "secret_id": ...}) and one file
// per version, v1.json, v2.json, ..., each the JSON of the values. The ref of
// a version is its number. A version is written in full to a temporary file
// and published under its number with a hard link, which fails when the
// number is taken: a reader never sees half a file, and concurrent writers
// (also in other processes, also one that stalled for a long time) never
// overwrite each other. A retired version's file is emptied but stays, so
// its number is never given to another write.
//
// # Writing a custom store, step by step
//
//  1. Pick a URL scheme and the parameters your store needs. Credentials never
//     go into the URL: read them from the environment or your SDK's
//     credential chain. Reject unknown parameters with openurl.CheckParams, so
//     a typo is an error rather than a silently ignored setting.
//
//  2. Name each entry from the secret id alone (here <prefix>/<id>) and tag it
//     with the deployment id and the secret id (valuestore.Options.Deployment
//     and the id). Where the service has no tags, keep the tags next to the
//     values or inside them, as the HashiCorp Vault store does.
//
//  3. Implement valuestore.Store (read its doc comments: they are the
//     contract). The rules that matter most:
//     - Put writes a NEW version and returns a ref to exactly that version;
//     Get reads exactly the version a ref names. The index records the ref,
//     so two racing writers never clobber each other's values. A ref names
//     one write forever: never hand it to another write, not even after a
//     writer that picked its version number stalled, and not after the
//     version was retired (the ConcurrentPutsToOneEntry conformance case).
//     - Before reading, changing or deleting an entry, check its tags. An
//     entry tagged for another deployment or secret, or not tagged at all,
//     is not_found for Get and Delete, already_exists for Put, and is never
//     listed by Entries.
//     - Check Limit before writing anything; over it, return too_large with a
//     message naming the store and the limit in bytes.
//     - Retire only versions OLDER than the one it keeps: a newer one may
//     belong to a writer whose index update is still in flight, and the
//     one it keeps is the oldest version the index keeps (history), so the
//     versions between are past versions users read.
//     - Keep every version readable until Retire discards it. If the
//     service drops old versions by itself (AWS beyond 100 versions, Vault
//     beyond max_versions), say in your package doc how its limit relates to
//     LOCKWELL_KEEP_VERSIONS (default 20, at most 1000).
//     - Classify every error once with errcode (not_found, permission_denied,
//     unavailable for throttling, timeouts and 5xx, ...), and never put a
//     value, token or provider text that may echo one into an error.
//     - Retry unavailable errors through package retry, within the caller's
//     deadline.
//
//  4. Register the opener from an init function:
//
//     func init() { valuestore.Register("filevalues", open) }
//
//     A binary links the store by importing the package for its side
//     effect (import _ ".../valuestore/example"); nothing else changes.
//
//  5. Run the conformance suite, package valuestoretest, from your test,
//     against the real service or a local server that speaks its wire
//     protocol through the official client. Give it WithForeignEntries (plant
//     entries with the service's own client) and, if the service can
//     throttle, WithThrottling. See filevalues_test.go.
//
// Store is safe for concurrent use, also by several processes sharing the
// directory on one machine.
package example

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// Scheme is the URL scheme the store registers.
const Scheme = "filevalues"

// Limit is the largest JSON payload of values the store accepts: 1 MiB.
const Limit = 1 << 20

const storeName = "the file value store"

func init() { valuestore.Register(Scheme, open) }

// meta is the sidecar tag file of an entry.
type meta struct {
	Deployment string `json:"deployment"`
	SecretID   string `json:"secret_id"`
}

// Store keeps values in a directory. Open it with valuestore.Open or New.
type Store struct {
	root       string // <dir>/<prefix>
	deployment string

	beforeWrite func(n int) // test hook: called before Put takes version n
}

var prefixPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

func open(_ context.Context, u *url.URL, opts valuestore.Options) (valuestore.Store, error) {
	if err := openurl.CheckParams(u, "prefix"); err != nil {
		return nil, err
	}
	if u.Host != "" {
		return nil, errcode.New(errcode.InvalidArgument, "filevalues URL must be filevalues:///ABSOLUTE/DIR (no host), got host %q", u.Host)
	}
	prefix := u.Query().Get("prefix")
	if prefix == "" {
		prefix = "lockwell"
	}
	return New(u.Path, prefix, opts.Deployment)
}

// New returns a store keeping entries under dir/prefix, tagged with
// deployment, and creates that directory. Errors: invalid_argument for a
// relative dir, a bad prefix or an empty deployment; unavailable when the
// directory cannot be created.
func New(dir, prefix, deployment string) (*Store, error) {
	if !filepath.IsAbs(dir) {
		return nil, errcode.New(errcode.InvalidArgument, "filevalues directory must be an absolute path")
	}
	if !prefixPattern.MatchString(prefix) {
		return nil, errcode.New(errcode.InvalidArgument, "filevalues prefix must be 1-63 letters, digits, '_', '.' or '-'")
	}
	if deployment == "" {
		return nil, errcode.New(errcode.InvalidArgument, "value store needs a deployment id")
	}
	root := filepath.Join(filepath.Clean(dir), prefix)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "cannot create the filevalues directory")
	}
	return &Store{root: root, deployment: deployment}, nil
}

// Name implements valuestore.Store.
func (s *Store) Name() string { return storeName }

// Limit implements valuestore.Store.
func (s *Store) Limit() int { return Limit }

// Close implements valuestore.Store; the store holds no resources.
func (s *Store) Close() error { return nil }

func (s *Store) dir(id string) string { return filepath.Join(s.root, id) }

func versionFile(n int) string { return fmt.Sprintf("v%d.json", n) }

// owned reads the entry's tags: not_found when the entry is missing or is
// not this deployment's entry for id.
func (s *Store) owned(id string) error {
	b, err := os.ReadFile(filepath.Join(s.dir(id), "meta.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return errcode.New(errcode.NotFound, "no stored values for secret %s", id)
	}
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "cannot read %s", storeName)
	}
	var m meta
	if json.Unmarshal(b, &m) != nil || m.Deployment != s.deployment || m.SecretID != id {
		return errcode.New(errcode.NotFound, "no stored values for secret %s", id)
	}
	return nil
}

// Put implements valuestore.Store. Errors: invalid_argument (bad id),
// too_large, already_exists when the entry's name is taken by an entry this
// deployment does not own, unavailable for file system failures.
func (s *Store) Put(_ context.Context, id string, values map[string]string) (string, error) {
	if err := secret.ValidateID(id); err != nil {
		return "", err
	}
	payload, err := valuestore.EncodeValues(values, Limit, storeName)
	if err != nil {
		return "", err
	}
	dir := s.dir(id)
	if err := s.create(id); err != nil {
		return "", err
	}
	if err := s.owned(id); err != nil {
		if errcode.Is(err, errcode.NotFound) {
			return "", errcode.New(errcode.AlreadyExists, "%s already holds an entry for secret %s that is not this deployment's", storeName, id)
		}
		return "", err
	}
	// The version is written in full under a temporary name first, then
	// published under its number with a hard link, which fails when the
	// number is taken. A writer whose idea of the latest number is stale
	// (it read the directory, then stalled while others wrote) therefore
	// moves on to the next number: it never replaces a version that another
	// writer has written and may already have recorded in the index.
	tmp, err := writeTemp(dir, "version", payload)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	for n := latest(dir) + 1; ; n++ {
		if s.beforeWrite != nil {
			s.beforeWrite(n)
		}
		err := os.Link(tmp, filepath.Join(dir, versionFile(n)))
		if errors.Is(err, fs.ErrExist) {
			continue // another writer took this number
		}
		if err != nil {
			return "", errcode.Wrap(errcode.Unavailable, err, "cannot write %s", storeName)
		}
		return strconv.Itoa(n), nil
	}
}

// create makes the entry's directory with its tags unless it exists. The
// directory is prepared under a temporary name and renamed into place, so an
// entry is never seen without its tags.
func (s *Store) create(id string) error {
	if _, err := os.Stat(s.dir(id)); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(s.root, ".new-")
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "cannot write %s", storeName)
	}
	defer os.RemoveAll(tmp) // gone after a successful rename; cleans up otherwise
	if err := writeFileAtomic(tmp, "meta.json", mustJSON(meta{Deployment: s.deployment, SecretID: id})); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.dir(id)); err != nil {
		if _, statErr := os.Stat(s.dir(id)); statErr == nil {
			return nil // a concurrent writer created it first
		}
		return errcode.Wrap(errcode.Unavailable, err, "cannot write %s", storeName)
	}
	return nil
}

// latest returns the highest version number written or retired in dir, 0 if
// none.
func latest(dir string) int {
	entries, _ := os.ReadDir(dir)
	max := 0
	for _, e := range entries {
		if n, ok := parseVersionFile(e.Name()); ok && n > max {
			max = n
		}
	}
	return max
}

func parseVersionFile(name string) (int, bool) {
	num, ok := strings.CutPrefix(name, "v")
	if !ok {
		return 0, false
	}
	num, ok = strings.CutSuffix(num, ".json")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

func parseRef(ref string) (int, bool) {
	n, err := strconv.Atoi(ref)
	return n, err == nil && n > 0 && strconv.Itoa(n) == ref
}

// Get implements valuestore.Store. Errors: not_found, unavailable.
func (s *Store) Get(_ context.Context, id, ref string) (map[string]string, error) {
	if err := secret.ValidateID(id); err != nil {
		return nil, errcode.New(errcode.NotFound, "no stored values for secret %q", id)
	}
	if err := s.owned(id); err != nil {
		return nil, err
	}
	n, ok := parseRef(ref)
	if !ok {
		return nil, errcode.New(errcode.NotFound, "no version %q of the values of secret %s", ref, id)
	}
	b, err := os.ReadFile(filepath.Join(s.dir(id), versionFile(n)))
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(b) == 0 { // never written, or retired
		return nil, errcode.New(errcode.NotFound, "no version %s of the values of secret %s", ref, id)
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "cannot read %s", storeName)
	}
	values := map[string]string{}
	if err := json.Unmarshal(b, &values); err != nil {
		// The cause is dropped: a JSON error may quote the file's content.
		return nil, errcode.New(errcode.Internal, "version %s of the values of secret %s is not valid JSON", ref, id)
	}
	return values, nil
}

// Retire implements valuestore.Store: it empties the file of every version
// older than keep. Newer versions stay (a writer may be about to record one).
// The emptied file stays as a tombstone, so that the version's number, and
// with it the ref, is never given to another write.
// Errors: not_found for an entry that is not this deployment's.
func (s *Store) Retire(_ context.Context, id, keep string) error {
	if err := secret.ValidateID(id); err != nil {
		return errcode.New(errcode.NotFound, "no stored values for secret %q", id)
	}
	if err := s.owned(id); err != nil {
		return err
	}
	k, ok := parseRef(keep)
	if !ok {
		return errcode.New(errcode.InvalidArgument, "version %q is not a version number", keep)
	}
	entries, err := os.ReadDir(s.dir(id))
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "cannot read %s", storeName)
	}
	for _, e := range entries {
		n, ok := parseVersionFile(e.Name())
		if !ok || n >= k {
			continue
		}
		if info, err := e.Info(); err == nil && info.Size() == 0 {
			continue // retired already
		}
		if err := writeFileAtomic(s.dir(id), e.Name(), nil); err != nil {
			return errcode.Wrap(errcode.Unavailable, err, "cannot retire versions in %s", storeName)
		}
	}
	return nil
}

// Delete implements valuestore.Store: it removes the entry's directory.
// Errors: not_found, unavailable.
func (s *Store) Delete(_ context.Context, id string) error {
	if err := secret.ValidateID(id); err != nil {
		return errcode.New(errcode.NotFound, "no stored values for secret %q", id)
	}
	if err := s.owned(id); err != nil {
		return err
	}
	// Rename first, so that the entry disappears at once for every reader,
	// then remove the files.
	tomb := filepath.Join(s.root, ".deleted-"+id+"-"+uuid.NewString())
	if err := os.Rename(s.dir(id), tomb); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errcode.New(errcode.NotFound, "no stored values for secret %s", id)
		}
		return errcode.Wrap(errcode.Unavailable, err, "cannot delete from %s", storeName)
	}
	if err := os.RemoveAll(tomb); err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "cannot delete from %s", storeName)
	}
	return nil
}

// Entries implements valuestore.Store: it calls fn with the id of every
// entry tagged as this deployment's, in id order.
func (s *Store) Entries(ctx context.Context, fn func(secretID string) error) error {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "cannot list %s", storeName)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() && secret.ValidateID(e.Name()) == nil && s.owned(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return errcode.Wrap(errcode.Unavailable, err, "listing %s did not finish in time", storeName)
		}
		if err := fn(id); err != nil {
			return err
		}
	}
	return nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with plain structs of strings
	}
	return b
}

// writeTemp writes data to a new temporary file in dir, synced to disk, and
// returns its path.
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-"+name+"-*")
	if err != nil {
		return "", errcode.Wrap(errcode.Unavailable, err, "cannot write %s", storeName)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return "", errcode.Wrap(errcode.Unavailable, err, "cannot write %s", storeName)
	}
	return f.Name(), nil
}

// writeFileAtomic writes data to dir/name through a temporary file and a
// rename, so readers see the old file, no file, or the whole new one.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := writeTemp(dir, name, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp)
		return errcode.Wrap(errcode.Unavailable, err, "cannot write %s", storeName)
	}
	return nil
}
