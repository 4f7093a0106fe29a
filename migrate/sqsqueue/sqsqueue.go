// Package sqsqueue sends migration messages to an SQS queue (migrate.Queue)
// and creates the queue with its dead-letter queue for local runs and tests.
// The endpoint follows the AWS SDK's standard variables (AWS_ENDPOINT_URL_SQS
// or AWS_ENDPOINT_URL); credentials come from the SDK's chain.
package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
)

// API is the part of the SQS client this package calls.
type API interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Queue sends to one SQS queue.
type Queue struct {
	Client API
	URL    string
}

var _ migrate.Queue = Queue{}

// Send implements migrate.Queue: batches of ten, entries that SQS rejects
// are resent with the shared retry policy.
func (q Queue) Send(ctx context.Context, msgs []migrate.Message) error {
	for start := 0; start < len(msgs); start += 10 {
		batch := msgs[start:min(start+10, len(msgs))]
		pending := make(map[string]migrate.Message, len(batch))
		for i, m := range batch {
			pending[strconv.Itoa(i)] = m
		}
		err := retry.Do(ctx, retry.Default, func(ctx context.Context) error {
			in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL)}
			for id, m := range pending {
				in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(string(m.Encode()))})
			}
			out, err := q.Client.SendMessageBatch(ctx, in)
			if err != nil {
				return classify(err, "send migration messages")
			}
			for _, ok := range out.Successful {
				delete(pending, aws.ToString(ok.Id))
			}
			for _, f := range out.Failed {
				if f.SenderFault {
					return errcode.New(errcode.InvalidArgument, "SQS rejected a migration message: %s", aws.ToString(f.Code))
				}
			}
			if len(pending) > 0 {
				return errcode.New(errcode.Unavailable, "SQS did not accept %d migration messages", len(pending))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// classify maps an SQS error to an errcode: a missing queue or bad request
// is invalid_argument, access denied permission_denied, the rest
// unavailable. The SDK's message is not copied (it may echo the request).
func classify(err error, what string) error {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidParameterValue", "InvalidAddress":
			return errcode.New(errcode.InvalidArgument, "%s: %s", what, api.ErrorCode())
		case "AccessDenied", "AccessDeniedException":
			return errcode.New(errcode.PermissionDenied, "%s: %s", what, api.ErrorCode())
		}
		return errcode.New(errcode.Unavailable, "%s: %s", what, api.ErrorCode())
	}
	return errcode.Wrap(errcode.Unavailable, err, "%s", what)
}

// CreateWithDLQ creates queue name and its dead-letter queue name+"-dlq",
// with a redrive policy after maxReceiveCount receives, and returns both
// URLs. visibility is the queue's visibility timeout in seconds. It is for
// local runs and tests; deployments get their queues from template.yaml.
func CreateWithDLQ(ctx context.Context, c *sqs.Client, name string, maxReceiveCount, visibility int) (queueURL, dlqURL string, err error) {
	dlq, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
	if err != nil {
		return "", "", classify(err, "create dead-letter queue")
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
	if err != nil {
		return "", "", classify(err, "read dead-letter queue")
	}
	redrive := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, attrs.Attributes[string(types.QueueAttributeNameQueueArn)], maxReceiveCount)
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{
		string(types.QueueAttributeNameRedrivePolicy):     redrive,
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(visibility),
	}})
	if err != nil {
		return "", "", classify(err, "create queue")
	}
	return aws.ToString(q.QueueUrl), aws.ToString(dlq.QueueUrl), nil
}
