package dynamostore_test

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/identitytest"
)

func TestTokenStoreConformance(t *testing.T) {
	setup(t)
	identitytest.TestTokenStore(t, func(t *testing.T) identity.TokenStore { return open(t, newTable()) })
}

// TestLegacyTokensAreIndexedOnUse: a token item written before tokens were
// listed ({pk, user, role} only) still authenticates, and from its first
// use on is listed and revocable by id.
func TestLegacyTokensAreIndexedOnUse(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	token, hash, err := identity.NewToken()
	require.NoError(t, err)
	_, err = rawClient(t).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		"pk":   &types.AttributeValueMemberS{Value: "t#" + hex.EncodeToString(hash)},
		"user": &types.AttributeValueMemberS{Value: "carol"},
		"role": &types.AttributeValueMemberS{Value: "member"},
	}})
	require.NoError(t, err)

	infos, err := b.ListTokens(ctx)
	require.NoError(t, err)
	assert.Empty(t, infos, "not listed before its first use")
	carol := identity.Principal{Name: "carol", Role: identity.Member}
	got, err := b.TokenPrincipal(ctx, identity.HashToken(token))
	require.NoError(t, err)
	assert.Equal(t, carol, got)
	infos, err = b.ListTokens(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, identity.TokenID(hash), infos[0].ID)
	assert.Equal(t, carol, infos[0].Principal)

	items, err := b.List(ctx, backend.Query{Viewer: "carol", Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, items, "indexed tokens are not secrets")

	require.NoError(t, b.RevokeToken(ctx, identity.TokenIDOf(token)))
	_, err = b.TokenPrincipal(ctx, hash)
	assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
}
