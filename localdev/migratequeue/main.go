// Command local runs the queue-driven migration on this machine, for `make
// dev` and trying `lockwell migrate start`: it starts fauxqs (a local SQS)
// on loopback, creates the migration queue and its dead-letter queue, prints
// the variables the CLI needs, and consumes the queue as Lambda's event
// source mapping would, with the Lambda's own handler, until interrupted.
//
// The store is the deployment's (shared/config's LOCKWELL_* variables); for
// the `make dev` server:
//
//	LOCKWELL_STORE=sqlite:.lockwell/lockwell.db LOCKWELL_KEY=localkey://.lockwell/store.key \
//	  go run ./localdev/migratequeue [-port 9324]
//
// The job store is LOCKWELL_MIGRATE_JOBS, by default the store's database.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	localsqs "github.com/lockwell/lockwell/localdev/sqs"
	"github.com/lockwell/lockwell/migrate"
	_ "github.com/lockwell/lockwell/migrate/legacy/all"
	_ "github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/migrate/sqsevent"
	"github.com/lockwell/lockwell/migrate/sqspoll"
	"github.com/lockwell/lockwell/migrate/sqsqueue"
	"github.com/lockwell/lockwell/shared/config"
	_ "github.com/lockwell/lockwell/shared/sqlstore"
)

func main() {
	port := flag.Int("port", 9324, "loopback port of the local SQS (0: any free port)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*port, log); err != nil {
		log.Error("migrate local", "error", err.Error())
		os.Exit(1)
	}
}

func run(port int, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	d, err := cfg.Open(ctx, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	jobsURL := migrate.JobStoreURLFromEnv(cfg.StoreURL)
	jobs, err := migrate.OpenJobStore(ctx, jobsURL)
	if err != nil {
		return err
	}
	defer jobs.Close()

	server, err := localsqs.Start(ctx, port)
	if err != nil {
		return err
	}
	defer server.Close()
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(server.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	const maxReceives = 5
	queueURL, dlqURL, err := sqsqueue.CreateWithDLQ(ctx, client, "lockwell-migrate", maxReceives, 30)
	if err != nil {
		return err
	}
	fmt.Printf("export AWS_ENDPOINT_URL_SQS=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local\n", server.Endpoint)
	fmt.Printf("export LOCKWELL_MIGRATE_QUEUE_URL=%s LOCKWELL_MIGRATE_JOBS=%s\n", queueURL, jobsURL)
	log.Info("consuming migration messages; Ctrl-C stops", "dead_letter_queue", dlqURL)
	h := sqsevent.Handler{Concurrency: 4, Log: log, Proc: &migrate.Processor{Jobs: jobs, MaxDeliveries: maxReceives,
		Target: func(job *migrate.Job) migrate.Target {
			return migrate.StoreTarget{Store: d.Store, Principal: d.Principal(job.Owner)}
		}}}
	stats, err := sqspoll.Run(ctx, sqspoll.Options{Client: client, QueueURL: queueURL, QueueARN: "arn:aws:sqs:us-east-1:000000000000:lockwell-migrate",
		Handler: h, Consumers: 2})
	log.Info("stopped", "messages_done", stats.Deleted, "deliveries_failed", stats.Failed)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
