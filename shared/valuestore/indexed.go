package valuestore

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Indexed returns a backend that keeps every secret's metadata in index and
// its values in values. It passes the same conformance suite as a complete
// backend, so the store and the handlers cannot tell the difference.
//
// Consistency between the two: create writes the values first and the index
// entry second, and removes the values if the index write fails; delete
// (the purge) removes the index entry first, then the value entry with all
// its versions. A crash between two steps leaves at most an orphaned value
// entry (removed by Sweep), never an index entry without values. An update
// writes a new version of the values, then moves the index to it with the
// version check; the loser of a race only leaves an unused version behind,
// never overwrites the winner's values.
//
// History: the index keeps each version's ValuesRef with the version (the
// index's own history, secret.Keep), so a past version's values are the
// value store's version that ref names: the index records which store
// version is which Lockwell version (versions that changed no values share
// a ref). After a successful update that may have pruned the index's
// history, the value store's versions written before the oldest version
// the index still keeps are retired (Store.Retire with that version's ref),
// best effort: Sweep retires what a failed or interrupted update left. The value store must
// keep every version until it is retired (see each store's notes on its
// own version limits against LOCKWELL_KEEP_VERSIONS).
//
// Updates that change no values (delete into the recovery window, restore,
// rename, visibility) write no new values version when Indexed can tell:
// Get and GetVersion mark the ValuesRef they return with a MAC, under a key
// that never leaves the process, of the secret id, version, ref and
// values. An Update
// whose s.ValuesRef carries a valid mark for the version it replaces
// (expectedVersion) and for exactly s.Values reuses that ref; anything else
// (another process's mark, a changed value, a ref from GetMetadata) writes a
// new version, which is always correct, only slower. The mark never reaches
// the index or the value store.
func Indexed(index backend.Backend, values Store) backend.Backend {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		key = nil // no marks: every update writes a new version
	}
	return &indexed{index: index, values: values, markKey: key}
}

type indexed struct {
	index   backend.Backend
	values  Store
	markKey []byte // keys the marks on refs Get returns; nil: no marks
}

// cleanupTimeout bounds compensating writes made after the caller's context
// may already have ended.
const cleanupTimeout = 10 * time.Second

// checkSize refuses values the value store cannot hold, before writing.
func (x *indexed) checkSize(values map[string]string) error {
	_, err := EncodeValues(values, x.values.Limit(), x.values.Name())
	return err
}

// putValues writes the values of s to the value store as a new version and
// returns the index entry for s: a copy without values that points at that
// version.
func (x *indexed) putValues(ctx context.Context, s *secret.Secret) (*secret.Secret, error) {
	if err := x.checkSize(s.Values); err != nil {
		return nil, err
	}
	ref, err := x.values.Put(ctx, s.ID, s.Values)
	if err != nil {
		return nil, err
	}
	entry := s.Clone()
	entry.Values, entry.ValuesRef = nil, ref
	return entry, nil
}

func (x *indexed) Create(ctx context.Context, s *secret.Secret) error {
	entry, err := x.putValues(ctx, s)
	if err != nil {
		return err
	}
	if err := x.index.Create(ctx, entry); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if !x.indexRefused(cctx, s.ID, err) {
			// The index write may have landed (a timeout after the commit):
			// removing the values could leave an index entry without values,
			// so leave them to Sweep, which removes them only if no index
			// entry appears.
			return err
		}
		_ = x.values.Delete(cctx, s.ID) // best effort: Sweep removes what is left
		return err
	}
	return nil
}

// indexRefused reports whether the failed index create of id certainly
// stored nothing: the index refused it (already_exists, invalid_argument,
// too_large), or the entry is verifiably absent. An unavailable or internal
// error may come after the write landed.
func (x *indexed) indexRefused(ctx context.Context, id string, err error) bool {
	switch errcode.Of(err) {
	case errcode.AlreadyExists, errcode.InvalidArgument, errcode.TooLarge:
		return true
	}
	_, gerr := x.index.Get(ctx, id)
	return errcode.Is(gerr, errcode.NotFound)
}

// Get reads the index entry, then the values version it names. An update
// (or a purge) that lands between the two reads may retire that version, so
// a version found missing is looked up again from the index: only a version
// the index still names as current is really missing (internal).
func (x *indexed) Get(ctx context.Context, id string) (*secret.Secret, error) {
	for attempt := 0; ; attempt++ {
		s, err := x.index.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		values, err := x.values.Get(ctx, id, s.ValuesRef)
		if errcode.Is(err, errcode.NotFound) {
			again, gerr := x.index.Get(ctx, id)
			if errcode.Is(gerr, errcode.NotFound) {
				return nil, gerr // deleted meanwhile
			}
			if gerr == nil && again.ValuesRef != s.ValuesRef && attempt < maxReadAttempts {
				continue // moved on by a concurrent update: read the new version
			}
			return nil, errcode.Wrap(errcode.Internal, err, "values of secret %s are missing from %s", id, x.values.Name())
		}
		if err != nil {
			return nil, err
		}
		s.Values = values
		s.ValuesRef = x.mark(s.ID, s.Version, s.ValuesRef, values)
		return s, nil
	}
}

// maxReadAttempts bounds how often Get follows the index to a newer values
// version while updates keep landing.
const maxReadAttempts = 16

// GetMetadata implements backend.MetadataGetter: the index alone, without a
// call to the value store.
func (x *indexed) GetMetadata(ctx context.Context, id string) (*secret.Secret, error) {
	return x.index.Get(ctx, id)
}

func (x *indexed) List(ctx context.Context, q backend.Query) ([]*secret.Secret, error) {
	return x.index.List(ctx, q)
}

// Update writes s's values as a new version of the value entry (or reuses
// the current one when s.ValuesRef carries Get's mark for expectedVersion
// and s.Values: see Indexed), then updates the index, which keeps the
// replaced version's ref in its history when s.Keep says so. After the
// update it retires the value versions older than the oldest version the
// index keeps, best effort.
func (x *indexed) Update(ctx context.Context, s *secret.Secret, expectedVersion int64) error {
	var entry *secret.Secret
	if ref, ok := x.unmark(s.ID, expectedVersion, s.ValuesRef, s.Values); ok {
		entry = s.Clone()
		entry.Values, entry.ValuesRef = nil, ref
	} else {
		var err error
		if entry, err = x.putValues(ctx, s); err != nil {
			return err
		}
	}
	if err := x.index.Update(ctx, entry, expectedVersion); err != nil {
		return err // an unused version is retired once older than the oldest kept one
	}
	if prunes(s) {
		// Refs only grow with the index's versions (each version's values
		// are a Put made after the version it replaces was read, or that
		// version's own ref), so the oldest kept version names the oldest
		// values in use.
		_ = retireStale(ctx, x.index, x.values, s.ID) // best effort: Sweep retires what is left
	}
	return nil
}

// prunes reports whether the update s may have dropped a version from the
// index's history, so that values versions may have fallen out of use.
// While a secret has no more versions than its retention keeps, none has,
// and the update costs no Versions read and no Retire.
func prunes(s *secret.Secret) bool {
	return s.Keep == nil || !s.Keep.Since.IsZero() || s.Version > int64(s.Keep.Versions)
}

// OldestKeptRef returns the ValuesRef of the oldest version of secret id
// that index keeps: the value store's versions written before it are in no
// version's use (Store.Retire's keep). Errors: not_found, as Versions.
func OldestKeptRef(ctx context.Context, index backend.Backend, id string) (string, error) {
	vs, err := index.Versions(ctx, id)
	if err != nil {
		return "", err
	}
	if len(vs) == 0 {
		return "", errcode.New(errcode.NotFound, "secret %s has no versions", id)
	}
	oldest := vs[len(vs)-1]
	if oldest.ValuesRef != "" {
		return oldest.ValuesRef, nil
	}
	// An index whose Versions leaves refs out: read that version.
	v, err := index.GetVersion(ctx, id, oldest.Version)
	if err != nil {
		return "", err
	}
	if v.ValuesRef == "" {
		return "", errcode.New(errcode.Internal, "version %d of secret %s names no values", oldest.Version, id)
	}
	return v.ValuesRef, nil
}

// Versions implements backend.Backend: the index alone.
func (x *indexed) Versions(ctx context.Context, id string) ([]*secret.Secret, error) {
	return x.index.Versions(ctx, id)
}

// GetVersion implements backend.Backend: the index's version, with the
// values of the value-store version it names. A past version whose values
// the value store no longer holds while the index still keeps it (a store
// that dropped it by its own limits, see the store's notes) is not_found,
// as a pruned version; the current one is internal, as in Get.
func (x *indexed) GetVersion(ctx context.Context, id string, version int64) (*secret.Secret, error) {
	v, err := x.index.GetVersion(ctx, id, version)
	if err != nil {
		return nil, err
	}
	values, err := x.values.Get(ctx, id, v.ValuesRef)
	if errcode.Is(err, errcode.NotFound) {
		// Pruned, or purged, while we read? Then it is simply gone.
		if _, gerr := x.index.GetVersion(ctx, id, version); gerr != nil {
			return nil, gerr
		}
		cur, gerr := x.index.Get(ctx, id)
		if gerr == nil && cur.Version == version && cur.ValuesRef == v.ValuesRef {
			return nil, errcode.Wrap(errcode.Internal, err, "values of secret %s are missing from %s", id, x.values.Name())
		}
		return nil, errcode.Wrap(errcode.NotFound, err, "%s no longer holds the values of version %d of secret %s", x.values.Name(), version, id)
	}
	if err != nil {
		return nil, err
	}
	v.Values = values
	v.ValuesRef = x.mark(id, v.Version, v.ValuesRef, values)
	return v, nil
}

// Expired implements backend.Backend: the index alone.
func (x *indexed) Expired(ctx context.Context, t time.Time, limit int) ([]*secret.Secret, error) {
	return x.index.Expired(ctx, t, limit)
}

// markSep separates a ref from its mark. Refs of every store are free of it.
const markSep = "\x00mark:"

// mark returns ref with a MAC binding it to secret id, version and values.
func (x *indexed) mark(id string, version int64, ref string, values map[string]string) string {
	if x.markKey == nil || ref == "" {
		return ref
	}
	return ref + markSep + x.mac(id, version, ref, values)
}

// unmark returns the ref inside a mark made for secret id at version with
// exactly values, and whether there was such a mark.
func (x *indexed) unmark(id string, version int64, marked string, values map[string]string) (string, bool) {
	ref, mac, ok := strings.Cut(marked, markSep)
	if !ok || x.markKey == nil || ref == "" || values == nil {
		return "", false
	}
	return ref, hmac.Equal([]byte(mac), []byte(x.mac(id, version, ref, values)))
}

func (x *indexed) mac(id string, version int64, ref string, values map[string]string) string {
	h := hmac.New(sha256.New, x.markKey)
	payload, _ := json.Marshal(values) // map keys sorted: one encoding per map
	for _, part := range [][]byte{[]byte(id), []byte(strconv.FormatInt(version, 10)), []byte(ref), payload} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

func (x *indexed) Delete(ctx context.Context, id string, expectedVersion int64) error {
	if err := x.index.Delete(ctx, id, expectedVersion); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = x.values.Delete(cctx, id) // best effort: Sweep removes what is left
	return nil
}

// Idempotency implements backend.Backend: records live in the index, written
// with the index entry.
func (x *indexed) Idempotency(ctx context.Context, key string) (*secret.Idempotency, error) {
	return x.index.Idempotency(ctx, key)
}

func (x *indexed) Close() error {
	err := x.index.Close()
	if verr := x.values.Close(); err == nil {
		err = verr
	}
	return err
}
