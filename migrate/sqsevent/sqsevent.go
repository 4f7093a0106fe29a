// Package sqsevent turns an SQS event (as Lambda's event source mapping
// delivers it) into migrate.Processor deliveries and answers with the batch
// item failures to redeliver. It holds no platform runtime: migrate/lambda
// starts it with lambda.Start, and the benchmark drives it directly.
package sqsevent

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
)

// Handler turns an SQS batch into Processor deliveries, at most Concurrency
// at a time, and reports the messages to redeliver as batch item failures
// (the event source mapping needs FunctionResponseTypes:
// ReportBatchItemFailures). It never fails the whole batch, so one bad
// message cannot hold back the others. Safe for concurrent use.
type Handler struct {
	Proc        *migrate.Processor
	Concurrency int
	Log         *slog.Logger // nil discards
}

// Handle processes one SQS event. The delivery count of each message is its
// ApproximateReceiveCount attribute. It never returns an error.
func (h Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, h.Concurrency))
	)
	for _, rec := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			delivery, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
			if err != nil || delivery < 1 {
				delivery = 1
			}
			if err := h.Proc.Handle(ctx, []byte(rec.Body), delivery); err != nil {
				// Code and client-safe message only: never the body.
				h.logger().Warn("migration message not done", "message_id", rec.MessageId, "delivery", delivery,
					"code", errcode.Of(err), "error", errcode.Message(err))
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return resp, nil
}

func (h Handler) logger() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}
