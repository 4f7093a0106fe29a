package main

import (
	"context"
	"log/slog"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
)

// handler turns an SQS batch into Processor deliveries, at most concurrency
// at a time, and reports the messages to redeliver as batch item failures
// (the event source mapping needs FunctionResponseTypes:
// ReportBatchItemFailures). It never fails the whole batch, so one bad
// message cannot hold back the others.
type handler struct {
	proc        *migrate.Processor
	concurrency int
	log         *slog.Logger
}

func (h handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, h.concurrency))
	)
	for _, rec := range ev.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			delivery, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
			if err != nil || delivery < 1 {
				delivery = 1
			}
			if err := h.proc.Handle(ctx, []byte(rec.Body), delivery); err != nil {
				// Code and client-safe message only: never the body.
				h.log.Warn("migration message not done", "message_id", rec.MessageId, "delivery", delivery,
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
