package dynamostore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/kms"
	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/dynamostore"
	"github.com/lockwell/lockwell/shared/envelope"
	_ "github.com/lockwell/lockwell/shared/envelope/awskms"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/store/storetest"
)

// stack is dynalite behind a counting, fault-injecting proxy, and the local
// KMS, shared by the package's tests. The SDK reaches both through the
// standard environment variables only.
var stack struct {
	once  sync.Once
	err   error
	dyn   *dynalite.Process
	proxy *dynalite.Proxy
	kms   *kms.Server
	dir   string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stack.proxy != nil {
		_ = stack.proxy.Close()
	}
	if stack.dyn != nil {
		_ = stack.dyn.Stop()
	}
	if stack.kms != nil {
		_ = stack.kms.Close()
	}
	if stack.dir != "" {
		_ = os.RemoveAll(stack.dir)
	}
	os.Exit(code)
}

// externalEnv names another DynamoDB endpoint to run the tests against
// instead of dynalite, for example DynamoDB Local (the AWS implementation,
// stricter than dynalite): LOCKWELL_TEST_DYNAMODB_URL=http://127.0.0.1:8000.
const externalEnv = "LOCKWELL_TEST_DYNAMODB_URL"

func setup(t *testing.T) {
	t.Helper()
	stack.once.Do(func() {
		endpoint := os.Getenv(externalEnv)
		if endpoint == "" {
			if stack.dyn, stack.err = dynalite.Start(context.Background(), dynalite.Options{}); stack.err != nil {
				return
			}
			endpoint = stack.dyn.Endpoint()
		}
		if stack.proxy, stack.err = dynalite.NewProxy(endpoint); stack.err != nil {
			return
		}
		if stack.kms, stack.err = kms.Start(); stack.err != nil {
			return
		}
		if _, stack.err = stack.kms.CreateKey("lockwell test", "alias/lockwell"); stack.err != nil {
			return
		}
		if stack.dir, stack.err = os.MkdirTemp("", "dynamostore-test"); stack.err != nil {
			return
		}
		empty := filepath.Join(stack.dir, "empty")
		if stack.err = os.WriteFile(empty, nil, 0o600); stack.err != nil {
			return
		}
		for k, v := range map[string]string{
			"AWS_ENDPOINT_URL_DYNAMODB":   stack.proxy.URL(),
			"AWS_ENDPOINT_URL_KMS":        stack.kms.URL(),
			"AWS_ACCESS_KEY_ID":           "AKIDLOCAL",
			"AWS_SECRET_ACCESS_KEY":       "local-only",
			"AWS_REGION":                  "us-east-1",
			"AWS_CONFIG_FILE":             empty,
			"AWS_SHARED_CREDENTIALS_FILE": empty,
			"AWS_EC2_METADATA_DISABLED":   "true",
		} {
			os.Setenv(k, v)
		}
	})
	if errors.Is(stack.err, dynalite.ErrNotInstalled) {
		testenv.Missing(t, "%v", stack.err)
	}
	require.NoError(t, stack.err, "local DynamoDB and KMS")
}

func newTable() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "lockwell-test-" + hex.EncodeToString(b)
}

// open opens the backend by URL on a table, with a fresh key wrapper (and so
// a cold data-key cache).
func open(t *testing.T, table string) *dynamostore.Backend {
	t.Helper()
	ctx := context.Background()
	w, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell")
	require.NoError(t, err)
	b, err := backend.Open(ctx, "dynamodb://"+table+"?create_table=true", backend.Options{Sealer: envelope.NewSealer(w)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b.(*dynamostore.Backend)
}

func rawClient(t *testing.T) *dynamodb.Client {
	cfg, err := config.LoadDefaultConfig(context.Background())
	require.NoError(t, err)
	return dynamodb.NewFromConfig(cfg)
}

func TestConformance(t *testing.T) {
	setup(t)
	opener := func(t *testing.T) backend.Backend { return open(t, newTable()) }
	t.Run("dynalite", func(t *testing.T) {
		backendtest.Run(t, opener)
		backendtest.RunIndex(t, opener)
		storetest.Run(t, opener)
	})
	// DynamoDB returns the item with a failed condition when asked
	// (ReturnValuesOnConditionCheckFailure); dynalite does not, so the proxy
	// adds it, and the backend's other path runs the suite too.
	t.Run("old items on condition failures, as DynamoDB", func(t *testing.T) {
		stack.proxy.ReturnOldItemOnConditionFailure(true)
		defer stack.proxy.ReturnOldItemOnConditionFailure(false)
		backendtest.Run(t, opener)
		backendtest.RunIndex(t, opener)
		storetest.Run(t, opener)
	})
}

// calls returns the DynamoDB calls since the last reset and resets.
func calls() map[string]int {
	c := stack.proxy.Calls()
	stack.proxy.Reset()
	return c
}

func TestCallsPerOperation(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	kmsCalls := func(op string) int { return stack.kms.Calls(op) }

	stack.proxy.Reset()
	gen0 := kmsCalls("GenerateDataKey")
	s := backendtest.New("counted", "alice", false, map[string]string{"k": "v"})
	require.NoError(t, b.Create(ctx, s))
	assert.Equal(t, map[string]int{"PutItem": 2}, calls(), "create: the claim, then the secret")
	assert.Equal(t, 1, kmsCalls("GenerateDataKey")-gen0, "create: one GenerateDataKey")

	dec0 := kmsCalls("Decrypt")
	_, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"GetItem": 1}, calls(), "get: one read")
	assert.Equal(t, 0, kmsCalls("Decrypt")-dec0, "get right after create on the same instance: warm, no Decrypt")

	cold := open(t, table) // another function instance: a cold cache
	_, err = cold.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, kmsCalls("Decrypt")-dec0, "cold get: one Decrypt")
	_, err = cold.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, kmsCalls("Decrypt")-dec0, "warm get: no Decrypt")
	calls()

	// The store keeps history on every update (20 versions by default);
	// here 2, so that the third version prunes the first.
	keep := &secret.Retention{Versions: 2}
	next := backendtest.WithHistory(s, keep, secret.OpUpdate, func(n *secret.Secret) { n.Values = map[string]string{"k": "w"} })
	require.NoError(t, b.Update(ctx, next, 1))
	assert.Equal(t, map[string]int{"GetItem": 1, "UpdateItem": 2}, calls(),
		"update: read, keep the replaced version, one conditional write")

	renamed := backendtest.WithHistory(next, keep, secret.OpUpdate, func(n *secret.Secret) { n.Name = "counted-renamed" })
	require.NoError(t, b.Update(ctx, renamed, 2))
	assert.Equal(t, map[string]int{"GetItem": 1, "PutItem": 1, "UpdateItem": 4, "DeleteItem": 1}, calls(),
		"rename: read, keep version 2, new claim, write, old claim released, version 1 pruned (tombstone, forgotten)")

	vs, err := b.Versions(ctx, s.ID)
	require.NoError(t, err)
	assert.Len(t, vs, 2)
	assert.Equal(t, map[string]int{"GetItem": 1, "BatchGetItem": 1}, calls(), "versions: the secret, then its past versions in one batch")
	_, err = b.GetVersion(ctx, s.ID, 2)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"GetItem": 2}, calls(), "a past version: the secret, then the version")

	stack.proxy.ReturnOldItemOnConditionFailure(true)
	err = b.Create(ctx, backendtest.New("counted-renamed", "bob", false, nil))
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err))
	assert.Equal(t, map[string]int{"PutItem": 1}, calls(),
		"a clash with a recently claimed name: the refused claim, nothing more")
	stack.proxy.ReturnOldItemOnConditionFailure(false)

	require.NoError(t, b.Create(ctx, backendtest.New("mine", "alice", true, nil)))
	calls()
	page, err := b.List(ctx, backend.Query{Viewer: "alice", Limit: 10})
	require.NoError(t, err)
	assert.Len(t, page, 2)
	assert.Equal(t, map[string]int{"Query": 2}, calls(), "list: public and own private partitions")
	no := false
	_, err = b.List(ctx, backend.Query{Viewer: "alice", Private: &no, Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"Query": 1}, calls(), "list of public secrets only: one query")

	require.NoError(t, b.Delete(ctx, s.ID, 3))
	assert.Equal(t, map[string]int{"UpdateItem": 3, "DeleteItem": 2}, calls(),
		"purge: mark the secret, release its claim, tombstone versions 3 and 2, delete the secret")
}

func TestThrottlingIsRetriedWithinTheDeadline(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	s := backendtest.New("throttled", "alice", false, map[string]string{"k": "v"})

	stack.proxy.Reset()
	stack.proxy.Inject("PutItem", dynalite.Throttled, 2)
	stack.proxy.Inject("PutItem", dynalite.Fault{Status: http.StatusBadRequest, Type: "ThrottlingException"}, 1)
	require.NoError(t, b.Create(ctx, s), "three throttles are absorbed")
	assert.Equal(t, 5, calls()["PutItem"], "3 throttled + claim + secret")

	stack.proxy.Inject("GetItem", dynalite.Fault{Status: http.StatusInternalServerError, Type: "InternalServerError"}, 1)
	_, err := b.Get(ctx, s.ID)
	require.NoError(t, err, "a 5xx is retried")

	// A backend that would retry long enough to get past 100 throttles
	// (their backoffs alone add up to about 1s, and never to 300ms) gets
	// past them only if it ignores the caller's 300ms deadline. No
	// assertion reads the clock, so a slow machine cannot fail it.
	patient := openWith(t, table, dynamostore.Config{Retry: retry.Policy{Attempts: 200, Base: 20 * time.Millisecond, Max: 20 * time.Millisecond}})
	stack.proxy.Reset()
	stack.proxy.Inject("GetItem", dynalite.Throttled, 100)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = patient.Get(short, s.ID)
	require.Error(t, err, "gave up within the deadline, before the throttling ended")
	assert.Equal(t, errcode.Unavailable, errcode.Of(err), "lasting throttling is unavailable: %v", err)
	assert.Less(t, calls()["GetItem"], 100, "gave up within the deadline")
}

func TestAmbiguousWritesThatLandedAreAcknowledged(t *testing.T) {
	setup(t)
	ctx := context.Background()
	b := open(t, newTable())
	lost := dynalite.Fault{Status: http.StatusInternalServerError, Type: "InternalServerError", Applied: true}

	s := backendtest.New("ambiguous", "alice", false, map[string]string{"k": "v"})
	stack.proxy.Reset()
	stack.proxy.Inject("PutItem", lost, 1) // the claim lands, its answer is lost
	stack.proxy.Inject("PutItem", dynalite.Pass, 1)
	stack.proxy.Inject("PutItem", lost, 1) // the secret lands, its answer is lost
	require.NoError(t, b.Create(ctx, s), "a create whose writes landed is acknowledged, not already_exists")
	assert.Equal(t, 4, stack.proxy.Calls()["PutItem"], "each lost answer cost one retry")

	next := backendtest.Next(s, func(n *secret.Secret) { n.Values = map[string]string{"k": "w"} })
	stack.proxy.Inject("UpdateItem", lost, 1)
	require.NoError(t, b.Update(ctx, next, 1), "an update whose write landed is acknowledged")
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Version)

	stack.proxy.Inject("DeleteItem", lost, 1)
	require.NoError(t, b.Delete(ctx, s.ID, 2), "a delete whose write landed is acknowledged")
	_, err = b.Get(ctx, s.ID)
	assert.Equal(t, errcode.NotFound, errcode.Of(err))
	stack.proxy.Reset()
}

func TestValuesNeverStoredInPlaintext(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	marker := "plaintext-marker-7f3a9c"
	s := backendtest.New("sealed", "alice", false, map[string]string{"password": marker, "other": marker + "-2"})
	require.NoError(t, b.Create(ctx, s))
	require.NoError(t, b.Update(ctx, backendtest.Next(s, func(n *secret.Secret) { n.Values["third"] = marker }), 1))

	out, err := rawClient(t).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	require.NotEmpty(t, out.Items)
	sealedSeen := false
	for _, item := range out.Items {
		for name, v := range item {
			assert.False(t, containsBytes(v, []byte(marker)), "attribute %s holds a value in plaintext", name)
		}
		if _, ok := item["sealed"].(*types.AttributeValueMemberB); ok {
			sealedSeen = true
		}
	}
	assert.True(t, sealedSeen, "values are stored sealed")
}

func containsBytes(v types.AttributeValue, needle []byte) bool {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return bytes.Contains([]byte(v.Value), needle)
	case *types.AttributeValueMemberB:
		return bytes.Contains(v.Value, needle)
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			if containsBytes(e, needle) {
				return true
			}
		}
	case *types.AttributeValueMemberM:
		for _, e := range v.Value {
			if containsBytes(e, needle) {
				return true
			}
		}
	}
	return false
}

// putClaim writes a name reservation the way a writer that crashed would
// have left it.
func putClaim(t *testing.T, table, pk, id string, at time.Time) {
	t.Helper()
	_, err := rawClient(t).PutItem(context.Background(), &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"id": &types.AttributeValueMemberS{Value: id},
			"at": &types.AttributeValueMemberS{Value: at.UTC().Format("2006-01-02T15:04:05.000000000Z")},
		},
	})
	require.NoError(t, err)
}

func TestCrashLeftoversAreInvisibleAndRepaired(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	long := time.Now().Add(-time.Hour)

	// A create that crashed after its claim: invisible, and its name is
	// taken only until the claim is older than the grace period.
	ghost := secret.NewID()
	putClaim(t, table, "n#pub#half-done", ghost, time.Now())
	_, err := b.Get(ctx, ghost)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a half-done create is invisible to get")
	items, err := b.List(ctx, backend.Query{Viewer: "alice", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, items, "and to list")
	err = b.Create(ctx, backendtest.New("half-done", "alice", false, nil))
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "a young claim may be a write in flight")
	putClaim(t, table, "n#pub#half-done", ghost, long)
	require.NoError(t, b.Create(ctx, backendtest.New("half-done", "alice", false, nil)), "an old orphan is repaired")

	// A rename or delete that crashed before releasing the old claim.
	s := backendtest.New("moved", "bob", true, nil)
	require.NoError(t, b.Create(ctx, s))
	putClaim(t, table, "n#prv#bob#old-name", s.ID, long) // s does not hold it
	require.NoError(t, b.Create(ctx, backendtest.New("old-name", "bob", true, nil)), "a claim its secret no longer holds is repaired")

	// A live claim is never taken over, however old.
	putClaim(t, table, "n#prv#bob#moved", s.ID, long)
	err = b.Create(ctx, backendtest.New("moved", "bob", true, nil))
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(err), "a live claim stays")
}

func TestTokens(t *testing.T) {
	setup(t)
	ctx := context.Background()
	b := open(t, newTable())
	var ts identity.TokenStore = b
	_, hash, err := identity.NewToken()
	require.NoError(t, err)
	require.NoError(t, ts.SaveToken(ctx, hash, identity.Principal{Name: "alice", Role: identity.Admin}))
	p, err := ts.TokenPrincipal(ctx, hash)
	require.NoError(t, err)
	assert.Equal(t, identity.Principal{Name: "alice", Role: identity.Admin}, p)
	_, other, err := identity.NewToken()
	require.NoError(t, err)
	_, err = ts.TokenPrincipal(ctx, other)
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(ts.SaveToken(ctx, hash, identity.Principal{Name: "bad name", Role: identity.Member})))

	items, err := b.List(ctx, backend.Query{Viewer: "alice", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, items, "tokens are not secrets")
}

func TestOpenURLRules(t *testing.T) {
	setup(t)
	ctx := context.Background()
	w, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell")
	require.NoError(t, err)
	sealer := envelope.NewSealer(w)
	cases := []struct {
		url    string
		sealer *envelope.Sealer
	}{
		{"dynamodb://lockwell-x?colour=red", sealer},
		{"dynamodb://lockwell-x?create_table=maybe", sealer},
		{"dynamodb://x", sealer},
		{"dynamodb://lockwell-x/path", sealer},
		{"dynamodb://lockwell-x", nil},
	}
	for _, tc := range cases {
		_, err := backend.Open(ctx, tc.url, backend.Options{Sealer: tc.sealer})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), fmt.Sprint(tc.url, " ", err))
	}
	_, err = backend.Open(ctx, "dynamodb://lockwell-missing-table?region=us-east-1", backend.Options{Sealer: sealer})
	require.NoError(t, err, "opening does not touch the table")
}

// openWith opens the backend on a table with explicit timings.
func openWith(t *testing.T, table string, cfg dynamostore.Config) *dynamostore.Backend {
	t.Helper()
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
	w, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell")
	require.NoError(t, err)
	cfg.Table, cfg.Sealer, cfg.CreateTable = table, envelope.NewSealer(w), true
	b, err := dynamostore.New(ctx, client, cfg)
	require.NoError(t, err)
	return b
}

// fakeClock is the wall clock of claims and idempotency records for a test:
// it moves only when the test says, so OrphanGrace passes when the test
// decides, not when the machine gets round to it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(bs ...*dynamostore.Backend) *fakeClock {
	c := &fakeClock{now: time.Now()}
	for _, b := range bs {
		dynamostore.SetClock(b, c.Now)
	}
	return c
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestWritersGiveUpAfterClaimHold(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	// The writer holds its claim 50ms and would retry long enough to get
	// past the throttling below (500 backoffs of about 1ms each): only the
	// hold stops it. Others write with a hold no machine exceeds.
	b := openWith(t, table, dynamostore.Config{ClaimHold: 50 * time.Millisecond, OrphanGrace: time.Minute,
		Retry: retry.Policy{Attempts: 1000, Base: time.Millisecond, Max: 2 * time.Millisecond}})
	others := openWith(t, table, dynamostore.Config{ClaimHold: 30 * time.Second, OrphanGrace: time.Minute})
	clock := newClock(b, others)
	stack.proxy.Reset()
	defer stack.proxy.Reset()

	// The secret write is throttled past the hold: the writer gives up and
	// its claim, which nobody may take before the grace period, blocks the
	// name until then.
	stack.proxy.Inject("PutItem", dynalite.Pass, 1)
	stack.proxy.Inject("PutItem", dynalite.Throttled, 500)
	s := backendtest.New("held", "alice", false, nil)
	started := time.Now()
	err := b.Create(ctx, s)
	assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
	stack.proxy.Reset()
	_, err = others.Get(ctx, s.ID)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "nothing visible")
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(others.Create(ctx, backendtest.New("held", "bob", false, nil))))
	clock.advance(time.Minute - time.Second)
	assert.Equal(t, errcode.AlreadyExists, errcode.Of(others.Create(ctx, backendtest.New("held", "bob", false, nil))), "still held just before the grace period ends")
	// The claim was written some real time after started, as long as a
	// loaded machine takes: move past the grace period by that much more.
	clock.advance(time.Second + time.Since(started))
	require.NoError(t, others.Create(ctx, backendtest.New("held", "bob", false, nil)), "free after the grace period")
}

func TestRefusedWritesReleaseTheirClaim(t *testing.T) {
	setup(t)
	ctx := context.Background()
	b := open(t, newTable())
	stack.proxy.Reset()
	defer stack.proxy.Reset()
	stack.proxy.Inject("PutItem", dynalite.Pass, 1)
	stack.proxy.Inject("PutItem", dynalite.Fault{Status: http.StatusBadRequest, Type: "AccessDeniedException"}, 1)
	err := b.Create(ctx, backendtest.New("refused", "alice", false, nil))
	assert.Equal(t, errcode.Internal, errcode.Of(err), "%v", err)
	require.NoError(t, b.Create(ctx, backendtest.New("refused", "alice", false, nil)), "the claim was released at once")

	s := backendtest.New("rename-me", "alice", false, nil)
	require.NoError(t, b.Create(ctx, s))
	stack.proxy.Inject("UpdateItem", dynalite.Fault{Status: http.StatusBadRequest, Type: "AccessDeniedException"}, 1)
	err = b.Update(ctx, backendtest.Next(s, func(n *secret.Secret) { n.Name = "target" }), 1)
	assert.Equal(t, errcode.Internal, errcode.Of(err), "%v", err)
	require.NoError(t, b.Create(ctx, backendtest.New("target", "alice", false, nil)), "the rename's claim was released")
}

// TestWorstCaseEncodingFits stores the secret whose sealed form is largest:
// 64 KiB of control characters, each six bytes in the JSON that is sealed.
// It must still fit DynamoDB's 400 KB item.
func TestWorstCaseEncodingFits(t *testing.T) {
	setup(t)
	ctx := context.Background()
	b := open(t, newTable())
	values := map[string]string{"k": strings.Repeat("\x01", secret.MaxTotalSize-1)}
	require.NoError(t, secret.ValidateValues(values))
	s := backendtest.New("worst-case", "alice", false, values)
	require.NoError(t, b.Create(ctx, s))
	got, err := b.Get(ctx, s.ID)
	require.NoError(t, err)
	backendtest.SameValues(t, values, got.Values)

	// With the default retention the list of past versions on the secret
	// item still fits next to the largest values, deleted or not.
	keep := &secret.Retention{Versions: store.DefaultKeepVersions}
	cur := s
	for i := 2; i <= store.DefaultKeepVersions+2; i++ {
		next := backendtest.WithHistory(cur, keep, secret.OpUpdate, func(n *secret.Secret) {
			n.Values = map[string]string{"k": strings.Repeat("\x01", secret.MaxTotalSize-2) + string(rune('a'+i%26))}
		})
		if i == store.DefaultKeepVersions+2 {
			next.Deleted, next.PurgeAfter = next.Updated, next.Updated.Add(time.Hour)
		}
		require.NoError(t, b.Update(ctx, next, cur.Version), "version %d", i)
		cur = next
	}
	vs, err := b.Versions(ctx, s.ID)
	require.NoError(t, err)
	assert.Len(t, vs, store.DefaultKeepVersions)
}

// TestInterruptedKeyedWritesAreResolved covers a writer that dies between
// its secret write and finishing its idempotency record (the record stays
// pending): a retry is told to wait while the write may be in flight, then
// gets the first result if the write landed, even after later changes, and
// runs again if it did not.
func TestInterruptedKeyedWritesAreResolved(t *testing.T) {
	setup(t)
	ctx := context.Background()
	// A hold no machine exceeds, and a grace period that passes when the
	// test moves the clock.
	b := openWith(t, newTable(), dynamostore.Config{ClaimHold: 30 * time.Second, OrphanGrace: time.Minute})
	clock := newClock(b)
	stack.proxy.Reset()
	defer stack.proxy.Reset()
	denied := dynalite.Fault{Status: http.StatusBadRequest, Type: "AccessDeniedException"}

	t.Run("landed, then updated by others", func(t *testing.T) {
		s := backendtest.New("interrupted", "alice", false, map[string]string{"k": "v"})
		s.Idempotency = backendtest.Record("interrupted-"+s.ID, "create", s, time.Hour)
		// Record, claim and secret land; finishing the record and clearing
		// the item's pending key fail: the writer "died" after its write.
		stack.proxy.Inject("UpdateItem", denied, 2)
		require.NoError(t, b.Create(ctx, s))
		stack.proxy.Reset()
		_, err := b.Idempotency(ctx, s.Idempotency.Key)
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "within the grace period the write may be in flight: %v", err)

		next := backendtest.Next(s, func(n *secret.Secret) { n.Values = map[string]string{"k": "w"} })
		next.Idempotency = nil
		require.NoError(t, b.Update(ctx, next, 1), "an unkeyed update by someone else")

		clock.advance(time.Minute)
		r, err := b.Idempotency(ctx, s.Idempotency.Key)
		require.NoError(t, err, "the landed write's record is finished")
		assert.Equal(t, s.ID, r.Result.ID)
		assert.Equal(t, int64(1), r.Result.Version, "the first result")
	})

	t.Run("landed, then deleted", func(t *testing.T) {
		s := backendtest.New("interrupted-deleted", "alice", false, nil)
		s.Idempotency = backendtest.Record("deleted-"+s.ID, "create", s, time.Hour)
		stack.proxy.Inject("UpdateItem", denied, 2)
		require.NoError(t, b.Create(ctx, s))
		stack.proxy.Reset()
		require.NoError(t, b.Delete(ctx, s.ID, 0))
		r, err := b.Idempotency(ctx, s.Idempotency.Key)
		require.NoError(t, err, "deleting the item finished its pending record first")
		assert.Equal(t, s.ID, r.Result.ID)
	})

	t.Run("never landed", func(t *testing.T) {
		s := backendtest.New("interrupted-lost", "alice", false, nil)
		s.Idempotency = backendtest.Record("lost-"+s.ID, "create", s, time.Hour)
		// The record and the claim land; every try of the secret write fails
		// without landing until the writer gives up.
		stack.proxy.Inject("PutItem", dynalite.Pass, 2)
		stack.proxy.Inject("PutItem", dynalite.Fault{Status: http.StatusInternalServerError, Type: "InternalServerError"}, 1000)
		err := b.Create(ctx, s)
		stack.proxy.Reset()
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
		_, err = b.Idempotency(ctx, s.Idempotency.Key)
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "within the grace period the write may be in flight: %v", err)
		clock.advance(time.Minute)
		_, err = b.Idempotency(ctx, s.Idempotency.Key)
		assert.Equal(t, errcode.NotFound, errcode.Of(err), "a write that never landed leaves no record: the retry runs anew: %v", err)
		require.NoError(t, b.Create(ctx, s), "the retry runs and records itself")
		r, err := b.Idempotency(ctx, s.Idempotency.Key)
		require.NoError(t, err)
		assert.Equal(t, s.ID, r.Result.ID)
	})
}
