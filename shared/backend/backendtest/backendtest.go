// Package backendtest is the conformance suite every backend passes: the
// executable form of the contract in package backend. A backend's test calls
// Run with a function that opens a fresh, empty backend (a new database
// file, schema or table); backends that also serve as the index of an
// external value store call RunIndex too.
//
// Failure messages never print secret values: values are compared by key
// and the message names the keys that differ.
package backendtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// Opener opens a fresh, empty backend for one test. It registers its own
// cleanup with t.Cleanup.
type Opener func(t *testing.T) backend.Backend

// Run runs the conformance suite against the backends open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend.Backend)
	}{
		{"CreateThenGetRoundTrips", testCreateGet},
		{"GetMissingIsNotFound", testGetMissing},
		{"UniquenessRules", testUniqueness},
		{"ConcurrentCreatesOfOneNameOneWins", testConcurrentCreates},
		{"UpdateReplacesAndChecksVersion", testUpdate},
		{"UpdateRenameClashes", testUpdateClash},
		{"ConcurrentUpdatesSameVersionOneWins", testConcurrentUpdates},
		{"DeleteThenGone", testDelete},
		{"ListNeverReturnsValues", testListNoValues},
		{"ListVisibility", testListVisibility},
		{"ListFilters", testListFilters},
		{"ListSortOrders", testListSort},
		{"PaginationWithConcurrentInserts", testPagination},
		{"UnicodeAndAwkwardValues", testUnicode},
		{"LargestSecretRoundTrips", testLargest},
		{"ManyKeysRoundTrip", testManyKeys},
		{"MetadataWithoutValues", testMetadata},
		{"IdempotencyRecordsOutliveTheSecret", testRecords},
		{"IdempotencyKeyTakenStoresNothing", testRecordTaken},
		{"ExpiredIdempotencyRecordIsReplaced", testRecordExpired},
		{"ConcurrentWritesWithOneKeyOneWins", testRecordRace},
	}
	tests = append(tests, historyTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// RunIndex checks what an index backend must do on top of Run: keep a
// secret without values, with the reference to its values elsewhere.
func RunIndex(t *testing.T, open Opener) {
	t.Run("IndexKeepsValuesRefWithoutValues", func(t *testing.T) {
		b := open(t)
		ctx := context.Background()
		s := New("indexed", "alice", false, nil)
		s.Values, s.Keys, s.ValuesRef = nil, []string{"password", "user"}, "ref-1"
		require.NoError(t, b.Create(ctx, s))
		got, err := b.Get(ctx, s.ID)
		require.NoError(t, err)
		assert.Nil(t, got.Values, "an index entry has no values")
		assert.Equal(t, []string{"password", "user"}, got.Keys)
		assert.Equal(t, "ref-1", got.ValuesRef)

		next := Next(got, func(n *secret.Secret) { n.ValuesRef, n.Keys = "ref-2", []string{"user"} })
		require.NoError(t, b.Update(ctx, next, 1))
		got, err = b.Get(ctx, s.ID)
		require.NoError(t, err)
		assert.Equal(t, "ref-2", got.ValuesRef)
		assert.Equal(t, []string{"user"}, got.Keys)

		next = Next(got, func(n *secret.Secret) { n.ValuesRef = "ref-3" })
		next.Keep = keepN(5)
		require.NoError(t, b.Update(ctx, next, 2))
		old, err := b.GetVersion(ctx, s.ID, 2)
		require.NoError(t, err)
		assert.Equal(t, "ref-2", old.ValuesRef, "a past version keeps its values ref")
		assert.Nil(t, old.Values)
	})
}

// New returns a valid version-1 secret with fresh id and timestamps.
func New(name, owner string, private bool, values map[string]string) *secret.Secret {
	if values == nil {
		values = map[string]string{}
	}
	now := secret.Now()
	return &secret.Secret{
		ID: secret.NewID(), Name: name, Owner: owner, Private: private,
		Values: values, Keys: secret.KeysOf(values), Version: 1, Created: now, Updated: now,
	}
}

// Next returns the next version of s with change applied.
func Next(s *secret.Secret, change func(*secret.Secret)) *secret.Secret {
	n := s.Clone()
	n.Version++
	n.Updated = s.Updated.Add(time.Millisecond)
	if change != nil {
		change(n)
	}
	if n.Values != nil {
		n.Keys = secret.KeysOf(n.Values)
	}
	return n
}

// SameValues fails the test if the value maps differ, naming only the keys.
func SameValues(t *testing.T, want, got map[string]string, msgAndArgs ...any) {
	t.Helper()
	secrettest.RequireSameValues(t, want, got, msgAndArgs...)
}

// sameMetadata compares everything but values.
func sameMetadata(t *testing.T, want, got *secret.Secret) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID, "id")
	assert.Equal(t, want.Name, got.Name, "name")
	assert.Equal(t, want.Private, got.Private, "private")
	assert.Equal(t, want.Owner, got.Owner, "owner")
	assert.Equal(t, want.Version, got.Version, "version")
	assert.Equal(t, want.Keys, got.Keys, "keys")
	assert.True(t, want.Created.Equal(got.Created), "created: want %v, got %v", want.Created, got.Created)
	assert.True(t, want.Updated.Equal(got.Updated), "updated: want %v, got %v", want.Updated, got.Updated)
	assert.Equal(t, time.UTC, got.Created.Location(), "timestamps come back in UTC")
	assert.Equal(t, want.Origin, got.Origin, "origin")
	assert.Equal(t, want.ChangeKey, got.ChangeKey, "change key")
}

func code(t *testing.T, want errcode.Code, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	require.Equal(t, want, errcode.Of(err), "%s: %v", what, err)
}

func testCreateGet(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("db-credentials", "alice", false, map[string]string{"user": "admin", "password": "s3cr3t", "empty": ""})
	s.Origin, s.ChangeKey = "zenml-aws://eu-west-1#db", "k.h"
	require.NoError(t, b.Create(ctx, s))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	sameMetadata(t, s, got)
	SameValues(t, s.Values, got.Values)
}

func testGetMissing(t *testing.T, b backend.Backend) {
	_, err := b.Get(context.Background(), secret.NewID())
	code(t, errcode.NotFound, err, "get of an id never created")
}

func testUniqueness(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	require.NoError(t, b.Create(ctx, New("shared", "alice", false, nil)))
	code(t, errcode.AlreadyExists, b.Create(ctx, New("shared", "bob", false, nil)), "second public secret of a name, other owner")
	require.NoError(t, b.Create(ctx, New("shared", "alice", true, nil)), "a private and a public secret may share a name")
	require.NoError(t, b.Create(ctx, New("shared", "bob", true, nil)), "private names are unique per owner")
	code(t, errcode.AlreadyExists, b.Create(ctx, New("shared", "bob", true, nil)), "second private secret of a name, same owner")
	require.NoError(t, b.Create(ctx, New("Shared", "alice", false, nil)), "names are case-sensitive")

	page, err := b.List(ctx, backend.Query{Viewer: "carol", Name: "shared", Limit: 10})
	require.NoError(t, err)
	require.Len(t, page, 1, "a failed create stores nothing")
}

func testConcurrentCreates(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Create(ctx, New("race", fmt.Sprintf("user%d", i), false, map[string]string{"k": "v"}))
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			code(t, errcode.AlreadyExists, err, "losing create")
		}
	}
	assert.Equal(t, 1, won, "exactly one concurrent create of a public name succeeds")
}

func testUpdate(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("api", "alice", false, map[string]string{"token": "one", "url": "https://x"})
	require.NoError(t, b.Create(ctx, s))
	next := Next(s, func(n *secret.Secret) {
		n.Name, n.Values, n.ChangeKey, n.Origin = "api-renamed", map[string]string{"token": "two"}, "k2.h2", "o2"
	})
	require.NoError(t, b.Update(ctx, next, 1))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	sameMetadata(t, next, got)
	SameValues(t, next.Values, got.Values)

	stale := Next(s, nil) // built on version 1 again
	code(t, errcode.FailedPrecondition, b.Update(ctx, stale, 1), "update with a stale expected version")
	got, err = b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version, "a failed update changes nothing")

	missing := New("ghost", "alice", false, nil)
	missing.Version = 2
	code(t, errcode.NotFound, b.Update(ctx, missing, 1), "update of a missing secret")
}

func testUpdateClash(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	a := New("first", "alice", false, nil)
	c := New("second", "alice", false, nil)
	p := New("first", "alice", true, nil)
	require.NoError(t, b.Create(ctx, a))
	require.NoError(t, b.Create(ctx, c))
	require.NoError(t, b.Create(ctx, p))
	code(t, errcode.AlreadyExists, b.Update(ctx, Next(c, func(n *secret.Secret) { n.Name = "first" }), 1), "rename onto a public name")
	code(t, errcode.AlreadyExists, b.Update(ctx, Next(a, func(n *secret.Secret) { n.Private = true }), 1), "make private where the owner has a private secret of that name")
	require.NoError(t, b.Update(ctx, Next(p, func(n *secret.Secret) { n.Name = "second" }), 1), "a private secret may take a public secret's name")
	got, err := b.Get(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, "second", got.Name)
	assert.Equal(t, int64(1), got.Version)
}

func testConcurrentUpdates(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("contended", "alice", false, map[string]string{"n": "0"})
	require.NoError(t, b.Create(ctx, s))
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Update(ctx, Next(s, func(x *secret.Secret) { x.Values = map[string]string{"n": fmt.Sprint(i + 1)} }), 1)
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			assert.Equal(t, -1, won, "two updates with the same expected version both succeeded")
			won = i
		} else {
			code(t, errcode.FailedPrecondition, err, "losing update")
		}
	}
	require.NotEqual(t, -1, won, "one update must win")
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)
	SameValues(t, map[string]string{"n": fmt.Sprint(won + 1)}, got.Values, "the winner's values are stored")
}

func testDelete(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("doomed", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, s))
	code(t, errcode.FailedPrecondition, b.Delete(ctx, s.ID, 7), "delete with a stale version")
	require.NoError(t, b.Delete(ctx, s.ID, 1))
	_, err := b.Get(ctx, s.ID)
	code(t, errcode.NotFound, err, "get after delete")
	code(t, errcode.NotFound, b.Delete(ctx, s.ID, 0), "second delete")
	require.NoError(t, b.Create(ctx, New("doomed", "bob", false, nil)), "a deleted secret's name is free again")
	items, err := b.List(ctx, backend.Query{Viewer: "alice", Limit: 10})
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, "bob", items[0].Owner)
}

func testListNoValues(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	require.NoError(t, b.Create(ctx, New("one", "alice", false, map[string]string{"b": "2", "a": "1"})))
	require.NoError(t, b.Create(ctx, New("two", "alice", true, map[string]string{"c": "3"})))
	items, err := b.List(ctx, backend.Query{Viewer: "alice", Limit: 10})
	require.NoError(t, err)
	require.Len(t, items, 2)
	for _, it := range items {
		assert.Nil(t, it.Values, "list must never return values (%s)", it.Name)
	}
	assert.Equal(t, []string{"a", "b"}, items[0].Keys, "list items carry sorted key names")
	assert.Equal(t, []string{"c"}, items[1].Keys)
}

func names(items []*secret.Secret) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Name
		if it.Private {
			out[i] += "(" + it.Owner + ")"
		}
	}
	return out
}

func testListVisibility(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	for _, s := range []*secret.Secret{
		New("a-public", "alice", false, nil),
		New("b-alice", "alice", true, nil),
		New("c-bob", "bob", true, nil),
		New("a-public", "bob", true, nil),
	} {
		require.NoError(t, b.Create(ctx, s))
	}
	list := func(q backend.Query) []string {
		t.Helper()
		q.Limit = 100
		items, err := b.List(ctx, q)
		require.NoError(t, err)
		return names(items)
	}
	assert.Equal(t, []string{"a-public", "b-alice(alice)"}, list(backend.Query{Viewer: "alice"}))
	bob := list(backend.Query{Viewer: "bob"})
	sort.Strings(bob)
	assert.Equal(t, []string{"a-public", "a-public(bob)", "c-bob(bob)"}, bob)
	assert.Equal(t, []string{"a-public"}, list(backend.Query{Viewer: "admin"}), "nobody sees another principal's private secrets")
	assert.Empty(t, list(backend.Query{Viewer: "alice", Owner: "bob"}), "filtering by owner does not reveal private secrets")
}

func testListFilters(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	for _, n := range []string{"prod.db", "prod-db", "prodXdb", "staging.db", "PROD.db", "a%b", "a_b", "axb", "x.prod.db"} {
		require.NoError(t, b.Create(ctx, New(n, "alice", false, nil)))
	}
	require.NoError(t, b.Create(ctx, New("prod.private", "alice", true, nil)))
	require.NoError(t, b.Create(ctx, New("prod.bobs", "bob", false, nil)))
	yes, no := true, false
	cases := []struct {
		name string
		q    backend.Query
		want []string
	}{
		{"exact name", backend.Query{Name: "prod.db"}, []string{"prod.db"}},
		{"prefix is case-sensitive and literal", backend.Query{NamePrefix: "prod."}, []string{"prod.bobs", "prod.db", "prod.private(alice)"}},
		{"contains is literal for . % and _", backend.Query{NameContains: "."}, []string{"PROD.db", "prod.bobs", "prod.db", "prod.private(alice)", "staging.db", "x.prod.db"}},
		{"percent is not a wildcard", backend.Query{NameContains: "%"}, []string{"a%b"}},
		{"underscore is not a wildcard", backend.Query{NamePrefix: "a_"}, []string{"a_b"}},
		{"only private", backend.Query{Private: &yes, NamePrefix: "prod"}, []string{"prod.private(alice)"}},
		{"only public", backend.Query{Private: &no, NamePrefix: "prod."}, []string{"prod.bobs", "prod.db"}},
		{"by owner", backend.Query{Owner: "bob"}, []string{"prod.bobs"}},
		{"filters combine", backend.Query{NamePrefix: "prod", NameContains: "db", Owner: "alice"}, []string{"prod-db", "prod.db", "prodXdb"}},
		{"no match", backend.Query{Name: "nope"}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Viewer, q.Limit = "alice", 100
			items, err := b.List(ctx, q)
			require.NoError(t, err)
			assert.Equal(t, tc.want, append([]string{}, names(items)...))
		})
	}
}

func testListSort(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	base := secret.Now()
	// Created order c, a, b; updated order b, c, a; two share a created time.
	mk := func(name string, created, updated int) *secret.Secret {
		s := New(name, "alice", false, nil)
		s.Created, s.Updated = base.Add(time.Duration(created)*time.Second), base.Add(time.Duration(updated)*time.Second)
		return s
	}
	all := []*secret.Secret{mk("a", 2, 30), mk("b", 3, 10), mk("c", 1, 20), mk("d", 2, 40)}
	for _, s := range all {
		require.NoError(t, b.Create(ctx, s))
	}
	idOf := map[string]string{}
	for _, s := range all {
		idOf[s.Name] = s.ID
	}
	// a and d share a created time: the tie is broken by id.
	ad := []string{"a", "d"}
	if idOf["d"] < idOf["a"] {
		ad = []string{"d", "a"}
	}
	da := []string{ad[1], ad[0]}
	cases := []struct {
		sort backend.Sort
		want []string
	}{
		{backend.Sort{Field: backend.ByName}, []string{"a", "b", "c", "d"}},
		{backend.Sort{Field: backend.ByName, Desc: true}, []string{"d", "c", "b", "a"}},
		{backend.Sort{Field: backend.ByCreated}, append(append([]string{"c"}, ad...), "b")},
		{backend.Sort{Field: backend.ByCreated, Desc: true}, append(append([]string{"b"}, da...), "c")},
		{backend.Sort{Field: backend.ByUpdated}, []string{"b", "c", "a", "d"}},
		{backend.Sort{Field: backend.ByUpdated, Desc: true}, []string{"d", "a", "c", "b"}},
	}
	for _, tc := range cases {
		name := string(tc.sort.Field)
		if tc.sort.Desc {
			name = "-" + name
		}
		t.Run(name, func(t *testing.T) {
			items, err := b.List(ctx, backend.Query{Viewer: "alice", Sort: tc.sort, Limit: 10})
			require.NoError(t, err)
			assert.Equal(t, tc.want, names(items))
			// Paging one at a time gives the same order.
			var paged []string
			var after *backend.Cursor
			for range 10 {
				page, err := b.List(ctx, backend.Query{Viewer: "alice", Sort: tc.sort, After: after, Limit: 1})
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				paged = append(paged, page[0].Name)
				after = backend.CursorAfter(page[0], tc.sort.Field)
			}
			assert.Equal(t, tc.want, paged, "paging one item at a time")
		})
	}
}

func testPagination(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	for _, srt := range []backend.Sort{{Field: backend.ByName}, {Field: backend.ByCreated, Desc: true}, {Field: backend.ByUpdated}} {
		t.Run(string(srt.Field), func(t *testing.T) {
			prefix := "page-" + string(srt.Field) + "-"
			want := map[string]bool{}
			for i := range 25 {
				s := New(fmt.Sprintf("%s%03d", prefix, i*2), "alice", i%5 == 0, nil)
				require.NoError(t, b.Create(ctx, s))
				want[s.ID] = true
			}
			seen := map[string]int{}
			var after *backend.Cursor
			var last *secret.Secret
			for pages := 0; ; pages++ {
				require.Less(t, pages, 100, "pagination does not terminate")
				page, err := b.List(ctx, backend.Query{Viewer: "alice", NamePrefix: prefix, Sort: srt, After: after, Limit: 4})
				require.NoError(t, err)
				if len(page) == 0 {
					break
				}
				for _, it := range page {
					seen[it.ID]++
					last = it
				}
				after = backend.CursorAfter(last, srt.Field)
				// Other writers insert between the first pages, before and
				// after the cursor (by name; by time always after it).
				for j := range min(2, max(0, 4-pages)*2) {
					s := New(fmt.Sprintf("%s%03d-ins%d-%d", prefix, pages*7%50, pages, j), "bob", false, nil)
					require.NoError(t, b.Create(ctx, s))
				}
			}
			for id := range want {
				assert.Equal(t, 1, seen[id], "secret %s that existed throughout appears exactly once", id)
			}
			for id, n := range seen {
				assert.Equal(t, 1, n, "secret %s appears %d times", id, n)
			}
		})
	}
}

func testUnicode(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	values := map[string]string{
		"emoji":     "🔐 ключ 鍵 مفتاح",
		"newlines":  "line1\nline2\r\nline3",
		"quotes":    `"double" 'single' \backslash`,
		"equals":    "a=b=c#not-a-comment",
		"nul":       "before\x00after",
		"empty":     "",
		"_private":  "leading underscore key",
		"dotted.k":  "dotted key",
		"dash-key":  "dash key",
		"json_like": `{"nested": [1, 2]}`,
	}
	s := New("unicode@team+x=y.z-1", "ünïcødé-user", true, values)
	require.NoError(t, b.Create(ctx, s))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	sameMetadata(t, s, got)
	SameValues(t, values, got.Values)
	items, err := b.List(ctx, backend.Query{Viewer: "ünïcødé-user", NameContains: "+x=y", Limit: 5})
	require.NoError(t, err)
	assert.Equal(t, []string{"unicode@team+x=y.z-1(ünïcødé-user)"}, names(items))
}

func testLargest(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	key := "blob"
	v := strings.Repeat("é", (secret.MaxTotalSize-len(key))/2) // two bytes each: exactly at the limit
	v += strings.Repeat("x", secret.MaxTotalSize-len(key)-len(v))
	values := map[string]string{key: v}
	require.NoError(t, secret.ValidateValues(values), "test value must be at the limit, not over it")
	s := New("largest", "alice", false, values)
	require.NoError(t, b.Create(ctx, s))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	SameValues(t, values, got.Values)
	require.NoError(t, b.Update(ctx, Next(s, nil), 1), "updating a secret at the size limit")
}

func testManyKeys(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	values := make(map[string]string, secret.MaxKeys)
	for i := range secret.MaxKeys {
		values[fmt.Sprintf("key_%04d", i)] = fmt.Sprintf("value %d", i)
	}
	s := New("many-keys", "alice", false, values)
	require.NoError(t, b.Create(ctx, s))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	SameValues(t, values, got.Values)
	items, err := b.List(ctx, backend.Query{Viewer: "alice", Name: "many-keys", Limit: 1})
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Len(t, items[0].Keys, secret.MaxKeys)
}

// testMetadata checks backend.MetadataGetter where a backend offers it: the
// same metadata as Get, without values.
func testMetadata(t *testing.T, b backend.Backend) {
	m, ok := b.(backend.MetadataGetter)
	if !ok {
		return // optional: the store falls back to Get
	}
	ctx := context.Background()
	s := New("meta", "alice", true, map[string]string{"k": "v"})
	s.Origin, s.ChangeKey = "o", "c"
	require.NoError(t, b.Create(ctx, s))
	got, err := m.GetMetadata(ctx, s.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Values, "GetMetadata returns no values")
	sameMetadata(t, s, got)
	_, err = m.GetMetadata(ctx, secret.NewID())
	code(t, errcode.NotFound, err, "GetMetadata of an id never created")
}

// Record returns an idempotency record for the write that makes result,
// expiring after ttl. Its Result is what clients see: no values, no change
// key or values reference.
func Record(key, operation string, result *secret.Secret, ttl time.Duration) *secret.Idempotency {
	now := secret.Now()
	res := result.Metadata()
	res.ChangeKey, res.ValuesRef = "", ""
	return &secret.Idempotency{
		Key: key, Request: "mac-of-" + key, Operation: operation, Result: res,
		Created: now, Expires: now.Add(ttl),
	}
}

// uniqueKey returns a record key no other test run uses (tables and
// databases may be shared between runs).
func uniqueKey(t *testing.T, what string) string { return what + "-" + secret.NewID() }

func requireRecord(t *testing.T, b backend.Backend, want *secret.Idempotency) {
	t.Helper()
	got, err := b.Idempotency(context.Background(), want.Key)
	require.NoError(t, err, "the record of key %s", want.Key)
	assert.Equal(t, want.Request, got.Request, "request")
	assert.Equal(t, want.Operation, got.Operation, "operation")
	assert.True(t, want.Expires.Equal(got.Expires), "expires: want %v, got %v", want.Expires, got.Expires)
	require.NotNil(t, got.Result, "result")
	assert.Nil(t, got.Result.Values, "a record never holds values")
	sameMetadata(t, want.Result, got.Result)
}

func testRecords(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	s := New("recorded", "alice", false, map[string]string{"a": "0"})
	s.ChangeKey = "ck1"
	s.Idempotency = Record(uniqueKey(t, "create"), "create", s, time.Hour)
	require.NoError(t, b.Create(ctx, s))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Nil(t, got.Idempotency, "Get never returns the record")

	next := Next(got, func(n *secret.Secret) { n.Values["a"] = "1"; n.ChangeKey = "ck2" })
	next.Idempotency = Record(uniqueKey(t, "update"), "update", next, time.Hour)
	require.NoError(t, b.Update(ctx, next, 1))

	// Later changes and even deletion leave both records as they were.
	later := Next(next, func(n *secret.Secret) { n.Values["a"] = "2"; n.Name = "recorded-renamed"; n.Idempotency = nil })
	require.NoError(t, b.Update(ctx, later, 2))
	requireRecord(t, b, s.Idempotency)
	requireRecord(t, b, next.Idempotency)
	require.NoError(t, b.Delete(ctx, s.ID, 0))
	requireRecord(t, b, s.Idempotency)
	requireRecord(t, b, next.Idempotency)

	_, err = b.Idempotency(ctx, uniqueKey(t, "never-used"))
	code(t, errcode.NotFound, err, "a key never used")
}

func testRecordTaken(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	key := uniqueKey(t, "taken")
	first := New("first", "alice", false, map[string]string{"a": "0"})
	first.Idempotency = Record(key, "create", first, time.Hour)
	require.NoError(t, b.Create(ctx, first))

	second := New("second", "alice", false, map[string]string{"a": "0"})
	second.Idempotency = Record(key, "create", second, time.Hour)
	err := b.Create(ctx, second)
	require.True(t, errors.Is(err, backend.ErrIdempotencyKeyUsed), "create with a taken key: %v", err)
	code(t, errcode.AlreadyExists, err, "create with a taken key")
	_, err = b.Get(ctx, second.ID)
	code(t, errcode.NotFound, err, "the refused create stored nothing")

	next := Next(first, func(n *secret.Secret) { n.Values["a"] = "1" })
	next.Idempotency = Record(key, "update", next, time.Hour)
	err = b.Update(ctx, next, 1)
	require.True(t, errors.Is(err, backend.ErrIdempotencyKeyUsed), "update with a taken key: %v", err)
	got, err := b.Get(ctx, first.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version, "the refused update changed nothing")
	SameValues(t, map[string]string{"a": "0"}, got.Values)
	requireRecord(t, b, first.Idempotency)
}

func testRecordExpired(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	key := uniqueKey(t, "expired")
	old := New("expiring", "alice", false, nil)
	old.Idempotency = Record(key, "create", old, -time.Second) // already expired
	require.NoError(t, b.Create(ctx, old))
	_, err := b.Idempotency(ctx, key)
	code(t, errcode.NotFound, err, "an expired record")

	fresh := New("after-expiry", "alice", false, nil)
	fresh.Idempotency = Record(key, "create", fresh, time.Hour)
	require.NoError(t, b.Create(ctx, fresh), "an expired record's key is free again")
	requireRecord(t, b, fresh.Idempotency)
}

func testRecordRace(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	key := uniqueKey(t, "race")
	const n = 8
	created := make([]*secret.Secret, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		created[i] = New(fmt.Sprintf("race-%d", i), "alice", false, nil)
		created[i].Idempotency = Record(key, "create", created[i], time.Hour)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Create(ctx, created[i])
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "two creates with one idempotency key both succeeded")
			won = i
			continue
		}
		require.True(t, errors.Is(err, backend.ErrIdempotencyKeyUsed), "losing create: %v", err)
		_, gerr := b.Get(ctx, created[i].ID)
		code(t, errcode.NotFound, gerr, "a losing create stored nothing")
	}
	require.NotEqual(t, -1, won, "one create must win")
	requireRecord(t, b, created[won].Idempotency)
}

// RunModifier checks backend.Modifier, for the backends that implement it:
// concurrent changes of one secret queue, so every one applies.
func RunModifier(t *testing.T, open Opener) {
	t.Run("ConcurrentModifiesAllApply", func(t *testing.T) {
		b := open(t)
		m, ok := b.(backend.Modifier)
		require.True(t, ok, "%T does not implement backend.Modifier", b)
		testModify(t, b, m)
	})
}

func testModify(t *testing.T, b backend.Backend, m backend.Modifier) {
	ctx := context.Background()
	s := New("modified", "alice", false, map[string]string{})
	require.NoError(t, b.Create(ctx, s))
	const n = 32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = m.Modify(ctx, s.ID, func(cur *secret.Secret) (*secret.Secret, error) {
				return Next(cur, func(x *secret.Secret) { x.Values[fmt.Sprintf("k%02d", i)] = "v" }), nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "modify %d", i)
	}
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(n+1), got.Version, "every modify made a version")
	assert.Len(t, got.Keys, n, "every modify's key is there")

	// History through Modify: the replaced version is kept.
	require.NoError(t, m.Modify(ctx, s.ID, func(cur *secret.Secret) (*secret.Secret, error) {
		return WithHistory(cur, keepN(3), secret.OpUpdate, func(x *secret.Secret) { x.Values["last"] = "v" }), nil
	}))
	old, err := b.GetVersion(ctx, s.ID, int64(n+1))
	require.NoError(t, err, "the version Modify replaced is kept")
	assert.Len(t, old.Keys, n)
	vs, err := b.Versions(ctx, s.ID)
	require.NoError(t, err)
	assert.Len(t, vs, 2, "Modify prunes as Update does")

	refused := errors.New("refused by change")
	err = m.Modify(ctx, s.ID, func(*secret.Secret) (*secret.Secret, error) { return nil, refused })
	require.ErrorIs(t, err, refused, "change's error comes back as it is")
	err = m.Modify(ctx, secret.NewID(), func(*secret.Secret) (*secret.Secret, error) { return nil, refused })
	code(t, errcode.NotFound, err, "modify of a missing secret")
}
