// Package valuestoretest is the conformance suite every value store runs
// (see package valuestore). Run checks the store-independent contract; the
// options plug in what only a store's own test can provide: a second
// deployment on the same service, entries planted with the service's SDK
// directly, and injected throttling.
//
// A store's test calls it once per local server:
//
//	func TestConformance(t *testing.T) {
//		valuestoretest.Run(t, openStore,
//			valuestoretest.WithOtherDeployment(openStoreFor),
//			valuestoretest.WithForeignEntries(plantEntry),
//			valuestoretest.WithThrottling(throttle))
//	}
//
// Sizes are measured as the store measures them: the length of the JSON
// encoding of the values map (encoding/json, as json.Marshal writes it). A
// store whose wire format adds bytes around the values subtracts them from
// Limit, so that a payload of exactly Limit bytes is always accepted.
//
// Failure messages name keys and secret ids, never values.
package valuestoretest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// Deployment is the deployment id Run expects the store from open to use
// (open passes it in valuestore.Options). Other deployments in the suite use
// other ids.
const Deployment = "conformance-deployment"

// ForeignKind says how a planted entry is foreign to the store under test.
type ForeignKind int

const (
	// Plain is an entry under the store's name for the secret id with no
	// Lockwell tags at all, as another tool would create it.
	Plain ForeignKind = iota
	// OtherDeployment carries the Lockwell tags, with another deployment id.
	OtherDeployment
	// OtherSecretID carries this deployment's id but another secret id.
	OtherSecretID
)

func (k ForeignKind) String() string {
	return [...]string{"plain", "other-deployment", "other-secret-id"}[k]
}

// Op is a store operation that WithThrottling is asked to throttle.
type Op int

const (
	// OpCreate is a Put of a secret id that has no entry yet.
	OpCreate Op = iota
	// OpUpdate is a Put of a secret id that has an entry.
	OpUpdate
	// OpGet is a Get.
	OpGet
)

func (o Op) String() string { return [...]string{"create", "update", "get"}[o] }

// Option adds a store-specific part to Run.
type Option func(*config)

type config struct {
	openOther func(t *testing.T, deployment string) valuestore.Store
	plant     func(t *testing.T, secretID string, kind ForeignKind) (intact func() bool)
	throttle  func(t *testing.T, op Op, times int)
}

// WithOtherDeployment lets Run open a store for another deployment on the
// same service, mount and prefix as the store under test, to check that the
// two never see each other's entries.
func WithOtherDeployment(open func(t *testing.T, deployment string) valuestore.Store) Option {
	return func(c *config) { c.openOther = open }
}

// WithForeignEntries lets Run plant, with the service's SDK directly, an
// entry under the exact name the store would use for secretID but foreign to
// it as kind says. intact reports whether the entry is still there with the
// contents it was planted with. Run checks the store never returns, lists,
// changes or deletes such an entry.
func WithForeignEntries(plant func(t *testing.T, secretID string, kind ForeignKind) (intact func() bool)) Option {
	return func(c *config) { c.plant = plant }
}

// WithThrottling lets Run make the service answer the next times requests
// of op with its throttling error (or a 5xx), to check the store retries.
func WithThrottling(throttle func(t *testing.T, op Op, times int)) Option {
	return func(c *config) { c.throttle = throttle }
}

// Run runs the conformance suite. open returns a fresh store for
// Deployment; each subtest opens its own and closes it when done. Stores
// must keep the entries of one open visible to the next (they share the
// service), and secret ids are fresh UUIDs, so subtests do not collide.
func Run(t *testing.T, open func(t *testing.T) valuestore.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	openClosed := func(t *testing.T) valuestore.Store {
		s := open(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	t.Run("Describe", func(t *testing.T) {
		s := openClosed(t)
		assert.NotEmpty(t, s.Name(), "Name names the store in messages")
		assert.Greater(t, s.Limit(), 1024, "Limit must allow at least 1 KiB")
	})
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, openClosed(t)) })
	t.Run("LargestPayload", func(t *testing.T) { testLargest(t, openClosed(t)) })
	t.Run("TooLarge", func(t *testing.T) { testTooLarge(t, openClosed(t)) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, openClosed(t)) })
	t.Run("RepeatedPut", func(t *testing.T) { testRepeatedPut(t, openClosed(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, openClosed(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, openClosed(t)) })
	t.Run("Entries", func(t *testing.T) { testEntries(t, openClosed(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, openClosed(t)) })
	t.Run("ConcurrentPutsToOneEntry", func(t *testing.T) { testConcurrentPutsToOneEntry(t, openClosed(t)) })
	t.Run("LaterWritesLeaveAVersionReadable", func(t *testing.T) { testLaterWrites(t, openClosed(t)) })
	t.Run("KeptHistoryStaysReadable", func(t *testing.T) { testKeptHistory(t, openClosed(t)) })
	t.Run("OtherDeployment", func(t *testing.T) {
		if c.openOther == nil {
			t.Skip("store test gave no WithOtherDeployment")
		}
		other := c.openOther(t, "other-"+uuid.NewString()[:8])
		t.Cleanup(func() { _ = other.Close() })
		testOtherDeployment(t, openClosed(t), other)
	})
	t.Run("ForeignEntries", func(t *testing.T) {
		if c.plant == nil {
			t.Skip("store test gave no WithForeignEntries")
		}
		for _, kind := range []ForeignKind{Plain, OtherDeployment, OtherSecretID} {
			t.Run(kind.String(), func(t *testing.T) { testForeign(t, openClosed(t), c.plant, kind) })
		}
	})
	// Throttling applies to stores behind a service that throttles; a store
	// without one (the file-based example) has nothing to inject, and the
	// case is left out rather than reported as skipped.
	if c.throttle != nil {
		t.Run("Throttling", func(t *testing.T) { testThrottling(t, openClosed(t), c.throttle) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// RequireSameValues fails t if got and want differ, naming the keys that
// differ but never a value (see secrettest). A nil map and an empty one hold
// the same values: a store may return either for a nil Put.
func RequireSameValues(t testing.TB, want, got map[string]string, what string) {
	t.Helper()
	secrettest.RequireSameValues(t, orEmpty(want), orEmpty(got), what)
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func requireCode(t testing.TB, want errcode.Code, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.Equal(t, want, errcode.Of(err), "%s: error code (message %q)", what, errcode.Message(err))
}

func put(t *testing.T, s valuestore.Store, id string, values map[string]string) string {
	t.Helper()
	ref, err := s.Put(ctx(t), id, values)
	require.NoError(t, err, "Put %s", id)
	require.NotEmpty(t, ref, "Put returns a ref")
	return ref
}

func get(t *testing.T, s valuestore.Store, id, ref string) map[string]string {
	t.Helper()
	v, err := s.Get(ctx(t), id, ref)
	require.NoError(t, err, "Get %s @ %s", id, ref)
	return v
}

func newID() string { return uuid.NewString() }

func testRoundTrip(t *testing.T, s valuestore.Store) {
	cases := []struct {
		name   string
		values map[string]string
	}{
		{"simple", map[string]string{"username": "admin", "password": "pa55word"}},
		{"unicode", map[string]string{"clé": "värde ✓ 日本語 🔐", "emoji_🔑": "\u00e9\u0301", "zero": "\x00inside"}},
		{"json-looking", map[string]string{"doc": `{"a":[1,2,{"b":null}]}`, "html": "<a href=\"x\">&amp;</a>"}},
		{"empty value", map[string]string{"empty": ""}},
		{"empty map", map[string]string{}},
		{"nil map", nil},
		{"many keys", manyKeys(200)},
		{"whitespace", map[string]string{"multi line": "line1\nline2\r\n\ttabbed  "}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := newID()
			t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
			ref := put(t, s, id, tc.values)
			got := get(t, s, id, ref)
			RequireSameValues(t, tc.values, got, tc.name)
		})
	}
}

func manyKeys(n int) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("key_%03d", i)] = fmt.Sprintf("value-%d", i*7919)
	}
	return m
}

// ValuesOfSize returns values whose JSON encoding is exactly size bytes
// (size >= 20), spread over a few keys.
func ValuesOfSize(t testing.TB, size int) map[string]string {
	t.Helper()
	require.GreaterOrEqual(t, size, 20)
	const keys = 4
	v := map[string]string{}
	for i := range keys {
		v[fmt.Sprintf("k%d", i)] = ""
	}
	base := encodedSize(t, v)
	fill := size - base
	for i := range keys {
		n := fill / keys
		if i == 0 {
			n += fill % keys
		}
		v[fmt.Sprintf("k%d", i)] = strings.Repeat(string(rune('a'+i)), n)
	}
	require.Equal(t, size, encodedSize(t, v), "ValuesOfSize")
	return v
}

func encodedSize(t testing.TB, v map[string]string) int {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return len(b)
}

func testLargest(t *testing.T, s valuestore.Store) {
	// Exactly at the limit, and a unicode payload just under it.
	for _, size := range []int{s.Limit(), s.Limit() - 1} {
		id := newID()
		t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
		values := ValuesOfSize(t, size)
		if size < s.Limit() {
			values["unicode"] = "✓"
			for encodedSize(t, values) > size {
				values["k0"] = values["k0"][1:]
			}
		}
		ref := put(t, s, id, values)
		RequireSameValues(t, values, get(t, s, id, ref), fmt.Sprintf("payload of %d bytes", size))
	}
}

func testTooLarge(t *testing.T, s valuestore.Store) {
	id := newID()
	_, err := s.Put(ctx(t), id, ValuesOfSize(t, s.Limit()+1))
	requireCode(t, errcode.TooLarge, err, "Put over Limit")
	msg := errcode.Message(err)
	assert.Contains(t, msg, s.Name(), "the too_large message names the store")
	assert.Contains(t, msg, fmt.Sprint(s.Limit()), "the too_large message names the limit in bytes")
	// Nothing was stored.
	_, err = s.Get(ctx(t), id, "1")
	requireCode(t, errcode.NotFound, err, "Get after a refused Put")
	assertNotListed(t, s, id)

	// An update over the limit leaves the earlier version in place.
	small := map[string]string{"a": "b"}
	ref := put(t, s, id, small)
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	_, err = s.Put(ctx(t), id, ValuesOfSize(t, s.Limit()+100))
	requireCode(t, errcode.TooLarge, err, "update over Limit")
	RequireSameValues(t, small, get(t, s, id, ref), "values after a refused update")
}

func testVersions(t *testing.T, s valuestore.Store) {
	id := newID()
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	v1 := map[string]string{"password": "one"}
	v2 := map[string]string{"password": "two", "added": "yes"}
	v3 := map[string]string{"password": "three"}
	r1 := put(t, s, id, v1)
	r2 := put(t, s, id, v2)
	r3 := put(t, s, id, v3)
	require.NotEqual(t, r1, r2, "each Put is a new version")
	require.NotEqual(t, r2, r3, "each Put is a new version")

	RequireSameValues(t, v1, get(t, s, id, r1), "version 1 before Retire")
	RequireSameValues(t, v2, get(t, s, id, r2), "version 2 before Retire")
	RequireSameValues(t, v3, get(t, s, id, r3), "version 3 before Retire")

	// Retire keeps the ref it is given and every newer version (a newer one
	// may belong to a writer whose index update is still in flight); older
	// versions are gone or unchanged, as the store is configured.
	require.NoError(t, s.Retire(ctx(t), id, r2), "Retire")
	RequireSameValues(t, v2, get(t, s, id, r2), "kept version after Retire")
	RequireSameValues(t, v3, get(t, s, id, r3), "newer version after Retire")
	got, err := s.Get(ctx(t), id, r1)
	if err != nil {
		requireCode(t, errcode.NotFound, err, "retired version")
	} else {
		RequireSameValues(t, v1, got, "retired version kept by configuration")
	}
	require.NoError(t, s.Retire(ctx(t), id, r2), "Retire is repeatable")

	// An unknown ref of a known entry.
	for _, ref := range []string{"999999", "00000000-0000-0000-0000-000000000000", "not a ref"} {
		_, err := s.Get(ctx(t), id, ref)
		requireCode(t, errcode.NotFound, err, "Get of unknown ref "+ref)
	}
}

func testRepeatedPut(t *testing.T, s valuestore.Store) {
	// A retried Put with the same values (as after a lost response) must
	// succeed and leave readable values; whether it makes a new version is
	// the store's choice.
	id := newID()
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	v := map[string]string{"a": "1"}
	put(t, s, id, v)
	w := map[string]string{"a": "2"}
	r2 := put(t, s, id, w)
	r2again := put(t, s, id, w)
	RequireSameValues(t, w, get(t, s, id, r2), "first of two equal Puts")
	RequireSameValues(t, w, get(t, s, id, r2again), "second of two equal Puts")
	// Going back to earlier values is a change like any other.
	r3 := put(t, s, id, v)
	RequireSameValues(t, v, get(t, s, id, r3), "Put of earlier values")
}

func testDelete(t *testing.T, s valuestore.Store) {
	id := newID()
	v := map[string]string{"k": "v"}
	r1 := put(t, s, id, v)
	r2 := put(t, s, id, map[string]string{"k": "w"})
	require.NoError(t, s.Delete(ctx(t), id), "Delete")
	for _, ref := range []string{r1, r2} {
		_, err := s.Get(ctx(t), id, ref)
		requireCode(t, errcode.NotFound, err, "Get after Delete")
	}
	requireCode(t, errcode.NotFound, s.Delete(ctx(t), id), "second Delete")
	assertNotListed(t, s, id)
}

func testNotFound(t *testing.T, s valuestore.Store) {
	id := newID()
	_, err := s.Get(ctx(t), id, "1")
	requireCode(t, errcode.NotFound, err, "Get of unknown id")
	requireCode(t, errcode.NotFound, s.Delete(ctx(t), id), "Delete of unknown id")
	// Retire of an unknown id is best effort: no error or not_found.
	if err := s.Retire(ctx(t), id, "1"); err != nil {
		requireCode(t, errcode.NotFound, err, "Retire of unknown id")
	}
}

func listed(t *testing.T, s valuestore.Store) map[string]int {
	t.Helper()
	seen := map[string]int{}
	require.NoError(t, s.Entries(ctx(t), func(id string) error { seen[id]++; return nil }), "Entries")
	return seen
}

func assertNotListed(t *testing.T, s valuestore.Store, id string) {
	t.Helper()
	assert.Zero(t, listed(t, s)[id], "Entries lists %s", id)
}

func testEntries(t *testing.T, s valuestore.Store) {
	ids := make([]string, 7)
	for i := range ids {
		ids[i] = newID()
		put(t, s, ids[i], map[string]string{"n": fmt.Sprint(i)})
		if i%2 == 0 {
			put(t, s, ids[i], map[string]string{"n": "again"}) // versions are not entries
		}
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = s.Delete(context.Background(), id)
		}
	})
	seen := listed(t, s)
	for _, id := range ids {
		assert.Equal(t, 1, seen[id], "Entries lists %s exactly once", id)
	}
	for id := range seen {
		_, err := uuid.Parse(id)
		assert.NoError(t, err, "Entries yields secret ids, got %q", id)
	}

	require.NoError(t, s.Delete(ctx(t), ids[0]))
	assertNotListed(t, s, ids[0])

	// fn's error stops the walk and comes back unchanged.
	stop := errors.New("stop here")
	calls := 0
	err := s.Entries(ctx(t), func(string) error { calls++; return stop })
	assert.ErrorIs(t, err, stop, "Entries returns fn's error")
	assert.Equal(t, 1, calls, "Entries stops at fn's first error")
}

func testConcurrent(t *testing.T, s valuestore.Store) {
	const n = 8
	ids := make([]string, n)
	refs := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		ids[i] = newID()
		go func() {
			ref, err := s.Put(ctx(t), ids[i], map[string]string{"i": fmt.Sprint(i)})
			refs[i] = ref
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs, "concurrent Put")
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = s.Delete(context.Background(), id)
		}
	})
	for i := range n {
		RequireSameValues(t, map[string]string{"i": fmt.Sprint(i)}, get(t, s, ids[i], refs[i]), "concurrent Put")
	}
}

// testConcurrentPutsToOneEntry is what racing updates of one secret do: each
// writer puts its own values into the same entry, and the index will record
// the ref of one of them. Every ref must name exactly its own write, never a
// version another writer wrote over, or the index could record a winner
// whose values are a loser's.
func testConcurrentPutsToOneEntry(t *testing.T, s valuestore.Store) {
	id := newID()
	put(t, s, id, map[string]string{"n": "0"})
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	const n = 8
	refs := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			ref, err := s.Put(ctx(t), id, map[string]string{"n": fmt.Sprint(i + 1)})
			refs[i] = ref
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs, "concurrent Put")
	}
	seen := map[string]int{}
	for i, ref := range refs {
		if j, dup := seen[ref]; dup {
			t.Fatalf("writers %d and %d with different values got the same ref", j, i)
		}
		seen[ref] = i
		RequireSameValues(t, map[string]string{"n": fmt.Sprint(i + 1)}, get(t, s, id, ref), fmt.Sprintf("writer %d's ref", i))
	}
}

// testLaterWrites: writers that lose their index updates still write
// versions, any number of them after the winner's. They must never remove
// the winner's version, which the index points at until the next
// successful update retires it (a store that keeps a fixed number of
// versions, like Vault's default of 10, would).
func testLaterWrites(t *testing.T, s valuestore.Store) {
	id := newID()
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	want := map[string]string{"n": "winner"}
	ref := put(t, s, id, want)
	for i := range 30 {
		put(t, s, id, map[string]string{"n": fmt.Sprint("loser ", i)})
	}
	RequireSameValues(t, want, get(t, s, id, ref), "the version 30 later writes left alone")
}

// testKeptHistory is what an index keeping past versions (the default
// retention of 20) asks of a store: each update retires only the versions
// older than the oldest version the index keeps, and every version from
// that one on, past versions included, stays readable by its ref through
// many writes and retires.
func testKeptHistory(t *testing.T, s valuestore.Store) {
	const writes, kept = 30, 20
	id := newID()
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	refs := make([]string, 0, writes)
	for i := range writes {
		refs = append(refs, put(t, s, id, map[string]string{"n": fmt.Sprint(i)}))
		oldest := max(0, len(refs)-kept)
		require.NoError(t, s.Retire(ctx(t), id, refs[oldest]), "Retire after write %d", i)
	}
	for i := writes - kept; i < writes; i++ {
		RequireSameValues(t, map[string]string{"n": fmt.Sprint(i)}, get(t, s, id, refs[i]), fmt.Sprintf("kept version %d of %d", i, writes))
	}
	for i := range writes - kept {
		got, err := s.Get(ctx(t), id, refs[i])
		if err != nil {
			requireCode(t, errcode.NotFound, err, "retired version")
		} else {
			RequireSameValues(t, map[string]string{"n": fmt.Sprint(i)}, got, "retired version kept by configuration")
		}
	}
}

func testOtherDeployment(t *testing.T, mine, other valuestore.Store) {
	id := newID()
	v := map[string]string{"theirs": "x"}
	ref := put(t, other, id, v)
	t.Cleanup(func() { _ = other.Delete(context.Background(), id) })

	_, err := mine.Get(ctx(t), id, ref)
	requireCode(t, errcode.NotFound, err, "Get of another deployment's entry")
	assertNotListed(t, mine, id)
	requireCode(t, errcode.NotFound, mine.Delete(ctx(t), id), "Delete of another deployment's entry")
	_ = mine.Retire(ctx(t), id, ref)
	_, err = mine.Put(ctx(t), id, map[string]string{"mine": "y"})
	require.Error(t, err, "Put over another deployment's entry")
	assert.Contains(t, []errcode.Code{errcode.AlreadyExists, errcode.PermissionDenied}, errcode.Of(err), "Put over another deployment's entry")

	// The other deployment's entry is untouched.
	RequireSameValues(t, v, get(t, other, id, ref), "other deployment's values")
	assert.Equal(t, 1, listed(t, other)[id], "other deployment still lists its entry")

	// And mine are invisible to it.
	mineID := newID()
	mref := put(t, mine, mineID, map[string]string{"m": "1"})
	t.Cleanup(func() { _ = mine.Delete(context.Background(), mineID) })
	_, err = other.Get(ctx(t), mineID, mref)
	requireCode(t, errcode.NotFound, err, "other deployment's Get of my entry")
	assertNotListed(t, other, mineID)
}

func testForeign(t *testing.T, s valuestore.Store, plant func(*testing.T, string, ForeignKind) func() bool, kind ForeignKind) {
	id := newID()
	intact := plant(t, id, kind)
	require.True(t, intact(), "planted entry reads back")

	for _, ref := range []string{"1", "2"} {
		_, err := s.Get(ctx(t), id, ref)
		requireCode(t, errcode.NotFound, err, "Get of a foreign entry")
	}
	assertNotListed(t, s, id)
	requireCode(t, errcode.NotFound, s.Delete(ctx(t), id), "Delete of a foreign entry")
	_ = s.Retire(ctx(t), id, "1")
	_, err := s.Put(ctx(t), id, map[string]string{"mine": "y"})
	require.Error(t, err, "Put over a foreign entry")
	assert.Contains(t, []errcode.Code{errcode.AlreadyExists, errcode.PermissionDenied}, errcode.Of(err), "Put over a foreign entry")
	assert.True(t, intact(), "the foreign entry is unchanged")
}

func testThrottling(t *testing.T, s valuestore.Store, throttle func(*testing.T, Op, int)) {
	id := newID()
	t.Cleanup(func() { _ = s.Delete(context.Background(), id) })
	v1 := map[string]string{"a": "1"}
	v2 := map[string]string{"a": "2"}

	throttle(t, OpCreate, 2)
	r1, err := s.Put(ctx(t), id, v1)
	require.NoError(t, err, "Put (create) retried through throttling")

	throttle(t, OpUpdate, 2)
	r2, err := s.Put(ctx(t), id, v2)
	require.NoError(t, err, "Put (update) retried through throttling")

	throttle(t, OpGet, 2)
	got, err := s.Get(ctx(t), id, r1)
	require.NoError(t, err, "Get retried through throttling")
	RequireSameValues(t, v1, got, "Get after throttling")
	RequireSameValues(t, v2, get(t, s, id, r2), "update after throttling")

	// Throttling that outlasts the retries is unavailable.
	throttle(t, OpGet, 50)
	_, err = s.Get(ctx(t), id, r2)
	requireCode(t, errcode.Unavailable, err, "Get throttled past the retries")
}
