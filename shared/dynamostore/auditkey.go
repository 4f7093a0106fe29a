package dynamostore

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// The audit chain's wrapped key (audit.KeyStorage) is the item a#key:
// {wrapped (B), at}. It sits with the chain's items under the reserved
// prefix "a#", where no secret, claim, token or idempotency key can fall
// and no record key ("a#" and 19 digits) either. It is put once, with
// attribute_not_exists(pk), and never changed: of two cold starts racing,
// one put wins and the other reads the winner's key. IAM: GetItem and
// PutItem on the key "a#key" (dynamodb:LeadingKeys "a#*" covers it with the
// chain's items).
var _ audit.KeyStorage = (*Backend)(nil)

const (
	auditKeyPK  = prefixAudit + "key"
	attrWrapped = "wrapped"
)

// WrappedAuditKey implements audit.KeyStorage: one consistent GetItem.
func (b *Backend) WrappedAuditKey(ctx context.Context) ([]byte, error) {
	item, err := b.getItem(ctx, auditKeyPK, "read the audit chain key")
	if err != nil || item == nil {
		return nil, err
	}
	return wrappedOf(item)
}

func wrappedOf(item map[string]types.AttributeValue) ([]byte, error) {
	v, ok := item[attrWrapped].(*types.AttributeValueMemberB)
	if !ok || len(v.Value) == 0 {
		return nil, errcode.New(errcode.Internal, "the audit chain key item has no wrapped key")
	}
	return v.Value, nil
}

// PutWrappedAuditKey implements audit.KeyStorage: one conditional PutItem;
// when the item exists already, the key it holds (from the failed
// condition where the service returns it, else one GetItem).
func (b *Backend) PutWrappedAuditKey(ctx context.Context, wrapped []byte) ([]byte, error) {
	if len(wrapped) == 0 {
		return nil, errcode.New(errcode.Internal, "an empty wrapped audit chain key")
	}
	var existing map[string]types.AttributeValue
	taken := false
	err := b.call(ctx, "store the audit chain key", func(ctx context.Context) error {
		_, err := b.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: b.table,
			Item: map[string]types.AttributeValue{
				attrPK: str(auditKeyPK), attrWrapped: &types.AttributeValueMemberB{Value: wrapped},
				attrAt: str(formatTime(secret.Now())),
			},
			ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames:            names(attrPK),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if failed, item := conditionFailed(err); failed {
			// Stored already: by another process, or by an earlier attempt
			// of this put whose answer was lost (then it is ours).
			taken, existing = true, item
			return nil
		}
		return err
	})
	switch {
	case err != nil:
		return nil, err
	case !taken:
		return wrapped, nil
	case existing != nil:
		return wrappedOf(existing)
	}
	stored, err := b.WrappedAuditKey(ctx)
	if err == nil && stored == nil {
		err = errcode.New(errcode.Internal, "the audit chain key was stored, then disappeared")
	}
	return stored, err
}
