//go:build !nocloud

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	deployconfig "github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/valuestore"

	// Admin commands open the deployment's storage directly, so the CLI
	// links every backend, key service and value store (unless built with
	// -tags nocloud, see cloud.go).
	_ "github.com/lockwell/lockwell/shared/dynamostore"
	_ "github.com/lockwell/lockwell/shared/envelope/awskms"
	_ "github.com/lockwell/lockwell/shared/sqlstore"
	_ "github.com/lockwell/lockwell/shared/valuestore/awssecretsmanager"
	_ "github.com/lockwell/lockwell/shared/valuestore/azurekeyvault"
	_ "github.com/lockwell/lockwell/shared/valuestore/example"
	_ "github.com/lockwell/lockwell/shared/valuestore/gcpsecretmanager"
	_ "github.com/lockwell/lockwell/shared/valuestore/hashivault"
)

// adminCommand builds "lockwell admin": maintenance of a deployment's
// storage. Unlike the other commands it does not talk to the API: it opens
// the storage named by the deployment's own LOCKWELL_STORE, LOCKWELL_VALUES,
// LOCKWELL_DEPLOYMENT and LOCKWELL_KEY variables, with the operator's cloud
// credentials.
func adminCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Maintain a deployment's storage: purge expired deletes, sweep orphans, back up and restore values",
		Long: `Admin commands work on the deployment's storage directly, configured by the same
variables as the deployed functions: LOCKWELL_STORE, LOCKWELL_VALUES,
LOCKWELL_DEPLOYMENT and LOCKWELL_KEY. Credentials come from the environment
and the cloud SDKs' credential chains.`,
	}
	cmd.AddCommand(adminPurgeCommand(a), adminSweepCommand(a), adminCopyCommand(a, "backup"), adminCopyCommand(a, "restore"), adminAuditCommand(a))
	return cmd
}

// openDeployment opens the storage the environment names; it must include an
// external value store.
func (a *app) openDeployment(ctx context.Context) (*deployconfig.Deployment, error) {
	c := deployconfig.Config{
		StoreURL: a.getenv("LOCKWELL_STORE"), ValuesURL: a.getenv("LOCKWELL_VALUES"),
		Deployment: a.getenv("LOCKWELL_DEPLOYMENT"), KeyURL: a.getenv("LOCKWELL_KEY"),
	}
	if c.ValuesURL == "" {
		return nil, errcode.New(errcode.InvalidArgument, "LOCKWELL_VALUES is not set: admin commands work on a deployment whose values live in an external value store")
	}
	return c.Open(ctx, nil)
}

func adminPurgeCommand(a *app) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "purge [--data-dir DIR]",
		Short: "Destroy the deleted secrets whose recovery window has ended",
		Long: `Purge destroys, with their history, the deleted secrets of every owner whose
recovery window (LOCKWELL_RECOVERY_DAYS when they were deleted) has ended,
and prints how many. Secrets still in their window are left alone. The
store also purges after writes, and deployments run it on a schedule; this
command does it now. It needs LOCKWELL_STORE and LOCKWELL_KEY (or
LOCKWELL_VALUES and LOCKWELL_DEPLOYMENT), as the deployment has them, or,
with --data-dir, the local server's data directory (lockwell serve, make dev).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var st *store.Store
			var closeStore func() error
			switch {
			case dataDir != "":
				abs, err := filepath.Abs(dataDir)
				if err != nil {
					return err
				}
				if st, closeStore, err = server.OpenStore(ctx, abs); err != nil {
					return err
				}
			case a.getenv("LOCKWELL_STORE") == "":
				return errcode.New(errcode.InvalidArgument, "LOCKWELL_STORE is not set: name the deployment's store (with LOCKWELL_KEY), or give --data-dir DIR for the local server's data directory")
			default:
				c := deployconfig.Config{
					StoreURL: a.getenv("LOCKWELL_STORE"), ValuesURL: a.getenv("LOCKWELL_VALUES"),
					Deployment: a.getenv("LOCKWELL_DEPLOYMENT"), KeyURL: a.getenv("LOCKWELL_KEY"),
				}
				d, err := c.Open(ctx, nil)
				if err != nil {
					return err
				}
				st, closeStore = d.Store, d.Close
			}
			defer closeStore()
			n, err := st.PurgeExpired(ctx)
			fmt.Fprintf(a.stdout, "purged %d expired deleted secrets\n", n)
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the local server's data directory (default: the deployment from LOCKWELL_STORE)")
	return cmd
}

func adminSweepCommand(a *app) *cobra.Command {
	var dryRun bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Remove value entries no secret refers to (left by a crash between two writes)",
		Long: `Sweep lists the value store's entries tagged with this deployment, and removes
those that no index entry refers to, after checking them again once the grace
period has passed (a create in flight writes its values first). Entries of
other deployments and of other tools are never touched.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := a.openDeployment(cmd.Context())
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := valuestore.Sweep(cmd.Context(), d.Index, d.Values, valuestore.SweepOptions{
				Grace: grace, DryRun: dryRun,
				Found: func(id string) { fmt.Fprintf(a.stdout, "orphan %s\n", id) },
			})
			verb := "removed"
			if dryRun {
				verb = "found"
			}
			fmt.Fprintf(a.stdout, "%s %d orphaned value entries in %s\n", verb, n, d.Values.Name())
			return err
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list orphans without removing them")
	cmd.Flags().DurationVar(&grace, "grace", time.Minute, "how long an entry must stay orphaned before it is removed")
	return cmd
}

// adminCopyCommand builds "admin backup --to URL" and "admin restore --from URL".
func adminCopyCommand(a *app, verb string) *cobra.Command {
	var other, manifest string
	var force bool
	flag, short := "to", "Copy every secret's values to another value store, verified and resumable"
	if verb == "restore" {
		flag, short = "from", "Copy values back from a backup made with 'admin backup', verified"
	}
	cmd := &cobra.Command{
		Use:   verb + " --" + flag + " URL --manifest FILE",
		Short: short,
		Long: short + `.

The manifest records, for each secret, the index version copied and the
version in the backup store (never values). A backup run again resumes:
secrets already copied at their current version are skipped. A restore
reads the manifest, and skips secrets changed since the backup unless
--force is given; each restored secret gets a new version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if other == "" || manifest == "" {
				return errcode.New(errcode.InvalidArgument, "--%s and --manifest are required", flag)
			}
			ctx := cmd.Context()
			d, err := a.openDeployment(ctx)
			if err != nil {
				return err
			}
			defer d.Close()
			second, err := valuestore.Open(ctx, other, valuestore.Options{Deployment: d.Deployment})
			if err != nil {
				return err
			}
			defer second.Close()
			opts := valuestore.CopyOptions{Manifest: manifest, Force: force, Progress: func(id, outcome string) {
				fmt.Fprintf(a.stderr, "%s %s\n", id, outcome)
			}}
			var rep valuestore.CopyReport
			if verb == "backup" {
				rep, err = valuestore.Backup(ctx, d.Index, d.Values, second, opts)
			} else {
				rep, err = valuestore.Restore(ctx, d.Index, d.Values, second, opts)
			}
			fmt.Fprintf(a.stdout, "%s: %d copied, %d skipped, %d failed\n", verb, rep.Copied, rep.Skipped, len(rep.Failed))
			for _, f := range rep.Failed {
				fmt.Fprintf(a.stdout, "failed %s: %s\n", f.ID, f.Reason)
			}
			if err == nil && len(rep.Failed) > 0 {
				err = errcode.New(errcode.Internal, "%d secrets were not copied", len(rep.Failed))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&other, flag, "", "value store URL of the backup, e.g. awssecretsmanager://?region=eu-west-1&prefix=lockwell-backup")
	cmd.Flags().StringVar(&manifest, "manifest", "", "manifest file (created with mode 0600)")
	if verb == "restore" {
		cmd.Flags().BoolVar(&force, "force", false, "also restore secrets that changed since the backup")
	}
	return cmd
}
