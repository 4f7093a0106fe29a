package dynalite_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
)

func TestStartServesTheSDKAndStops(t *testing.T) {
	ctx := context.Background()
	p := dynalite.ForTest(t)
	client := dynamodb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-only", ""),
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(p.Endpoint()) })

	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("things"),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	require.NoError(t, err)
	// With --createTableMs 0 dynalite activates the table on its next tick,
	// not within the CreateTable call: wait as a client of AWS would.
	in := &dynamodb.DescribeTableInput{TableName: aws.String("things")}
	require.NoError(t, dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	}).Wait(ctx, in, 2*time.Second), "the table becomes active within moments")
	d, err := client.DescribeTable(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, types.TableStatusActive, d.Table.TableStatus)

	require.NoError(t, p.Stop())
	require.NoError(t, p.Stop(), "stop twice is fine")
	_, err = http.Get(p.Endpoint())
	require.Error(t, err, "nothing listens after Stop")
}

func TestMissingBinaryIsNotInstalled(t *testing.T) {
	_, err := dynalite.Start(context.Background(), dynalite.Options{Bin: filepath.Join(t.TempDir(), "dynalite")})
	require.ErrorIs(t, err, dynalite.ErrNotInstalled)
}
