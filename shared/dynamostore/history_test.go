package dynamostore_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/dynamostore"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// rawItem reads an item as stored, nil when missing.
func rawItem(t *testing.T, table, pk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := rawClient(t).GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
	})
	require.NoError(t, err)
	if len(out.Item) == 0 {
		return nil
	}
	return out.Item
}

func versionKey(id string, v int64) string { return fmt.Sprintf("v#%s#%020d", id, v) }

// sealedOf is the sealed values of an item, nil when it holds none (a
// tombstone, or missing).
func sealedOf(item map[string]types.AttributeValue) []byte {
	if b, ok := item["sealed"].(*types.AttributeValueMemberB); ok {
		return b.Value
	}
	return nil
}

// holdsValues reports whether an item holds sealed values (so failure
// messages print a yes or no, not ciphertext).
func holdsValues(item map[string]types.AttributeValue) bool { return sealedOf(item) != nil }

// requireHistory asserts what Versions and GetVersion answer: the versions, newest
// first, and the value of key "v" in each.
func requireHistory(t *testing.T, b backend.Backend, id string, want ...string) {
	t.Helper()
	ctx := context.Background()
	vs, err := b.Versions(ctx, id)
	require.NoError(t, err)
	var got []string
	for _, v := range vs {
		full, err := b.GetVersion(ctx, id, v.Version)
		require.NoError(t, err, "version %d", v.Version)
		got = append(got, fmt.Sprintf("%d=%s", v.Version, full.Values["v"]))
	}
	assert.Equal(t, want, got, "versions and their values, newest first")
}

func update(t *testing.T, b backend.Backend, cur *secret.Secret, keep int, value string) (*secret.Secret, error) {
	t.Helper()
	next := backendtest.WithHistory(cur, &secret.Retention{Versions: keep}, secret.OpUpdate, func(n *secret.Secret) { n.Values["v"] = value })
	return next, b.Update(context.Background(), next, cur.Version)
}

// TestHistorySurvivesCrashes interrupts an update at each step that has a
// write after it (the version's copy, the conditional write, the pruning)
// and checks that no version is lost, none is answered that should not be,
// and the next write repairs what was left.
func TestHistorySurvivesCrashes(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	stack.proxy.Reset()
	defer stack.proxy.Reset()
	denied := dynalite.Fault{Status: http.StatusBadRequest, Type: "AccessDeniedException"}

	s := backendtest.New("crashy", "alice", false, map[string]string{"v": "1"})
	require.NoError(t, b.Create(ctx, s))
	v2, err := update(t, b, s, 5, "2")
	require.NoError(t, err)

	// The writer "dies" after copying version 2 and before its conditional
	// write (here: the write is refused, so it never lands).
	stack.proxy.Inject("UpdateItem", dynalite.Pass, 1) // the copy
	stack.proxy.Inject("UpdateItem", denied, 1)
	_, err = update(t, b, v2, 5, "3-never-written")
	require.Error(t, err)
	stack.proxy.Reset()
	requireHistory(t, b, s.ID, "2=2", "1=1")
	copied := rawItem(t, table, versionKey(s.ID, 2))
	require.NotNil(t, copied, "the copy of version 2 was written")
	assert.True(t, bytes.Equal(sealedOf(rawItem(t, table, "s#"+s.ID)), sealedOf(copied)),
		"the copy of the current version holds its values as sealed: harmless")

	// Another writer goes on from version 2: it copies version 2 again
	// (the same item) and commits.
	v3, err := update(t, b, v2, 5, "3")
	require.NoError(t, err)
	requireHistory(t, b, s.ID, "3=3", "2=2", "1=1")

	// The writer of version 4 (keeping 2 versions) dies after its write,
	// before it pruned versions 2 and 1: they are no longer answered, and
	// their items are still listed for pruning.
	stack.proxy.Inject("UpdateItem", dynalite.Pass, 2) // the copy, the write
	stack.proxy.Inject("UpdateItem", denied, 1)
	v4, err := update(t, b, v3, 2, "4")
	require.NoError(t, err, "the write landed; only the pruning after it failed")
	stack.proxy.Reset()
	requireHistory(t, b, s.ID, "4=4", "3=3")
	for _, v := range []int64{1, 2} {
		_, err := b.GetVersion(ctx, s.ID, v)
		assert.Equal(t, errcode.NotFound, errcode.Of(err), "version %d is pruned for readers", v)
	}
	assert.True(t, holdsValues(rawItem(t, table, versionKey(s.ID, 1))), "version 1's item is left over")
	assert.Contains(t, rawItem(t, table, "s#"+s.ID), "prune", "and listed for pruning")

	// The next write prunes the leftovers with its own.
	_, err = update(t, b, v4, 2, "5")
	require.NoError(t, err)
	requireHistory(t, b, s.ID, "5=5", "4=4")
	for _, v := range []int64{1, 2, 3} {
		assert.False(t, holdsValues(rawItem(t, table, versionKey(s.ID, v))), "version %d's values are gone", v)
	}
	assert.NotContains(t, rawItem(t, table, "s#"+s.ID), "prune", "nothing left to prune")

	// A purge interrupted after its mark: gone for readers, found by
	// Expired, finished by the purge of expired secrets.
	stack.proxy.Inject("UpdateItem", dynalite.Pass, 1) // the mark
	stack.proxy.Inject("UpdateItem", denied, 1)
	require.Error(t, b.Delete(ctx, s.ID, 5))
	stack.proxy.Reset()
	_, err = b.Get(ctx, s.ID)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a purge that started is gone for readers")
	require.NoError(t, b.Create(ctx, backendtest.New("crashy", "bob", false, nil)), "and its name is free")
	expired, err := b.Expired(ctx, secret.Now(), 10)
	require.NoError(t, err)
	require.Len(t, expired, 1, "Expired finds the interrupted purge")
	assert.Equal(t, s.ID, expired[0].ID)
	require.NoError(t, b.Delete(ctx, s.ID, expired[0].Version), "and the purge finishes it")
	assert.Nil(t, rawItem(t, table, "s#"+s.ID))
	out, err := rawClient(t).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	require.NoError(t, err)
	for _, item := range out.Items {
		if pk := item["pk"].(*types.AttributeValueMemberS).Value; strings.Contains(pk, s.ID) {
			assert.False(t, holdsValues(item), "%s still holds values after the purge", pk)
		}
	}
}

// gatedAPI holds the write of a past version item (an UpdateItem of a v#
// key) at a gate: a writer that read a version and is slow to copy it.
type gatedAPI struct {
	dynamostore.API
	once             sync.Once
	reached, release chan struct{}
}

func (g *gatedAPI) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if pk, ok := in.Key["pk"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "v#") {
		g.once.Do(func() { // only the first copy waits
			close(g.reached)
			<-g.release
		})
	}
	return g.API.UpdateItem(ctx, in, opts...)
}

// TestSlowWriterCannotBringBackAPrunedVersion: a writer reads version 1 and
// is slow to copy it; meanwhile another writer commits version 2 keeping no
// history, which prunes version 1. The slow copy must not land (it would
// hold version 1's values, answered by nothing and never pruned), and the
// slow writer's update fails.
func TestSlowWriterCannotBringBackAPrunedVersion(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	fast := open(t, table)
	awsCfg, err := config.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	gate := &gatedAPI{
		API:     dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} }),
		reached: make(chan struct{}), release: make(chan struct{}),
	}
	w, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell")
	require.NoError(t, err)
	slow, err := dynamostore.New(ctx, gate, dynamostore.Config{Table: table, Sealer: envelope.NewSealer(w)})
	require.NoError(t, err)

	s := backendtest.New("raced", "alice", false, map[string]string{"v": "1"})
	require.NoError(t, fast.Create(ctx, s))
	slowErr := make(chan error, 1)
	go func() {
		_, err := update(t, slow, s.Clone(), 5, "slow")
		slowErr <- err
	}()
	<-gate.reached // the slow writer read version 1 and is about to copy it
	_, err = update(t, fast, s.Clone(), 1, "fast")
	require.NoError(t, err, "the fast writer commits version 2 and prunes version 1")
	close(gate.release)
	err = <-slowErr
	assert.Equal(t, errcode.FailedPrecondition, errcode.Of(err), "the slow writer lost: %v", err)
	assert.False(t, holdsValues(rawItem(t, table, versionKey(s.ID, 1))), "version 1's values did not come back")
	requireHistory(t, fast, s.ID, "2=fast")
}
