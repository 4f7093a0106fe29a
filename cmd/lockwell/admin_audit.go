//go:build !nocloud

package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/audit"
	deployconfig "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/server"
)

// adminAuditCommand is "lockwell admin audit verify".
func adminAuditCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check the audit log's chain"}
	var dataDir string
	var allowTrimmed bool
	verify := &cobra.Command{
		Use:   "verify [--data-dir DIR]",
		Short: "Walk the audit chain and report the first broken link (exit status 1)",
		Long: `Verify reads the whole audit log of the deployment (LOCKWELL_STORE, LOCKWELL_KEY
and LOCKWELL_AUDIT_KEY, as the functions read them) or, with --data-dir, of the
local server's data directory, and checks every record's MAC against the one
before it. It names the first record that was changed, removed, inserted or
reordered. A removed tail shows only against an external copy: compare the last
sequence it prints with the JSON lines of LOCKWELL_AUDIT_FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if dataDir != "" {
				abs, err := filepath.Abs(dataDir) // the store URL needs an absolute path
				if err != nil {
					return err
				}
				dataDir = abs
			}
			l, closer, err := a.openAuditLog(ctx, dataDir)
			if err != nil {
				return err
			}
			defer closer()
			rep, err := l.Verify(ctx, allowTrimmed)
			if err != nil {
				return err
			}
			if rep.Broken != nil {
				b := rep.Broken
				return errcode.New(errcode.FailedPrecondition, "audit chain broken at record %d (%s); the last intact record is %d", b.Seq, b.Reason, b.Prev)
			}
			if rep.Checked == 0 {
				fmt.Fprintln(a.stdout, "audit log is empty")
				return nil
			}
			fmt.Fprintf(a.stdout, "audit chain intact: %d records, %d to %d\n", rep.Checked, rep.First, rep.Last)
			return nil
		},
	}
	verify.Flags().StringVar(&dataDir, "data-dir", "", "the local server's data directory (default: the deployment from LOCKWELL_STORE)")
	verify.Flags().BoolVar(&allowTrimmed, "allow-trimmed", false, "accept a chain whose oldest records expired (DynamoDB TTL)")
	cmd.AddCommand(verify)
	return cmd
}

// openAuditLog opens the audit log of the data directory dir, or of the
// deployment the environment names.
func (a *app) openAuditLog(ctx context.Context, dir string) (*audit.Log, func() error, error) {
	if dir != "" {
		l, b, err := server.OpenAuditLog(ctx, dir)
		if err != nil {
			return nil, nil, err
		}
		if l == nil {
			b.Close()
			return nil, nil, errcode.New(errcode.NotFound, "this store keeps no audit log")
		}
		return l, b.Close, nil
	}
	c := deployconfig.Config{
		StoreURL: a.getenv("LOCKWELL_STORE"), ValuesURL: a.getenv("LOCKWELL_VALUES"),
		Deployment: a.getenv("LOCKWELL_DEPLOYMENT"), KeyURL: a.getenv("LOCKWELL_KEY"),
		AuditKeyURL: a.getenv("LOCKWELL_AUDIT_KEY"),
	}
	d, err := c.Open(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	l := d.Store.AuditLog()
	if l == nil {
		d.Close()
		return nil, nil, errcode.New(errcode.NotFound, "this deployment keeps no audit log (see LOCKWELL_AUDIT_KEY)")
	}
	return l, d.Close, nil
}
