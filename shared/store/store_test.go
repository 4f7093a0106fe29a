package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

var (
	alice = identity.Principal{Name: "alice", Role: identity.Member}
	bob   = identity.Principal{Name: "bob", Role: identity.Member}
	root  = identity.Principal{Name: "root", Role: identity.Admin}
	ctx   = context.Background()
)

func ptr[T any](v T) *T { return &v }

func newStore(t *testing.T) *store.Store { return store.New(memstore.New()) }

func mustCreate(t *testing.T, st *store.Store, p identity.Principal, name string, private bool, values map[string]string) string {
	t.Helper()
	s, err := st.Create(ctx, p, store.CreateRequest{Name: name, Private: private, Values: values})
	require.NoError(t, err)
	return s.ID
}

func TestCreateReturnsMetadataWithoutValues(t *testing.T) {
	st := newStore(t)
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"user": "u", "password": "p"}})
	require.NoError(t, err)
	assert.Nil(t, s.Values)
	assert.Equal(t, []string{"password", "user"}, s.Keys)
	assert.Equal(t, int64(1), s.Version)
	assert.Equal(t, "alice", s.Owner)
	assert.Equal(t, s.Created, s.Updated)
}

func TestCreateRejectsBadInputAndStoresNothing(t *testing.T) {
	big := map[string]string{"k": string(bytes.Repeat([]byte("x"), 64*1024))}
	many := map[string]string{}
	for i := range 1001 {
		many[fmt.Sprintf("k%d", i)] = ""
	}
	cases := []struct {
		name string
		req  store.CreateRequest
		code errcode.Code
		msg  string
	}{
		{"empty name", store.CreateRequest{Name: ""}, errcode.InvalidArgument, "must not be empty"},
		{"space in name", store.CreateRequest{Name: "a b"}, errcode.InvalidArgument, "not allowed"},
		{"slash in name", store.CreateRequest{Name: "a/b"}, errcode.InvalidArgument, "not allowed"},
		{"long name", store.CreateRequest{Name: string(bytes.Repeat([]byte("n"), 256))}, errcode.InvalidArgument, "limit is 255"},
		{"key starting with digit", store.CreateRequest{Name: "x", Values: map[string]string{"1abc": "v"}}, errcode.InvalidArgument, "must start with a letter"},
		{"key with space", store.CreateRequest{Name: "x", Values: map[string]string{"a b": "v"}}, errcode.InvalidArgument, "not allowed"},
		{"invalid utf-8 value", store.CreateRequest{Name: "x", Values: map[string]string{"k": "\xff"}}, errcode.InvalidArgument, "UTF-8"},
		{"too large", store.CreateRequest{Name: "x", Values: big}, errcode.TooLarge, "limit is 65536 bytes"},
		{"too many keys", store.CreateRequest{Name: "x", Values: many}, errcode.TooLarge, "limit is 1000 keys"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			_, err := st.Create(ctx, alice, tc.req)
			require.Equal(t, tc.code, errcode.Of(err), "%v", err)
			assert.Contains(t, errcode.Message(err), tc.msg)
			page, err := st.List(ctx, alice, store.ListRequest{})
			require.NoError(t, err)
			assert.Empty(t, page.Items, "nothing is stored")
		})
	}
}

func TestPrivateSecretsExistOnlyForTheirOwner(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "mine", true, map[string]string{"k": "v"})
	for _, p := range []identity.Principal{bob, root} {
		_, err := st.Get(ctx, p, id)
		assert.Equal(t, errcode.NotFound, errcode.Of(err), "%s must not see alice's private secret", p.Name)
		_, err = st.Update(ctx, p, id, store.UpdateRequest{Values: map[string]*string{"k": ptr("x")}})
		assert.Equal(t, errcode.NotFound, errcode.Of(err))
		assert.Equal(t, errcode.NotFound, errcode.Of(deleteErr(st, ctx, p, id, 0)))
		_, err = st.Lookup(ctx, p, "mine")
		assert.Equal(t, errcode.NotFound, errcode.Of(err))
		page, err := st.List(ctx, p, store.ListRequest{})
		require.NoError(t, err)
		assert.Empty(t, page.Items)
	}
	got, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	assert.Equal(t, "v", got.Values["k"])
}

func TestLookupPrefersThePrivateSecret(t *testing.T) {
	st := newStore(t)
	pub := mustCreate(t, st, bob, "db", false, map[string]string{"which": "public"})
	priv := mustCreate(t, st, alice, "db", true, map[string]string{"which": "private"})
	got, err := st.Lookup(ctx, alice, "db")
	require.NoError(t, err)
	assert.Equal(t, priv, got.ID)
	got, err = st.Lookup(ctx, bob, "db")
	require.NoError(t, err)
	assert.Equal(t, pub, got.ID)
	_, err = st.Lookup(ctx, bob, "nope")
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestUpdateMergesValues(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "svc", false, map[string]string{"keep": "1", "change": "2", "drop": "3"})
	meta, err := st.Update(ctx, bob, id, store.UpdateRequest{Values: map[string]*string{"change": ptr("two"), "drop": nil, "add": ptr("4"), "absent": nil}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), meta.Version)
	assert.Nil(t, meta.Values)
	assert.Equal(t, []string{"add", "change", "keep"}, meta.Keys)
	got, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"keep": "1", "change": "two", "add": "4"}, got.Values)
	assert.True(t, got.Updated.After(got.Created))
	assert.Equal(t, "alice", got.Owner, "updates never change the owner")
}

func TestUpdateReplaceValues(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "svc", false, map[string]string{"old": "1"})
	_, err := st.Update(ctx, alice, id, store.UpdateRequest{ReplaceValues: true, Values: map[string]*string{"new": ptr("2")}})
	require.NoError(t, err)
	got, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	backendtest.SameValues(t, map[string]string{"new": "2"}, got.Values)
}

func TestUpdateRules(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "svc", false, map[string]string{"k": "v"})
	mustCreate(t, st, bob, "taken", false, nil)

	_, err := st.Update(ctx, alice, id, store.UpdateRequest{})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "an empty update")
	_, err = st.Update(ctx, alice, id, store.UpdateRequest{Name: ptr("taken")})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
	_, err = st.Update(ctx, bob, id, store.UpdateRequest{Private: ptr(true)})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err), "only the owner may hide a public secret")
	_, err = st.Update(ctx, alice, id, store.UpdateRequest{IfMatch: 5, Name: ptr("x")})
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err))
	_, err = st.Update(ctx, alice, id, store.UpdateRequest{Values: map[string]*string{"k": ptr(string(bytes.Repeat([]byte("x"), 70000)))}})
	assert.Equal(t, errcode.TooLarge, errcode.Of(err))
	_, err = st.Update(ctx, alice, "not-a-uuid", store.UpdateRequest{Name: ptr("x")})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))

	got, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Version, "failed updates change nothing")

	meta, err := st.Update(ctx, alice, id, store.UpdateRequest{IfMatch: 1, Private: ptr(true), Name: ptr("renamed")})
	require.NoError(t, err)
	assert.True(t, meta.Private)
	assert.Equal(t, "renamed", meta.Name)
}

func TestConcurrentUnconditionalUpdatesAllApply(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "counter", false, nil)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Update(ctx, alice, id, store.UpdateRequest{Values: map[string]*string{fmt.Sprintf("k%d", i): ptr("v")}})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	assert.Len(t, got.Values, n, "every merge applied")
	assert.Equal(t, int64(n+1), got.Version)
}

// contendedBackend loses every version race, as a secret that many writers
// change at once does: each Update and Delete finds the version moved on.
type contendedBackend struct{ backend.Backend }

func (contendedBackend) Update(context.Context, *secret.Secret, int64) error {
	return errcode.New(errcode.FailedPrecondition, "version moved on")
}

func (contendedBackend) Delete(context.Context, string, int64) error {
	return errcode.New(errcode.FailedPrecondition, "version moved on")
}

// TestUnconditionalChangesThatKeepLosingAreUnavailable: a caller that sent no
// If-Match must not get failed_precondition (412, "your version is stale"),
// but a retryable unavailable.
func TestUnconditionalChangesThatKeepLosingAreUnavailable(t *testing.T) {
	mem := memstore.New()
	id := mustCreate(t, store.New(mem), alice, "hot", false, nil)
	st := store.New(contendedBackend{mem})
	// The backend never lets a compare-and-set win, so only the deadline
	// ends the re-merging: the outcome is the same however fast the machine.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := st.Update(short, alice, id, store.UpdateRequest{Values: map[string]*string{"k": ptr("v")}})
	assert.Equal(t, errcode.Unavailable, errcode.Of(err), "unconditional update: %v", err)
	assert.Equal(t, errcode.Unavailable, errcode.Of(deleteErr(st, short, alice, id, 0)), "unconditional delete")

	_, err = st.Update(ctx, alice, id, store.UpdateRequest{IfMatch: 1, Values: map[string]*string{"k": ptr("v")}})
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "conditional update")
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(deleteErr(st, ctx, alice, id, 1)), "conditional delete")
}

func TestConditionalUpdatesWithTheSameVersionOneWins(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "cas", false, nil)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.Update(ctx, alice, id, store.UpdateRequest{IfMatch: 1, Values: map[string]*string{"k": ptr(fmt.Sprint(i))}})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err))
		}
	}
	assert.Equal(t, 1, won)
}

func TestIdempotentCreate(t *testing.T) {
	st := newStore(t)
	req := store.CreateRequest{Name: "once", Values: map[string]string{"k": "v"}, IdempotencyKey: "key-1"}
	first, err := st.Create(ctx, alice, req)
	require.NoError(t, err)
	again, err := st.Create(ctx, alice, req)
	require.NoError(t, err, "a retry with the same key and body returns the first result")
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, int64(1), again.Version)

	req.Values = map[string]string{"k": "other"}
	_, err = st.Create(ctx, alice, req)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "same key, other body")

	_, err = st.Create(ctx, bob, store.CreateRequest{Name: "once", Values: map[string]string{"k": "v"}, IdempotencyKey: "key-1"})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "keys are per principal")
	_, err = st.Create(ctx, alice, store.CreateRequest{Name: "once"})
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "without a key a duplicate is a conflict")
}

func TestIdempotentUpdate(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "svc", false, map[string]string{"n": "1"})
	req := store.UpdateRequest{Values: map[string]*string{"n": ptr("2")}, IdempotencyKey: "k", IfMatch: 1}
	first, err := st.Update(ctx, alice, id, req)
	require.NoError(t, err)
	again, err := st.Update(ctx, alice, id, req)
	require.NoError(t, err, "a retry returns the first result instead of 412")
	assert.Equal(t, first.Version, again.Version)
	got, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version, "no second change")

	req.Values = map[string]*string{"n": ptr("3")}
	_, err = st.Update(ctx, alice, id, req)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestDelete(t *testing.T) {
	st := newStore(t)
	id := mustCreate(t, st, alice, "gone", false, nil)
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(deleteErr(st, ctx, bob, id, 3)))
	require.NoError(t, deleteErr(st, ctx, bob, id, 0), "members delete public secrets")
	assert.Equal(t, errcode.NotFound, errcode.Of(deleteErr(st, ctx, bob, id, 0)))
}

func TestListPagesAndTokens(t *testing.T) {
	st := newStore(t)
	for i := range 7 {
		mustCreate(t, st, alice, fmt.Sprintf("s%02d", i), i == 3, nil)
	}
	mustCreate(t, st, bob, "s99", true, nil)
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		page, err := st.List(ctx, alice, store.ListRequest{PageSize: 3, PageToken: token, Sort: "-name"})
		require.NoError(t, err)
		for _, it := range page.Items {
			got = append(got, it.Name)
			assert.Nil(t, it.Values)
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	assert.Equal(t, []string{"s06", "s05", "s04", "s03", "s02", "s01", "s00"}, got)

	page, err := st.List(ctx, alice, store.ListRequest{PageSize: 3})
	require.NoError(t, err)
	_, err = st.List(ctx, alice, store.ListRequest{PageSize: 3, PageToken: page.NextPageToken, NamePrefix: "s0"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "a token only resumes its own query")
	_, err = st.List(ctx, alice, store.ListRequest{PageToken: "garbage!"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	_, err = st.List(ctx, alice, store.ListRequest{PageSize: 1001})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	_, err = st.List(ctx, alice, store.ListRequest{Sort: "owner"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestAuditNeverLogsValues(t *testing.T) {
	var buf bytes.Buffer
	st := store.New(memstore.New(), store.WithAudit(slog.New(slog.NewJSONHandler(&buf, nil))))
	id := mustCreate(t, st, alice, "audited", false, map[string]string{"password": "sup3r-s3cret-value"})
	_, err := st.Get(ctx, alice, id)
	require.NoError(t, err)
	_, err = st.Update(ctx, alice, id, store.UpdateRequest{Values: map[string]*string{"password": ptr("an0ther-s3cret-value")}})
	require.NoError(t, err)
	out := buf.String()
	assert.Contains(t, out, `"op":"update"`)
	assert.Contains(t, out, id)
	assert.False(t, bytes.Contains(buf.Bytes(), []byte("s3cret-value")), "audit log must not contain values")
}

// TestIdempotencyRecordDoesNotHashValuesInTheClear: the record stored next
// to a secret must not let a database reader test guesses of a value
// without knowing the (never stored) Idempotency-Key.
func TestIdempotencyRecordDoesNotHashValuesInTheClear(t *testing.T) {
	b := memstore.New()
	st := store.New(b)
	req := store.CreateRequest{Name: "pin", Values: map[string]string{"pin": "1234"}, IdempotencyKey: "k-3f9a"}
	s, err := st.Create(ctx, alice, req)
	require.NoError(t, err)
	stored, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	body, err := json.Marshal(req)
	require.NoError(t, err)
	plain := sha256.Sum256(body)
	require.NotEmpty(t, stored.ChangeKey)
	assert.NotContains(t, stored.ChangeKey, hex.EncodeToString(plain[:16]), "an unkeyed body hash lets a reader brute-force values")
	assert.NotContains(t, stored.ChangeKey, "k-3f9a", "the raw key is never stored")
}

// deleteErr deletes as the API does without a purge and returns only the
// error.
func deleteErr(st *store.Store, ctx context.Context, p identity.Principal, id string, ifMatch int64) error {
	_, err := st.Delete(ctx, p, id, store.DeleteRequest{IfMatch: ifMatch})
	return err
}

func TestHistoryOptions(t *testing.T) {
	st := store.New(memstore.New(), store.WithKeepVersions(3), store.WithRecoveryWindow(0))
	id := mustCreate(t, st, alice, "opts", false, map[string]string{"n": "0"})
	for i := 1; i <= 5; i++ {
		_, err := st.Update(ctx, alice, id, store.UpdateRequest{Values: map[string]*string{"n": ptr(fmt.Sprint(i))}})
		require.NoError(t, err)
	}
	vs, err := st.Versions(ctx, alice, id)
	require.NoError(t, err)
	assert.Len(t, vs, 3, "WithKeepVersions(3)")
	gone, err := st.Delete(ctx, alice, id, store.DeleteRequest{})
	require.NoError(t, err)
	assert.Nil(t, gone, "without a recovery window a delete destroys")
	_, err = st.Restore(ctx, alice, id, store.RestoreRequest{})
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestPurgeExpired(t *testing.T) {
	mem := memstore.New()
	st := store.New(mem, store.WithRecoveryWindow(time.Microsecond), store.WithPurgeOnWrite())
	id := mustCreate(t, st, alice, "expiring", true, nil)
	keepID := mustCreate(t, st, bob, "kept", false, nil)
	deleted, err := st.Delete(ctx, alice, id, store.DeleteRequest{})
	require.NoError(t, err)
	// Wait on the clock, not for a time: the window ends a microsecond on.
	require.Eventually(t, func() bool { return secret.Now().After(deleted.PurgeAfter) }, time.Minute, time.Millisecond)
	// The store may have purged it in the background already; either way
	// an explicit purge leaves it destroyed.
	_, err = store.New(mem).PurgeExpired(ctx)
	require.NoError(t, err)
	_, err = mem.Get(ctx, id)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "the expired secret is destroyed")
	_, err = st.Get(ctx, bob, keepID)
	require.NoError(t, err, "live secrets are untouched")
}
