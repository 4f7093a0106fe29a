package dynamostore

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/lockwell/lockwell/shared/errcode"
)

// TableDefinition returns the CreateTable input of the table: the key, the
// three list indexes and on-demand billing. template.yaml declares the same
// table (and adds point-in-time recovery and KMS server-side encryption).
func TableDefinition(table string) *dynamodb.CreateTableInput {
	attr := func(n string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(n), AttributeType: types.ScalarAttributeTypeS}
	}
	gsi := func(name, sortKey string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrScope), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(sortKey), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: projected},
		}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			attr(attrPK), attr(attrScope), attr(attrNameKey), attr(attrCreKey), attr(attrUpdKey),
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{
			gsi(indexByName, attrNameKey), gsi(indexByCreated, attrCreKey), gsi(indexByUpdated, attrUpdKey),
		},
	}
}

// createTable creates the table unless it exists and waits until it is
// active.
func (b *Backend) createTable(ctx context.Context) error {
	_, err := b.db.CreateTable(ctx, TableDefinition(*b.table))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return classify(err, "create the table")
	}
	w := dynamodb.NewTableExistsWaiter(b.db, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 2*time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: b.table}, 5*time.Minute); err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "DynamoDB table %s did not become active", *b.table)
	}
	return nil
}
