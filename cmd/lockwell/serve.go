package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/jobsapi"
	_ "github.com/lockwell/lockwell/migrate/sqljobs" // the SQL job stores, in every build (nocloud too)
	deployconfig "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/server"
)

// serveCommand is "lockwell serve": the self-hosted server (shared/server),
// the same one "make dev" starts. With LOCKWELL_STORE set it serves that
// deployment configuration (shared/config) instead of the SQLite store in
// the data directory. It stops cleanly on SIGINT and SIGTERM.
func serveCommand(a *app) *cobra.Command {
	var addr, dataDir, metricsAddr string
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--data-dir DIR] [--metrics-addr HOST:PORT]",
		Short: "Run a local Lockwell server over an embedded SQLite store",
		Long: `Run the Lockwell API on HOST:PORT (default 127.0.0.1:8080, or LOCKWELL_ADDR)
with an encrypted SQLite store in DIR (default ./.lockwell, or
LOCKWELL_DATA_DIR). On first start it creates the store key and an admin API
token in DIR (both mode 0600) and logs where the token file is. Once it
listens it prints the login command:
"lockwell login --url http://HOST:PORT --token-stdin < DIR/admin.token".
An address in use is an error that names a free port to use instead.

With LOCKWELL_STORE set (postgres://HOST:5432/DB?sslmode=verify-full,
dynamodb://TABLE, sqlite:///PATH; credentials from the standard variables
such as PGUSER/PGPASSWORD, never the URL) the server runs on that store
instead, with the key in LOCKWELL_KEY (localkey:///PATH, awskms://KEY?region=R)
and optionally LOCKWELL_VALUES and LOCKWELL_DEPLOYMENT, as the functions
read them; DIR then holds only admin.token.

With LOCKWELL_ADMIN_TOKEN_FILE set (a file holding a token "lw_" + 43
base64url characters, such as a mounted Kubernetes Secret) that token is
the admin token: its hash is stored at start if it is new, and no
admin.token is minted.

Change events stream at GET /api/v1/events (server-sent events). With
LOCKWELL_WEBHOOK_URL set they are also POSTed there, signed with HMAC-SHA256
(header Lockwell-Signature) keyed by the secret in the file named by
LOCKWELL_WEBHOOK_SECRET_FILE.

Admins read migration jobs (lockwell migrate status) on the dashboard's
Migrations page and at GET /api/v1/migrations: the job store is
LOCKWELL_MIGRATE_JOBS, or else the served SQL database itself (the data
directory's lockwell.db, or LOCKWELL_STORE when it is SQL).

With --metrics-addr (or LOCKWELL_METRICS_ADDR) it serves Prometheus metrics
at GET /metrics on that address, apart from the API and without a token.
With OTEL_EXPORTER_OTLP_ENDPOINT set it sends OpenTelemetry traces there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("addr") {
				if v := a.getenv("LOCKWELL_ADDR"); v != "" {
					addr = v
				}
			}
			if !cmd.Flags().Changed("data-dir") {
				if v := a.getenv("LOCKWELL_DATA_DIR"); v != "" {
					dataDir = v
				}
			}
			if !cmd.Flags().Changed("metrics-addr") {
				if v := a.getenv("LOCKWELL_METRICS_ADDR"); v != "" {
					metricsAddr = v
				}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			history, err := deployconfig.HistoryFromEnv(a.getenv)
			if err != nil {
				return err
			}
			cfg := server.Config{
				Addr: addr, DataDir: dataDir, AdminTokenFile: a.getenv("LOCKWELL_ADMIN_TOKEN_FILE"), History: history,
				WebhookURL: a.getenv("LOCKWELL_WEBHOOK_URL"), WebhookSecretFile: a.getenv("LOCKWELL_WEBHOOK_SECRET_FILE"),
			}
			if storeURL := a.getenv("LOCKWELL_STORE"); storeURL != "" {
				dep := deployconfig.Config{
					StoreURL:   storeURL,
					KeyURL:     a.getenv("LOCKWELL_KEY"),
					ValuesURL:  a.getenv("LOCKWELL_VALUES"),
					Deployment: a.getenv("LOCKWELL_DEPLOYMENT"),
					Auth:       deployconfig.AuthBearer,
				}
				if err := dep.Check(); err != nil {
					return err
				}
				cfg.Deployment = &dep
			}
			cfg.OpenMigrationJobs = func(ctx context.Context, storeURL string) (httpapi.MigrationJobs, func() error, error) {
				jobsURL := a.getenv("LOCKWELL_MIGRATE_JOBS")
				if jobsURL == "" {
					jobsURL = migrate.JobStoreURLFromEnv(storeURL)
				}
				if jobsURL == "" {
					return nil, nil, nil // a DynamoDB store without LOCKWELL_MIGRATE_JOBS: no jobs page
				}
				js, err := migrate.OpenJobStore(ctx, jobsURL)
				if err != nil {
					return nil, nil, err
				}
				return jobsapi.Jobs{Store: js}, js.Close, nil
			}
			cfg.Logger = slog.New(slog.NewTextHandler(a.stderr, nil))
			cfg.MetricsAddr = metricsAddr
			cfg.Ready = func(listening string) {
				if cfg.AdminTokenFile != "" {
					fmt.Fprintf(a.stdout, "Lockwell on http://%s (stop with Ctrl-C); the admin token is the one in %s\n", listening, cfg.AdminTokenFile)
					return
				}
				token := filepath.Join(dataDir, server.AdminTokenFile)
				fmt.Fprintf(a.stdout, "Lockwell on http://%s (stop with Ctrl-C). Log in from another terminal with:\n  lockwell login --url http://%s --token-stdin < %s\n", listening, listening, token)
			}
			// Run's errors are whole sentences (an address in use says how
			// to choose another): print them as they are.
			return server.Run(ctx, cfg)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", server.DefaultAddr, "address to listen on (env LOCKWELL_ADDR)")
	cmd.Flags().StringVar(&dataDir, "data-dir", server.DefaultDataDir, "directory of the store key, database and admin token (env LOCKWELL_DATA_DIR)")
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "address to serve Prometheus metrics on at /metrics; off when empty (env LOCKWELL_METRICS_ADDR)")
	return cmd
}
