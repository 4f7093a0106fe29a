package dynamostore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
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

func TestAuditRetentionSetsTTL(t *testing.T) {
	setup(t)
	ctx := context.Background()
	table := newTable()
	b := open(t, table)
	b.SetAuditRetention(90 * 24 * time.Hour)
	l, err := audit.New(b, audittest.Key)
	require.NoError(t, err)
	when := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err = l.Append(ctx, audit.Record{Time: when, Principal: "alice", Operation: "get", Phase: audit.PhaseResponse, Outcome: "ok"})
	require.NoError(t, err)
	out, err := rawClient(t).GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: dynamostore.AuditKey(1)}},
	})
	require.NoError(t, err)
	ttl, ok := out.Item[dynamostore.TTLAttribute].(*types.AttributeValueMemberN)
	require.True(t, ok, "the item carries the table's TTL attribute")
	assert.Equal(t, strconv.FormatInt(when.Add(90*24*time.Hour).Unix(), 10), ttl.Value)
}
