package dynamostore_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/audit/audittest"
	"github.com/lockwell/lockwell/shared/dynamostore"
)

func TestAuditConformance(t *testing.T) {
	setup(t)
	tables := map[audit.Storage]string{}
	audittest.Run(t, audittest.Harness{
		New: func(t *testing.T) audit.Storage {
			table := newTable()
			b := open(t, table)
			tables[b] = table
			return b
		},
		Tamper: func(t *testing.T, st audit.Storage, seq int64, principal string) {
			_, err := rawClient(t).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
				TableName:                 aws.String(tables[st]),
				Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: dynamostore.AuditKey(seq)}},
				UpdateExpression:          aws.String("SET #u = :p"),
				ExpressionAttributeNames:  map[string]string{"#u": "user"},
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: principal}},
			})
			require.NoError(t, err)
		},
	})
}
