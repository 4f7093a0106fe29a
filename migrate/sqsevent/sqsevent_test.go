package sqsevent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
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
	"github.com/lockwell/lockwell/migrate/sqsqueue"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

var alice = identity.Principal{Name: "alice", Role: identity.Member}

// flakyTarget fails the first creates: a crash between reading the legacy
// entry and writing the central copy.
type flakyTarget struct {
	migrate.Target
	fail atomic.Int32
}

func (t *flakyTarget) Create(ctx context.Context, name string, private bool, values map[string]string, origin string) (*secret.Secret, error) {
	if t.fail.Add(-1) >= 0 {
		return nil, errcode.New(errcode.Unavailable, "injected crash")
	}
	return t.Target.Create(ctx, name, private, values, origin)
}

// lambdaEvent turns received messages into the JSON Lambda's SQS event
// source mapping delivers, and parses it as the runtime does.
func lambdaEvent(t *testing.T, queueARN string, msgs []types.Message) events.SQSEvent {
	t.Helper()
	var records []map[string]any
	for _, m := range msgs {
		records = append(records, map[string]any{
			"messageId":         aws.ToString(m.MessageId),
			"receiptHandle":     aws.ToString(m.ReceiptHandle),
			"body":              aws.ToString(m.Body),
			"attributes":        m.Attributes,
			"messageAttributes": map[string]any{},
			"md5OfBody":         aws.ToString(m.MD5OfBody),
			"eventSource":       "aws:sqs",
			"eventSourceARN":    queueARN,
			"awsRegion":         "us-east-1",
		})
	}
	raw, err := json.Marshal(map[string]any{"Records": records})
	require.NoError(t, err)
	var ev events.SQSEvent
	require.NoError(t, json.Unmarshal(raw, &ev))
	return ev
}

func TestLambdaOverLocalSQS(t *testing.T) {
	ctx := context.Background()
	server := localsqs.StartT(t)
	client := sqs.New(sqs.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(server.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secretlocal", ""),
	})
	const maxReceives = 3
	queueURL, dlqURL, err := sqsqueue.CreateWithDLQ(ctx, client, "lockwell-migrate", maxReceives, 1)
	require.NoError(t, err)
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &queueURL, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	require.NoError(t, err)
	queueARN := attrs.Attributes["QueueArn"]

	// A legacy source, the central store, and a job with every entry.
	secrets := append(legacytest.All(), legacytest.Typed())
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, secrets, nil)
	source := (&url.URL{Scheme: "zenml-local", Path: path}).String()
	st := store.New(memstore.New())
	jobs, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer jobs.Close()
	job := migrate.Job{ID: "job-sqs", Created: secret.Now(), Owner: alice.Name, Source: source}
	var entries []migrate.EntryStatus
	var msgs []migrate.Message
	for _, s := range secrets {
		entries = append(entries, migrate.EntryStatus{Name: s.Name, Outcome: migrate.Pending})
		msgs = append(msgs, migrate.Message{Job: job.ID, Source: source, Name: s.Name})
	}
	require.NoError(t, jobs.CreateJob(ctx, job, entries))

	target := &flakyTarget{Target: migrate.StoreTarget{Store: st, Principal: alice}}
	target.fail.Store(2)
	h := sqsevent.Handler{
		Proc:        &migrate.Processor{Jobs: jobs, Target: func(*migrate.Job) migrate.Target { return target }, MaxDeliveries: maxReceives},
		Concurrency: 4,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}

	q := sqsqueue.Queue{Client: client, URL: queueURL}
	require.NoError(t, q.Send(ctx, msgs))
	require.NoError(t, q.Send(ctx, msgs[:3])) // duplicates
	_, err = client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &queueURL, MessageBody: aws.String(`{"v":1,"job":"job-sqs"`)})
	require.NoError(t, err) // poison

	// The event source mapping: receive, invoke, delete what succeeded.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		require.NoError(t, err)
		if len(out.Messages) == 0 {
			counts, err := jobs.Counts(ctx, job.ID)
			require.NoError(t, err)
			if counts[migrate.Pending] == 0 && dlqDepth(t, client, dlqURL) == 1 {
				break
			}
			continue
		}
		resp, err := h.Handle(ctx, lambdaEvent(t, queueARN, out.Messages))
		require.NoError(t, err)
		failed := map[string]bool{}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for _, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				_, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
			}
		}
	}

	counts, err := jobs.Counts(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, migrate.Counts{migrate.Migrated: len(secrets)}, counts)
	page, err := st.List(ctx, alice, store.ListRequest{PageSize: 1000})
	require.NoError(t, err)
	require.Len(t, page.Items, len(secrets), "every entry exactly once")
	for _, s := range secrets {
		got, err := st.Lookup(ctx, alice, s.Name)
		require.NoError(t, err)
		legacytest.RequireSameValues(t, s.Want(), got.Values, s.Name)
	}
	require.Equal(t, 1, dlqDepth(t, client, dlqURL), "the poison message is in the dead-letter queue")
}

func dlqDepth(t *testing.T, c *sqs.Client, dlqURL string) int {
	a, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &dlqURL,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages}})
	require.NoError(t, err)
	var n int
	fmt.Sscan(a.Attributes["ApproximateNumberOfMessages"], &n)
	return n
}

// TestRecordedEventJSON drives the handler with a literal SQS event as
// Lambda delivers it: one good message and one poison message.
func TestRecordedEventJSON(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, legacytest.Reference(), nil)
	source := (&url.URL{Scheme: "zenml-local", Path: path}).String()
	jobs, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer jobs.Close()
	require.NoError(t, jobs.CreateJob(ctx, migrate.Job{ID: "j1", Owner: "alice", Source: source}, []migrate.EntryStatus{{Name: "openai", Outcome: migrate.Pending}}))
	st := store.New(memstore.New())
	h := sqsevent.Handler{Proc: &migrate.Processor{Jobs: jobs, Target: func(*migrate.Job) migrate.Target { return migrate.StoreTarget{Store: st, Principal: alice} }},
		Concurrency: 2}
	good, _ := json.Marshal(string(migrate.Message{Job: "j1", Source: source, Name: "openai"}.Encode()))
	raw := `{"Records":[
 {"messageId":"059f36b4-87a3-44ab-83d2-661975830a7d","receiptHandle":"AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
  "body":` + string(good) + `,
  "attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1545082649183","SenderId":"AIDAIENQZJOLO23YVJ4VO","ApproximateFirstReceiveTimestamp":"1545082649185"},
  "messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs",
  "eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:lockwell-migrate","awsRegion":"us-east-2"},
 {"messageId":"2e1424d4-f796-459a-8184-9c92662be6da","receiptHandle":"AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq",
  "body":"{\"v\":9}",
  "attributes":{"ApproximateReceiveCount":"2","SentTimestamp":"1545082650636","SenderId":"AIDAIENQZJOLO23YVJ4VO","ApproximateFirstReceiveTimestamp":"1545082650649"},
  "messageAttributes":{},"md5OfBody":"e4e68fb7bd0e697a0ae8f1bb342846b3","eventSource":"aws:sqs",
  "eventSourceARN":"arn:aws:sqs:us-east-2:123456789012:lockwell-migrate","awsRegion":"us-east-2"}]}`
	var ev events.SQSEvent
	require.NoError(t, json.Unmarshal([]byte(raw), &ev))
	resp, err := h.Handle(ctx, ev)
	require.NoError(t, err)
	require.Equal(t, []events.SQSBatchItemFailure{{ItemIdentifier: "2e1424d4-f796-459a-8184-9c92662be6da"}}, resp.BatchItemFailures)
	got, err := st.Lookup(ctx, alice, "openai")
	require.NoError(t, err)
	legacytest.RequireSameValues(t, legacytest.Reference()[2].Want(), got.Values, "openai")
}
