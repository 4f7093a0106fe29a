// Package sqspoll is a local stand-in for Lambda's SQS event source
// mapping: consumers receive batches of up to ten messages, hand them to the
// migrator's handler (package sqsevent) as the event JSON Lambda delivers,
// and delete the messages the handler did not report as failed; failed ones
// become visible again after the queue's visibility timeout and, after
// maxReceiveCount receives, move to the dead-letter queue. The benchmark
// and `go run ./localdev/migratequeue` use it.
package sqspoll

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lockwell/lockwell/migrate/sqsevent"
)

// Options configure Run.
type Options struct {
	Client    *sqs.Client
	QueueURL  string
	QueueARN  string // eventSourceARN in the events
	Handler   sqsevent.Handler
	Consumers int // concurrent pollers; default 1
	// Until, when set, stops a consumer once it returns true; it is asked
	// after each receive that found the queue empty.
	Until func() bool
}

// Stats count what Run did.
type Stats struct {
	Deleted, Failed int64
}

// Run polls until ctx ends, Until returns true, or a queue call fails.
func Run(ctx context.Context, o Options) (Stats, error) {
	var (
		deleted, failed atomic.Int64
		wg              sync.WaitGroup
		mu              sync.Mutex
		firstErr        error
		finished        atomic.Bool
	)
	stop := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
		finished.Store(true)
	}
	done := func() bool { return ctx.Err() != nil || finished.Load() }
	for range max(1, o.Consumers) {
		wg.Go(func() {
			for !done() {
				out, err := o.Client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &o.QueueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
					MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
				if err != nil {
					if ctx.Err() == nil {
						stop(err)
					}
					return
				}
				if len(out.Messages) == 0 {
					if o.Until != nil && o.Until() {
						finished.Store(true)
					}
					continue
				}
				ev, err := Event(o.QueueARN, out.Messages)
				if err != nil {
					stop(err)
					return
				}
				resp, _ := o.Handler.Handle(ctx, ev)
				bad := map[string]bool{}
				for _, f := range resp.BatchItemFailures {
					bad[f.ItemIdentifier] = true
				}
				failed.Add(int64(len(bad)))
				var del []types.DeleteMessageBatchRequestEntry
				for i, m := range out.Messages {
					if !bad[aws.ToString(m.MessageId)] {
						del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
					}
				}
				if len(del) > 0 {
					if _, err := o.Client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &o.QueueURL, Entries: del}); err != nil {
						stop(err)
						return
					}
					deleted.Add(int64(len(del)))
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return Stats{Deleted: deleted.Load(), Failed: failed.Load()}, firstErr
}

// Event builds the event Lambda's SQS event source mapping delivers for
// msgs, passed through JSON as the Lambda runtime decodes it.
func Event(queueARN string, msgs []types.Message) (events.SQSEvent, error) {
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{}, Md5OfBody: aws.ToString(m.MD5OfBody),
			EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: "us-east-1",
		})
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return ev, err
	}
	var out events.SQSEvent
	return out, json.Unmarshal(raw, &out)
}
