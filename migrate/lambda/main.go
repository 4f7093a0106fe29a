// Command lambda is the SQS-triggered migrator function: it migrates one
// legacy entry per message into the deployment's store (shared/config reads
// LOCKWELL_* as every function does) and records outcomes in the job store.
//
// It links the store backends as every function does (package
// functions/backends: the AWS set by default, build tags choose), the
// DynamoDB job store, and with the tag lockwell_sql the SQL job store.
//
// Variables besides shared/config's:
//
//	LOCKWELL_MIGRATE_JOBS          job store URL: dynamodb://TABLE (the AWS deployment's jobs table),
//	                               or sqlite:///..., postgres://...; default LOCKWELL_STORE when that is
//	                               a SQL store, so jobs live in the same database
//	LOCKWELL_MIGRATE_MAX_RECEIVES  the queue's maxReceiveCount (default 5): on that delivery a
//	                               transient failure is recorded as failed before the message moves
//	                               to the dead-letter queue
//	LOCKWELL_MIGRATE_CONCURRENCY   messages of a batch processed at once (default 4)
//
// Legacy sources read their credentials from the function's role and the
// variables each flavor documents (VAULT_TOKEN, ...).
package main

import (
	"context"
	"log/slog"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	_ "github.com/lockwell/lockwell/functions/backends" // the deployment's store, by build tags
	"github.com/lockwell/lockwell/migrate"
	_ "github.com/lockwell/lockwell/migrate/dynamojobs" // dynamodb://
	_ "github.com/lockwell/lockwell/migrate/legacy/all"
	"github.com/lockwell/lockwell/migrate/sqsevent"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/emf"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	// Migration outcomes and store calls as CloudWatch EMF lines.
	metrics.Register(emf.New(os.Stdout, nil))
	ctx := context.Background()
	cfg, err := config.FromEnv()
	if err != nil {
		fatal(log, "configuration", err)
	}
	d, err := cfg.Open(ctx, log)
	if err != nil {
		fatal(log, "open store", err)
	}
	jobs, err := migrate.OpenJobStore(ctx, migrate.JobStoreURLFromEnv(cfg.StoreURL))
	if err != nil {
		fatal(log, "open job store", err)
	}
	proc := &migrate.Processor{
		Jobs: jobs,
		Target: func(job *migrate.Job) migrate.Target {
			return migrate.StoreTarget{Store: d.Store, Principal: d.Principal(job.Owner)}
		},
		MaxDeliveries: envInt("LOCKWELL_MIGRATE_MAX_RECEIVES", 5),
	}
	lambda.Start(sqsevent.Handler{Proc: proc, Concurrency: envInt("LOCKWELL_MIGRATE_CONCURRENCY", 4), Log: log}.Handle)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func fatal(log *slog.Logger, what string, err error) {
	log.Error("migrator cannot start", "step", what, "error", err.Error())
	os.Exit(1)
}
