package sqspoll_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/stretchr/testify/require"

	localsqs "github.com/lockwell/lockwell/localdev/sqs"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	_ "github.com/lockwell/lockwell/migrate/legacy/local"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/migrate/sqsevent"
	"github.com/lockwell/lockwell/migrate/sqspoll"
	"github.com/lockwell/lockwell/migrate/sqsqueue"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

func TestPollerDrainsTheQueueAndDeadLettersPoison(t *testing.T) {
	ctx := context.Background()
	server := localsqs.StartT(t)
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(server.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secretlocal", "")})
	queueURL, dlqURL, err := sqsqueue.CreateWithDLQ(ctx, client, "lockwell-migrate", 2, 1)
	require.NoError(t, err)

	secrets := legacytest.All()
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, secrets, nil)
	source := (&url.URL{Scheme: "zenml-local", Path: path}).String()
	jobs, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer jobs.Close()
	var entries []migrate.EntryStatus
	var msgs []migrate.Message
	for _, s := range secrets {
		entries = append(entries, migrate.EntryStatus{Name: s.Name, Outcome: migrate.Pending})
		msgs = append(msgs, migrate.Message{Job: "j", Source: source, Name: s.Name})
	}
	require.NoError(t, jobs.CreateJob(ctx, migrate.Job{ID: "j", Created: secret.Now(), Owner: "alice", Source: source}, entries))
	require.NoError(t, sqsqueue.Queue{Client: client, URL: queueURL}.Send(ctx, msgs))
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String("poison")})
	require.NoError(t, err)

	st := store.New(memstore.New())
	alice := identity.Principal{Name: "alice", Role: identity.Member}
	h := sqsevent.Handler{Concurrency: 2, Proc: &migrate.Processor{Jobs: jobs, MaxDeliveries: 2,
		Target: func(*migrate.Job) migrate.Target { return migrate.StoreTarget{Store: st, Principal: alice} }}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // bounds the wait; the run takes seconds
	defer cancel()
	stats, err := sqspoll.Run(ctx, sqspoll.Options{Client: client, QueueURL: queueURL, QueueARN: "arn:aws:sqs:us-east-1:000000000000:lockwell-migrate",
		Handler: h, Consumers: 2, Until: func() bool { return depth(t, client, dlqURL) == 1 }})
	require.NoError(t, err)
	// A batch that takes longer than the 1s visibility timeout (a loaded
	// machine) is delivered again, as SQS promises at-least-once delivery;
	// the processor makes the repeat a no-op, so the job counts below are
	// exact while deletions may exceed the messages.
	require.GreaterOrEqual(t, stats.Deleted, int64(len(secrets)))
	require.Equal(t, int64(2), stats.Failed, "the poison message was received twice, then dead-lettered")
	counts, err := jobs.Counts(ctx, "j")
	require.NoError(t, err)
	require.Equal(t, migrate.Counts{migrate.Migrated: len(secrets)}, counts)
}

func depth(t *testing.T, c *sqs.Client, u string) int {
	a, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &u,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	require.NoError(t, err)
	return map[string]int{"0": 0, "1": 1}[a.Attributes["ApproximateNumberOfMessages"]]
}
