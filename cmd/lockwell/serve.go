package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/server"
)

// serveCommand is "lockwell serve": the local server (issue 2), the same one
// "make dev" starts. It stops cleanly on SIGINT and SIGTERM.
func serveCommand(a *app) *cobra.Command {
	var addr, dataDir string
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--data-dir DIR]",
		Short: "Run a local Lockwell server over an embedded SQLite store",
		Long: `Run the Lockwell API on HOST:PORT (default 127.0.0.1:8080, or LOCKWELL_ADDR)
with an encrypted SQLite store in DIR (default ./.lockwell, or
LOCKWELL_DATA_DIR). On first start it creates the store key and an admin API
token in DIR (both mode 0600) and logs where the token file is. Once it
listens it prints the login command:
"lockwell login --url http://HOST:PORT --token-stdin < DIR/admin.token".
An address in use is an error that names a free port to use instead.`,
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
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			logger := slog.New(slog.NewTextHandler(a.stderr, nil))
			ready := func(listening string) {
				token := filepath.Join(dataDir, server.AdminTokenFile)
				fmt.Fprintf(a.stdout, "Lockwell on http://%s (stop with Ctrl-C). Log in from another terminal with:\n  lockwell login --url http://%s --token-stdin < %s\n", listening, listening, token)
			}
			// Run's errors are whole sentences (an address in use says how
			// to choose another): print them as they are.
			return server.Run(ctx, server.Config{Addr: addr, DataDir: dataDir, Logger: logger, Ready: ready})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", server.DefaultAddr, "address to listen on (env LOCKWELL_ADDR)")
	cmd.Flags().StringVar(&dataDir, "data-dir", server.DefaultDataDir, "directory of the store key, database and admin token (env LOCKWELL_DATA_DIR)")
	return cmd
}
