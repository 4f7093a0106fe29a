//go:build lockwell_otel

package lambdaserve

import (
	"context"
	"log/slog"

	"github.com/lockwell/lockwell/shared/tracing"
)

// With the lockwell_otel tag, bootstraps export spans over OTLP HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (package tracing).
func init() {
	setupTracing = func(ctx context.Context, service string, log *slog.Logger) (func(context.Context) error, error) {
		tp, err := tracing.Setup(ctx, service)
		if err != nil || tp == nil {
			return nil, err
		}
		log.Info("OpenTelemetry tracing on")
		return tp.Flush, nil
	}
}
