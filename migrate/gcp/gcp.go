// Package gcp registers the migrator as a Google Cloud Function (gen2):
// MigrateSecrets, a CloudEvent function triggered by a Pub/Sub topic whose
// messages are migrate.Messages. It shares the platform-neutral core
// (migrate.Processor) with the Lambda (migrate/lambda): a returned error
// makes Pub/Sub redeliver the message, and the subscription's dead-letter
// policy (maxDeliveryAttempts) ends the retries.
//
// The deployment (shared/config's LOCKWELL_* variables) and the job store
// (LOCKWELL_MIGRATE_JOBS, default LOCKWELL_STORE when it is SQL) are opened
// on the first event of an instance; if that fails the event is retried and
// the next one tries again. LOCKWELL_MIGRATE_MAX_DELIVERIES is the
// subscription's maxDeliveryAttempts (default 5).
package gcp

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/lockwell/lockwell/migrate"
	_ "github.com/lockwell/lockwell/migrate/legacy/all"
	_ "github.com/lockwell/lockwell/migrate/sqljobs" // sqlite://, postgres://, mysql://
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/metrics/cloudlogging"
)

// FunctionName is the entry point and FUNCTION_TARGET.
const FunctionName = "MigrateSecrets"

func init() {
	functions.CloudEvent(FunctionName, MigrateSecrets)
}

// Open opens the processor. Tests replace it before the first event.
var Open = openFromEnv

var (
	mu   sync.Mutex
	proc *migrate.Processor
	log  = slog.New(slog.NewJSONHandler(os.Stderr, nil))
)

// pubsubData is the data of a google.cloud.pubsub.topic.v1.messagePublished
// CloudEvent.
type pubsubData struct {
	Message struct {
		Data       []byte            `json:"data"` // base64 in JSON
		Attributes map[string]string `json:"attributes"`
		MessageID  string            `json:"messageId"`
	} `json:"message"`
	Subscription    string `json:"subscription"`
	DeliveryAttempt int    `json:"deliveryAttempt"` // set when the subscription has a dead-letter policy
}

// MigrateSecrets handles one Pub/Sub message. It returns nil when the
// message is done and an error (HTTP 500, so Pub/Sub redelivers) otherwise.
func MigrateSecrets(ctx context.Context, e event.Event) error {
	var d pubsubData
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		log.Warn("migration event is not a Pub/Sub message", "event_id", e.ID())
		return errcode.New(errcode.InvalidArgument, "event is not a Pub/Sub message")
	}
	p, err := processor(ctx)
	if err != nil {
		log.Error("migrator cannot start", "error", errcode.Message(err))
		return err
	}
	delivery := max(1, d.DeliveryAttempt)
	if err := p.Handle(ctx, d.Message.Data, delivery); err != nil {
		log.Warn("migration message not done", "message_id", d.Message.MessageID, "delivery", delivery,
			"code", errcode.Of(err), "error", errcode.Message(err))
		return err
	}
	return nil
}

func processor(ctx context.Context) (*migrate.Processor, error) {
	mu.Lock()
	defer mu.Unlock()
	if proc != nil {
		return proc, nil
	}
	p, err := Open(ctx)
	if err != nil {
		return nil, err
	}
	proc = p
	return p, nil
}

func openFromEnv(ctx context.Context) (*migrate.Processor, error) {
	cloudlogging.Install() // migration outcomes as structured log lines
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	d, err := cfg.Open(ctx, log)
	if err != nil {
		return nil, err
	}
	jobs, err := migrate.OpenJobStore(ctx, migrate.JobStoreURLFromEnv(cfg.StoreURL))
	if err != nil {
		d.Close()
		return nil, err
	}
	maxDeliveries, err := strconv.Atoi(os.Getenv("LOCKWELL_MIGRATE_MAX_DELIVERIES"))
	if err != nil || maxDeliveries < 1 {
		maxDeliveries = 5
	}
	return &migrate.Processor{
		Jobs: jobs,
		Target: func(job *migrate.Job) migrate.Target {
			return migrate.StoreTarget{Store: d.Store, Principal: d.Principal(job.Owner)}
		},
		MaxDeliveries: maxDeliveries,
	}, nil
}
