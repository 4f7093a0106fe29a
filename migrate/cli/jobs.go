package cli

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/migrate"
	_ "github.com/lockwell/lockwell/migrate/dynamojobs" // dynamodb://
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/pubsubqueue"
	_ "github.com/lockwell/lockwell/migrate/sqljobs" // sqlite://, postgres://, mysql://
	"github.com/lockwell/lockwell/migrate/sqsqueue"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// queueFlags name the job store and the queue.
type queueFlags struct {
	jobs, queueURL string
}

func (f *queueFlags) bind(cmd *cobra.Command, queue bool) {
	cmd.Flags().StringVar(&f.jobs, "jobs", "", "job store URL (default $LOCKWELL_MIGRATE_JOBS): the deployment's SQL database")
	if queue {
		cmd.Flags().StringVar(&f.queueURL, "queue-url", "", "the migrator's SQS queue URL, or pubsub://PROJECT/TOPIC on Google Cloud (default $LOCKWELL_MIGRATE_QUEUE_URL)")
	}
}

func (f *queueFlags) openJobs(ctx context.Context, e *env) (migrate.JobStore, error) {
	u := first(f.jobs, e.getenv("LOCKWELL_MIGRATE_JOBS"))
	if u == "" {
		return nil, errNoJobs
	}
	return migrate.OpenJobStore(ctx, u)
}

func (f *queueFlags) openQueue(ctx context.Context, e *env) (migrate.Queue, error) {
	u := first(f.queueURL, e.getenv("LOCKWELL_MIGRATE_QUEUE_URL"))
	if u == "" {
		return nil, errcode.New(errcode.InvalidArgument, "no queue: pass --queue-url or set LOCKWELL_MIGRATE_QUEUE_URL")
	}
	if strings.HasPrefix(u, "pubsub://") { // the Google Cloud deployment's topic
		return pubsubqueue.Open(ctx, u)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "cannot load the AWS configuration")
	}
	if cfg.Region == "" {
		cfg.Region = regionOfQueue(u)
	}
	if cfg.Region == "" {
		return nil, errcode.New(errcode.InvalidArgument, "set AWS_REGION for the queue")
	}
	return sqsqueue.Queue{Client: sqs.NewFromConfig(cfg), URL: u}, nil
}

// regionOfQueue reads R from https://sqs.R.amazonaws.com/ACCOUNT/NAME.
func regionOfQueue(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) >= 4 && parts[0] == "sqs" {
		return parts[1]
	}
	return ""
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// enqueue sends one message per name, in batches, drawing progress.
func enqueue(ctx context.Context, q migrate.Queue, job *migrate.Job, names []string, bar *progress) error {
	const batch = 100
	for start := 0; start < len(names); start += batch {
		var msgs []migrate.Message
		for _, n := range names[start:min(start+batch, len(names))] {
			msgs = append(msgs, migrate.Message{Job: job.ID, Source: job.Source, Name: n})
		}
		if err := q.Send(ctx, msgs); err != nil {
			return err
		}
		bar.set(min(start+batch, len(names)), len(names))
	}
	return nil
}

func startCommand(e *env) *cobra.Command {
	var sf sourceFlags
	var of optionFlags
	var qf queueFlags
	var owner string
	cmd := &cobra.Command{
		Use:   "start --source SRC [--owner PRINCIPAL] [--jobs URL] [--queue-url URL] [options] [NAME ...]",
		Short: "Create a migration job and enqueue one message per entry; prints the job id",
		RunE: func(cmd *cobra.Command, names []string) error {
			ctx := cmd.Context()
			opts, err := of.options()
			if err != nil {
				return err
			}
			if owner, err = e.owner(ctx, owner); err != nil {
				return err
			}
			src, sourceURL, err := sf.open(ctx, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer src.Close()
			listed, err := src.List(ctx)
			if err != nil {
				return err
			}
			items, err := migrate.Select(listed, names)
			if err != nil {
				return err
			}
			jobs, err := qf.openJobs(ctx, e)
			if err != nil {
				return err
			}
			defer jobs.Close()
			q, err := qf.openQueue(ctx, e)
			if err != nil {
				return err
			}
			job := migrate.Job{ID: secret.NewID(), Created: secret.Now(), Owner: owner, Source: sourceURL, Options: opts}
			entries, pending := jobEntries(items)
			if err := jobs.CreateJob(ctx, job, entries); err != nil {
				return err
			}
			bar := newProgress(cmd.ErrOrStderr(), "enqueueing")
			err = enqueue(ctx, q, &job, pending, bar)
			bar.finish()
			if err != nil {
				return fmt.Errorf("job %s created, but enqueueing stopped (run lockwell migrate retry %s after fixing it): %w", job.ID, job.ID, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), job.ID)
			fmt.Fprintf(cmd.ErrOrStderr(), "%d entries enqueued, %d recorded as skipped or not migratable\n", len(pending), len(entries)-len(pending))
			return nil
		},
	}
	sf.bind(cmd)
	of.bind(cmd, true)
	qf.bind(cmd, true)
	cmd.Flags().StringVar(&owner, "owner", "", "principal that owns the secrets the job creates (default $LOCKWELL_MIGRATE_OWNER, then you, as the server's whoami says)")
	return cmd
}

// owner returns the principal a job's secrets belong to: flag, then
// LOCKWELL_MIGRATE_OWNER, then the caller as the server knows it (whoami),
// the same principal that "migrate run" creates secrets as.
func (e *env) owner(ctx context.Context, flag string) (string, error) {
	if o := first(flag, e.getenv("LOCKWELL_MIGRATE_OWNER")); o != "" {
		return o, nil
	}
	c, err := e.client(ctx)
	if err == nil {
		var p identity.Principal
		if p, err = c.WhoAmI(ctx); err == nil {
			return p.Name, nil
		}
	}
	return "", errcode.New(errcode.Of(err), "no --owner or LOCKWELL_MIGRATE_OWNER, and the owner cannot default to you: %s; pass --owner PRINCIPAL", errcode.Message(err))
}

// jobEntries returns the job's entries (skipped and not migratable ones
// already decided) and the names to enqueue.
func jobEntries(items []legacy.Item) ([]migrate.EntryStatus, []string) {
	var entries []migrate.EntryStatus
	var pending []string
	seen := map[string]bool{}
	for _, it := range items {
		ref := it.Ref()
		if seen[ref] {
			continue
		}
		seen[ref] = true
		st := migrate.EntryStatus{Name: ref, Outcome: migrate.Pending, Reason: it.Reason}
		switch it.Status {
		case legacy.Skipped:
			st.Outcome = migrate.Skipped
		case legacy.NotMigratable:
			st.Outcome = migrate.NotMigratable
		default:
			pending = append(pending, ref)
		}
		entries = append(entries, st)
	}
	return entries, pending
}

func statusCommand(e *env) *cobra.Command {
	var qf queueFlags
	var output string
	cmd := &cobra.Command{
		Use:   "status JOB",
		Short: "Show a job's counts and each failure with its reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			jobs, err := qf.openJobs(ctx, e)
			if err != nil {
				return err
			}
			defer jobs.Close()
			job, err := jobs.Job(ctx, args[0])
			if err != nil {
				return err
			}
			counts, err := jobs.Counts(ctx, job.ID)
			if err != nil {
				return err
			}
			failed, err := jobs.Entries(ctx, job.ID, migrate.Failed)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				return writeJSON(out, map[string]any{"job": job, "counts": counts, "failed": failed})
			}
			fmt.Fprintf(out, "job %s from %s, owner %s, created %s\n", job.ID, job.Source, job.Owner, job.Created.Format("2006-01-02 15:04:05Z07:00"))
			fmt.Fprintln(out, summaryLine(counts))
			if len(failed) > 0 {
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "FAILED\tATTEMPTS\tREASON")
				for _, f := range failed {
					fmt.Fprintf(tw, "%s\t%d\t%s\n", f.Name, f.Attempts, f.Reason)
				}
				tw.Flush()
			}
			return nil
		},
	}
	qf.bind(cmd, false)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func retryCommand(e *env) *cobra.Command {
	var qf queueFlags
	cmd := &cobra.Command{
		Use:   "retry JOB",
		Short: "Re-enqueue a job's failed entries",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			jobs, err := qf.openJobs(ctx, e)
			if err != nil {
				return err
			}
			defer jobs.Close()
			job, err := jobs.Job(ctx, args[0])
			if err != nil {
				return err
			}
			q, err := qf.openQueue(ctx, e)
			if err != nil {
				return err
			}
			// Pending entries are re-sent too: a crash of an earlier start or
			// retry may have left them unsent, and duplicates are no-ops.
			names, err := jobs.ResetFailed(ctx, job.ID)
			if err != nil {
				return err
			}
			pending, err := jobs.Entries(ctx, job.ID, migrate.Pending)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, n := range names {
				seen[n] = true
			}
			for _, p := range pending {
				if !seen[p.Name] {
					names = append(names, p.Name)
				}
			}
			bar := newProgress(cmd.ErrOrStderr(), "enqueueing")
			err = enqueue(ctx, q, job, names, bar)
			bar.finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d entries re-enqueued for job %s\n", len(names), job.ID)
			return nil
		},
	}
	qf.bind(cmd, true)
	return cmd
}
