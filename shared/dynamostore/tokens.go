package dynamostore

import (
	"context"
	"encoding/hex"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

var _ identity.TokenStore = (*Backend)(nil)

// SaveToken implements identity.TokenStore: one PutItem of t#<hash>, which
// replaces a token with the same hash. Errors: invalid_argument for a bad
// principal; unavailable.
func (b *Backend) SaveToken(ctx context.Context, hash []byte, p identity.Principal) error {
	if err := identity.ValidateName(p.Name); err != nil {
		return err
	}
	if _, err := identity.ParseRole(string(p.Role)); err != nil {
		return err
	}
	if len(hash) == 0 {
		return errcode.New(errcode.InvalidArgument, "token hash must not be empty")
	}
	return b.call(ctx, "save the token", func(ctx context.Context) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: b.table,
			Item: map[string]types.AttributeValue{
				attrPK: str(prefixToken + hex.EncodeToString(hash)), attrUser: str(p.Name), attrRole: str(string(p.Role)),
			},
		})
		return err
	})
}

// TokenPrincipal implements identity.TokenStore: one consistent GetItem.
// Errors: unauthenticated for an unknown token; unavailable.
func (b *Backend) TokenPrincipal(ctx context.Context, hash []byte) (identity.Principal, error) {
	item, err := b.getItem(ctx, prefixToken+hex.EncodeToString(hash), "read the token")
	if err != nil {
		return identity.Principal{}, err
	}
	if item == nil {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "unknown token")
	}
	role, err := identity.ParseRole(getS(item, attrRole))
	if err != nil {
		return identity.Principal{}, errcode.Wrap(errcode.Internal, err, "stored token has a bad role")
	}
	return identity.Principal{Name: getS(item, attrUser), Role: role}, nil
}
