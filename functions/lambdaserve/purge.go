package lambdaserve

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/emf"
)

// Purge is the op of the scheduled function that destroys expired deleted
// secrets.
const Purge = "purge"

// PurgeResult is what one invocation of the purge function returns.
type PurgeResult struct {
	Purged int `json:"purged"`
}

// RunPurge is the body of the scheduled purge function and does not
// return: it opens the deployment once per cold start and, on each
// invocation (whatever its payload: EventBridge Scheduler sends its own),
// destroys the deleted secrets whose recovery window has ended, logging how
// many. A failed purge fails the invocation, so the scheduler's retry
// policy and the function's errors metric see it.
func RunPurge() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", Purge)
	metrics.Register(emf.New(os.Stdout, nil))
	ctx := context.Background()
	cfg, err := config.FromEnv()
	if err == nil {
		var d *config.Deployment
		if d, err = cfg.Open(ctx, log); err == nil {
			lambda.Start(PurgeHandler(d, log))
			return
		}
	}
	log.Error("cold start failed", "code", string(errcode.Of(err)), "err", err)
	os.Exit(1)
}

// PurgeHandler returns the handler of one purge invocation over d.
func PurgeHandler(d *config.Deployment, log *slog.Logger) func(ctx context.Context) (PurgeResult, error) {
	return func(ctx context.Context) (PurgeResult, error) {
		n, err := d.Store.PurgeExpired(ctx)
		if err != nil {
			log.Error("purge of expired secrets failed", "purged", n, "code", string(errcode.Of(err)))
			return PurgeResult{Purged: n}, err
		}
		log.Info("purged expired secrets", "purged", n)
		return PurgeResult{Purged: n}, nil
	}
}
