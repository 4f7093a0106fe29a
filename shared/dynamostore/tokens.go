package dynamostore

import (
	"context"
	"encoding/hex"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

var _ identity.TokenStore = (*Backend)(nil)

// Token items (t#<sha256 hex>) carry user, role, created and id (the
// identity.TokenID of the hash), and enter two of the list indexes under
// the scope "tok#<role>": by-created (created_key = created#id) lists them
// oldest first, by-name (name_key = id) finds one by id. The role is in the
// scope because the indexes project owner, id and created but not role:
// listing then reads the indexes only, never the token items. The indexes
// are eventually consistent, so a token saved or revoked a moment ago may be
// missing from, or still in, a listing; TokenPrincipal always reads the
// item itself (consistently), so a revoked token stops authenticating at
// once.
const scopeToken = "tok#"

// tokenRoles are the roles, one token list partition each.
var tokenRoles = []identity.Role{identity.Admin, identity.Member}

func tokenPK(hash []byte) string { return prefixToken + hex.EncodeToString(hash) }

// tokenIndexAttrs are the attributes that put a token item into the token
// list partitions.
func tokenIndexAttrs(id string, role identity.Role, created time.Time) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrID:      str(id),
		attrScope:   str(scopeToken + string(role)),
		attrCreated: str(formatTime(created)),
		attrCreKey:  str(sortKey(formatTime(created), id)),
		attrNameKey: str(id),
	}
}

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
	item := tokenIndexAttrs(identity.TokenID(hash), p.Role, secret.Now())
	item[attrPK], item[attrUser], item[attrOwner], item[attrRole] = str(tokenPK(hash)), str(p.Name), str(p.Name), str(string(p.Role))
	return b.call(ctx, "save the token", func(ctx context.Context) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: b.table, Item: item})
		return err
	})
}

// TokenPrincipal implements identity.TokenStore: one consistent GetItem.
// A token saved before tokens were listed (no scope attribute) is added to
// the token list partitions by one conditional UpdateItem, best effort, the
// first time it is used; its created time is then that moment. Errors:
// unauthenticated for an unknown (or revoked) token; unavailable.
func (b *Backend) TokenPrincipal(ctx context.Context, hash []byte) (identity.Principal, error) {
	item, err := b.getItem(ctx, tokenPK(hash), "read the token")
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
	p := identity.Principal{Name: getS(item, attrUser), Role: role}
	if getS(item, attrScope) == "" {
		b.indexLegacyToken(ctx, hash, p)
	}
	return p, nil
}

// indexLegacyToken adds the list attributes to a token item that lacks
// them. Failures are ignored: the token still authenticates, and the next
// use tries again.
func (b *Backend) indexLegacyToken(ctx context.Context, hash []byte, p identity.Principal) {
	e := &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
	set := ""
	for k, v := range tokenIndexAttrs(identity.TokenID(hash), p.Role, secret.Now()) {
		if set != "" {
			set += ", "
		}
		ph := ":v" + k
		e.values[ph] = v
		set += e.name(k) + " = " + ph
	}
	e.values[":owner"] = str(p.Name)
	set += ", " + e.name(attrOwner) + " = :owner"
	_ = b.call(ctx, "index the token", func(ctx context.Context) error {
		_, err := b.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: b.table, Key: keyOf(tokenPK(hash)),
			UpdateExpression:          aws.String("SET " + set),
			ConditionExpression:       aws.String("attribute_exists(" + e.name(attrPK) + ") AND attribute_not_exists(" + e.name(attrScope) + ")"),
			ExpressionAttributeNames:  e.names,
			ExpressionAttributeValues: e.values,
		})
		if failed, _ := conditionFailed(err); failed {
			return nil // revoked or indexed meanwhile
		}
		return err
	})
}

// ListTokens implements identity.TokenStore: one paged Query of the
// by-created index per role partition ("tok#admin", "tok#member"), run
// concurrently. It reads index entries of tokens only (about 0.5 read
// units per 4 KB of entries, one page per MB), never a secret or the token
// items, and never a hash. Eventually consistent (see scopeToken). Errors:
// unavailable, internal.
func (b *Backend) ListTokens(ctx context.Context) ([]identity.TokenInfo, error) {
	results := make([][]identity.TokenInfo, len(tokenRoles))
	errs := make([]error, len(tokenRoles))
	var wg sync.WaitGroup
	for i, role := range tokenRoles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.listTokenPartition(ctx, role)
		}()
	}
	wg.Wait()
	out := []identity.TokenInfo{}
	for i := range tokenRoles {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (b *Backend) listTokenPartition(ctx context.Context, role identity.Role) ([]identity.TokenInfo, error) {
	in := &dynamodb.QueryInput{
		TableName: b.table, IndexName: aws.String(indexByCreated),
		KeyConditionExpression:    aws.String("#scope = :scope"),
		ExpressionAttributeNames:  names(attrScope, attrID, attrOwner, attrCreated),
		ExpressionAttributeValues: map[string]types.AttributeValue{":scope": str(scopeToken + string(role))},
		ProjectionExpression:      aws.String("#id, #owner, #created"),
	}
	var out []identity.TokenInfo
	for {
		var page *dynamodb.QueryOutput
		err := b.call(ctx, "list tokens", func(ctx context.Context) error {
			var err error
			page, err = b.db.Query(ctx, in)
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			created, err := parseTime(getS(item, attrCreated))
			id := getS(item, attrID)
			if err != nil || id == "" {
				return nil, errcode.New(errcode.Internal, "stored token %s has a bad id or created attribute", id)
			}
			out = append(out, identity.TokenInfo{ID: id, Principal: identity.Principal{Name: getS(item, attrOwner), Role: role}, Created: created})
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// RevokeToken implements identity.TokenStore: a Query of the by-name index
// per role partition finds the token's key, then one DeleteItem conditioned
// on the item existing, so of two concurrent revocations one succeeds and
// the other gets not_found. The index is eventually consistent: a token
// saved a moment ago may not be found yet. Errors: invalid_argument for a
// malformed id; not_found; unavailable.
func (b *Backend) RevokeToken(ctx context.Context, id string) error {
	if err := identity.ValidateTokenID(id); err != nil {
		return err
	}
	pk := ""
	for _, role := range tokenRoles {
		var page *dynamodb.QueryOutput
		err := b.call(ctx, "find the token", func(ctx context.Context) error {
			var err error
			page, err = b.db.Query(ctx, &dynamodb.QueryInput{
				TableName: b.table, IndexName: aws.String(indexByName),
				KeyConditionExpression:   aws.String("#scope = :scope AND #name_key = :id"),
				ExpressionAttributeNames: names(attrScope, attrNameKey),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":scope": str(scopeToken + string(role)), ":id": str(id),
				},
			})
			return err
		})
		if err != nil {
			return err
		}
		if len(page.Items) > 0 {
			pk = getS(page.Items[0], attrPK)
			break
		}
	}
	if pk == "" {
		return errcode.New(errcode.NotFound, "no token has id %s", id)
	}
	err := b.call(ctx, "revoke the token", func(ctx context.Context) error {
		_, err := b.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: b.table, Key: keyOf(pk),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: names(attrPK),
		})
		return err
	})
	if failed, _ := conditionFailed(err); failed {
		return errcode.New(errcode.NotFound, "no token has id %s", id)
	}
	return err
}
