package dynamostore_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// TestAuditKeyStorage runs the key-storage suite on two backends of one
// table, the chain key wrapped by the local KMS (each opener with its own
// KMS client and a cold cache, as two Lambda cold starts).
func TestAuditKeyStorage(t *testing.T) {
	setup(t)
	kmsWrapper := func(t *testing.T) envelope.KeyWrapper {
		w, err := envelope.OpenWrapper(context.Background(), "awskms://alias/lockwell?cache_size=0")
		require.NoError(t, err)
		return w
	}
	h := audittest.KeyHarness{
		Open: func(t *testing.T) (audittest.KeyedStorage, audittest.KeyedStorage) {
			table := newTable()
			return open(t, table), open(t, table)
		},
		Wrapper: kmsWrapper,
	}
	t.Run("dynalite", func(t *testing.T) { audittest.RunKeyStorage(t, h) })
	t.Run("old items on condition failures, as DynamoDB", func(t *testing.T) {
		stack.proxy.ReturnOldItemOnConditionFailure(true)
		defer stack.proxy.ReturnOldItemOnConditionFailure(false)
		audittest.RunKeyStorage(t, h)
	})
}

// TestAuditKeyItemStaysOutOfSecrets checks that the key item is invisible
// to the store: not listed, not a secret, not purged, not a change event
// (the stream filter takes "s#" keys only).
func TestAuditKeyItemStaysOutOfSecrets(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	w, err := envelope.OpenWrapper(ctx, "awskms://alias/lockwell")
	require.NoError(t, err)
	_, created, err := audit.LoadKey(ctx, b, w)
	require.NoError(t, err)
	require.True(t, created)

	out, err := rawClient(t).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a#key"}},
	})
	require.NoError(t, err)
	require.NotNil(t, out.Item, "the wrapped key is the item a#key")
	assert.NotContains(t, out.Item, "scope", "the key item is in no list index")

	st := store.New(b)
	admin := identity.Principal{Name: "root", Role: identity.Admin}
	page, err := st.List(ctx, admin, store.ListRequest{})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	page, err = st.List(ctx, admin, store.ListRequest{Deleted: true})
	require.NoError(t, err)
	assert.Empty(t, page.Items)
	n, err := st.PurgeExpired(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
}
