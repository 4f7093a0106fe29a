// Package cli is the `lockwell migrate` command group: plan, run, start,
// status and retry, for moving ZenML legacy secrets-manager entries into
// Lockwell. The integrator adds Command(...) to the root command.
//
//   - plan lists what would move (legacy name, scope, schema, keys, target
//     name, conflicts) without values and without writing.
//   - run migrates in process, through the HTTP API as the calling principal,
//     with a progress bar and a summary; it exits non-zero when an entry
//     failed.
//   - start creates a job and enqueues one message per entry on the
//     migrator's SQS queue (or Pub/Sub topic); the job's secrets belong to
//     --owner, else LOCKWELL_MIGRATE_OWNER, else the caller as the server's
//     whoami names it. status and retry read and re-enqueue a job.
//
// Through the API (ClientTarget) the migrated secrets record their origin
// and an overwrite replaces values exactly, as in process (StoreTarget), so
// a re-run after a legacy entry changed updates its earlier copy.
//
// Sources of ZenML's centralized store (zenml-server://, zenml-sql://, and
// the centralized entries of the cloud sources) keep each secret's
// visibility: --owner-map and --default-owner say who owns the private
// ones, and plan prints them in their own table (name, id, visibility,
// ZenML user, owner, key count) with a note on {{name.key}} references.
//
// A source is a URL (zenml-aws://?region=R&scope=global, ...; see package
// migrate/legacy) or a ZenML component given as --component-flavor,
// --component-config (its configuration JSON, plain or base64, or @FILE) and
// --component-id. Credentials always come from the environment.
package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy"
	_ "github.com/lockwell/lockwell/migrate/legacy/all"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

// Option configures Command.
type Option func(*env)

// WithClient makes the commands use the root command's API client (server
// URL, credentials and flags as the rest of the CLI resolves them). Without
// it they use LOCKWELL_URL and LOCKWELL_TOKEN.
func WithClient(newClient func(ctx context.Context) (*client.Client, error)) Option {
	return func(e *env) { e.newClient = newClient }
}

// WithGetenv replaces os.Getenv (tests).
func WithGetenv(getenv func(string) string) Option {
	return func(e *env) { e.getenv = getenv }
}

type env struct {
	newClient func(ctx context.Context) (*client.Client, error)
	getenv    func(string) string
}

func (e *env) client(ctx context.Context) (*client.Client, error) {
	if e.newClient != nil {
		return e.newClient(ctx)
	}
	url, token := e.getenv("LOCKWELL_URL"), e.getenv("LOCKWELL_TOKEN")
	if url == "" || token == "" {
		return nil, errcode.New(errcode.InvalidArgument, "set LOCKWELL_URL and LOCKWELL_TOKEN (or run through lockwell, which passes its login)")
	}
	return client.New(url, client.BearerToken(token), client.WithUserAgent("lockwell-migrate"))
}

// Command returns the `migrate` command group.
func Command(opts ...Option) *cobra.Command {
	e := &env{getenv: os.Getenv}
	for _, o := range opts {
		o(e)
	}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Move secrets from ZenML's legacy secrets managers and centralized store into Lockwell",
		Long: `Move secrets from ZenML's legacy secrets managers (local, aws, gcp, azure,
vault; github entries are listed as not migratable) into Lockwell.

Sources:
  zenml-local:///PATH/secrets.yaml
  zenml-aws://?region=R            (AWS_ENDPOINT_URL_SECRETS_MANAGER overrides the endpoint)
  zenml-gcp://PROJECT              (LOCKWELL_GCP_SECRETMANAGER_ENDPOINT for a local server)
  zenml-azure://VAULT_NAME         (LOCKWELL_AZURE_KEYVAULT_ENDPOINT, _CA_FILE for a local vault)
  zenml-vault://HOST:PORT/MOUNT    (VAULT_TOKEN; VAULT_ADDR overrides the address)
  zenml-github://OWNER/REPO
ZenML's centralized secrets store (0.35+):
  zenml-server://HOST[:PORT]       (ZENML_STORE_API_KEY, or ZENML_STORE_USERNAME/_PASSWORD; ?tls=false)
  zenml-sql:///PATH/zenml.db       (ZENML_SECRETS_STORE_ENCRYPTION_KEY)
  zenml-sql://HOST:3306/DB         (MYSQL_USER, MYSQL_PWD)
  its zenml/<uuid> entries in the aws, gcp, azure and vault sources above
  Private secrets stay private to the principal --owner-map maps their user to.
Scoped flavors take scope=none|global|component|namespace (default component,
as ZenML), component_uuid=UUID and namespace=NS. Or give the component as
ZenML stored it: --component-flavor, --component-config, --component-id.`,
	}
	cmd.AddCommand(planCommand(e), runCommand(e), startCommand(e), statusCommand(e), retryCommand(e))
	return cmd
}

// sourceFlags name a legacy source.
type sourceFlags struct {
	url, flavor, config, componentID string
	allowMissing                     bool
}

func (f *sourceFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.url, "source", "", "legacy source URL, e.g. zenml-aws://?region=eu-west-1&scope=global")
	fl.StringVar(&f.flavor, "component-flavor", "", "the legacy component's flavor (instead of --source)")
	fl.StringVar(&f.config, "component-config", "", "the component's configuration JSON (plain or base64, as ZenML stored it), or @FILE")
	fl.StringVar(&f.componentID, "component-id", "", "the component's id (needed for component scope and the local flavor's default file)")
	fl.BoolVar(&f.allowMissing, "allow-missing", false, "treat a local secrets file that does not exist as empty instead of failing")
}

// resolve returns the source URL. A configuration given inline that holds a
// credential (the vault flavor's token) gets a warning on warn: it is in the
// process list and the shell history now.
func (f *sourceFlags) resolve(warn io.Writer) (string, error) {
	switch {
	case f.url != "" && f.flavor != "":
		return "", errcode.New(errcode.InvalidArgument, "give --source or --component-flavor, not both")
	case f.url != "":
		return f.url, nil
	case f.flavor != "":
		cfg := []byte(f.config)
		if path, ok := strings.CutPrefix(f.config, "@"); ok {
			b, err := os.ReadFile(path)
			if err != nil {
				return "", errcode.New(errcode.InvalidArgument, "cannot read %s", path)
			}
			cfg = b
		} else if holdsCredential(cfg) {
			fmt.Fprintln(warn, "lockwell: warning: --component-config holds a token, which is now in the process list and your shell history; pass the configuration as @FILE (the token itself is not used: credentials come from the environment)")
		}
		if len(cfg) == 0 {
			cfg = []byte("{}")
		}
		return legacy.FromComponent(f.flavor, cfg, f.componentID)
	}
	return "", errcode.New(errcode.InvalidArgument, "give the legacy source: --source URL, or --component-flavor with --component-config")
}

// holdsCredential reports whether a component configuration (JSON, or its
// base64 as ZenML stores it) has a non-empty credential field: ZenML's vault
// secrets manager keeps its token there.
func holdsCredential(configuration []byte) bool {
	data := bytes.TrimSpace(configuration)
	if len(data) > 0 && data[0] != '{' {
		if dec, err := base64.StdEncoding.DecodeString(string(data)); err == nil {
			data = dec
		}
	}
	var cfg map[string]any
	if json.Unmarshal(data, &cfg) != nil {
		return false
	}
	tok, _ := cfg["token"].(string)
	return tok != ""
}

// open resolves and opens the source and says on warn what it reads: the
// local flavor's file (which must exist unless --allow-missing: ZenML reads
// a missing file as an empty manager, which hides a wrong path), or the
// source URL, which never holds credentials.
func (f *sourceFlags) open(ctx context.Context, warn io.Writer) (legacy.Source, string, error) {
	u, err := f.resolve(warn)
	if err != nil {
		return nil, "", err
	}
	if pu, perr := url.Parse(u); perr == nil && pu.Scheme == "zenml-local" && pu.Path != "" {
		_, serr := os.Stat(pu.Path)
		switch {
		case os.IsNotExist(serr) && !f.allowMissing:
			return nil, "", errcode.New(errcode.NotFound, "the local secrets file %s does not exist; check the path (or ZENML_CONFIG_PATH, ZENML_LOCAL_STORES_PATH and --component-id), or pass --allow-missing to read it as empty", pu.Path)
		case os.IsNotExist(serr):
			fmt.Fprintf(warn, "Reading the local secrets file %s: it does not exist, so it is read as empty (--allow-missing).\n", pu.Path)
		default:
			fmt.Fprintf(warn, "Reading the local secrets file %s.\n", pu.Path)
		}
	} else {
		fmt.Fprintf(warn, "Reading %s.\n", u)
	}
	src, err := legacy.Open(ctx, u)
	return src, u, err
}

// optionFlags are a migration's options.
type optionFlags struct {
	private      bool
	onConflict   string
	deleteSource bool
	ownerMap     []string
	defaultOwner string
}

func (f *optionFlags) bind(cmd *cobra.Command, conflicts bool) {
	fl := cmd.Flags()
	fl.BoolVar(&f.private, "private", false, "create private secrets of yours instead of public ones (legacy sources; ZenML's centralized store keeps each secret's visibility)")
	fl.StringArrayVar(&f.ownerMap, "owner-map", nil, "ZENML_USER=PRINCIPAL (repeatable): who owns a ZenML user's private secrets (user by name or id)")
	fl.StringVar(&f.defaultOwner, "default-owner", "", "owner of the private secrets of unmapped ZenML users (default: you, or the job's --owner)")
	if conflicts {
		fl.StringVar(&f.onConflict, "on-conflict", "fail", "when a secret of that name has different values: fail, skip, overwrite or rename")
		fl.BoolVar(&f.deleteSource, "delete-source", false, "delete each legacy entry after its copy was read back and compared")
	}
}

func (f *optionFlags) options() (migrate.Options, error) {
	p, err := migrate.ParseConflictPolicy(f.onConflict)
	if err != nil {
		return migrate.Options{}, err
	}
	owners, err := migrate.ParseOwnerMap(f.ownerMap)
	if err != nil {
		return migrate.Options{}, err
	}
	if f.defaultOwner != "" {
		if err := identity.ValidateName(f.defaultOwner); err != nil {
			return migrate.Options{}, errcode.New(errcode.InvalidArgument, "--default-owner: %s", errcode.Message(err))
		}
	}
	return migrate.Options{Private: f.private, OnConflict: p, DeleteSource: f.deleteSource, OwnerMap: owners, DefaultOwner: f.defaultOwner}, nil
}

// openInProcess sets up what plan and run both work on, the same way, so
// that a plan shows what a run would do: the options, the legacy source
// (which the caller closes) and the Lockwell server as the calling
// principal. Nothing is left open on error.
func (e *env) openInProcess(ctx context.Context, sf *sourceFlags, of *optionFlags, warn io.Writer) (legacy.Source, ClientTarget, migrate.Options, error) {
	opts, err := of.options()
	if err != nil {
		return nil, ClientTarget{}, opts, err
	}
	src, _, err := sf.open(ctx, warn)
	if err != nil {
		return nil, ClientTarget{}, opts, err
	}
	c, err := e.client(ctx)
	if err != nil {
		src.Close()
		return nil, ClientTarget{}, opts, err
	}
	return src, ClientTarget{Client: c}, opts, nil
}

func planCommand(e *env) *cobra.Command {
	var sf sourceFlags
	var of optionFlags
	var output string
	cmd := &cobra.Command{
		Use:   "plan --source SRC [NAME ...]",
		Short: "Show what would move, without values and without writing",
		Long: `Show, entry by entry, what "migrate run" with the same options would do and
report, in the same words (OUTCOME migrated, skipped, failed or
not_migratable, and the REASON run would give), and a summary line. Nothing
is written and no value is printed. It says which source it reads; a local
secrets file that does not exist is an error unless --allow-missing. It exits
non-zero when an entry would fail.`,
		RunE: func(cmd *cobra.Command, names []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			src, target, opts, err := e.openInProcess(ctx, &sf, &of, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer src.Close()
			items, err := migrate.Plan(ctx, src, target, opts, names)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			counts := migrate.Counts{}
			for _, it := range items {
				counts[it.Outcome]++
			}
			switch {
			case output == "json":
				if err := writeJSON(out, items); err != nil {
					return err
				}
			case centralized(items):
				if err := printCentralizedPlan(out, items); err != nil {
					return err
				}
				fmt.Fprintln(out, "If run now: "+summaryLine(counts))
			default:
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "LEGACY NAME\tSCOPE\tSCHEMA\tKEYS\tTARGET\tOUTCOME\tACTION\tREASON")
				for _, it := range items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.Name, it.Scope, dash(it.Schema), dash(strings.Join(it.Keys, ",")), dash(it.Target), it.Outcome, it.Action, dash(it.Reason))
				}
				tw.Flush()
				fmt.Fprintln(out, "If run now: "+summaryLine(counts))
			}
			if n := counts[migrate.Failed]; n > 0 {
				return fmt.Errorf("%d of %d entries would fail", n, len(items)) // as run's "failed"
			}
			return nil
		},
	}
	sf.bind(cmd)
	of.bind(cmd, true)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func runCommand(e *env) *cobra.Command {
	var sf sourceFlags
	var of optionFlags
	var output string
	var concurrency int
	cmd := &cobra.Command{
		Use:   "run --source SRC [--private] [--on-conflict fail|skip|overwrite|rename] [--delete-source] [NAME ...]",
		Short: "Migrate in process, without a queue, as the calling principal",
		RunE: func(cmd *cobra.Command, names []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			ctx := cmd.Context()
			src, target, opts, err := e.openInProcess(ctx, &sf, &of, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer src.Close()
			bar := newProgress(cmd.ErrOrStderr(), "migrating")
			results, err := migrate.Run(ctx, src, target, opts, names, concurrency, func(done, total int, _ migrate.Result) { bar.set(done, total) })
			bar.finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				if err := writeJSON(out, results); err != nil {
					return err
				}
			} else {
				printResults(out, results)
			}
			if n := migrate.Summarize(results)[migrate.Failed]; n > 0 {
				return fmt.Errorf("%d of %d entries failed", n, len(results))
			}
			return nil
		},
	}
	sf.bind(cmd)
	of.bind(cmd, true)
	cmd.Flags().IntVar(&concurrency, "concurrency", 4, "entries migrated at once")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func centralized(items []migrate.PlanItem) bool {
	for _, it := range items {
		if it.ID != "" {
			return true
		}
	}
	return false
}

// printCentralizedPlan shows a plan of ZenML centralized-store entries:
// name, id, visibility, ZenML user, Lockwell owner and key count (never
// values), and says which stack-configuration references keep working.
func printCentralizedPlan(out io.Writer, items []migrate.PlanItem) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tZENML ID\tVISIBILITY\tZENML USER\tOWNER\tKEYS\tTARGET\tOUTCOME\tACTION\tREASON")
	var renamed []string
	for _, it := range items {
		vis, owner := "public", "(you)"
		if it.Private {
			vis = "private"
			if it.Owner != "" {
				owner = it.Owner
			}
		}
		if it.ID == "" { // a legacy entry next to centralized ones
			vis, owner = "-", "-"
		}
		if it.Target != "" && it.Target != it.Name {
			renamed = append(renamed, it.Name)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", it.Name, dash(it.ID), vis, dash(it.ZenMLUser), owner, len(it.Keys), dash(it.Target), it.Outcome, it.Action, dash(it.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out, "References: {{name.key}} in ZenML stack configurations keep working unchanged: Lockwell resolves them the same way (exact name, the caller's private secret first, then the public one).")
	if len(renamed) > 0 {
		fmt.Fprintf(out, "Except: %s will be created under another name (on-conflict rename); references to it must change.\n", strings.Join(renamed, ", "))
	}
	return nil
}

func printResults(out io.Writer, results []migrate.Result) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LEGACY NAME\tOUTCOME\tTARGET\tREASON")
	for _, r := range results {
		reason := r.Reason
		if r.SourceDeleted {
			reason += "; legacy entry deleted"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Outcome, dash(r.Target), reason)
	}
	tw.Flush()
	fmt.Fprintln(out, summaryLine(migrate.Summarize(results)))
}

func summaryLine(c migrate.Counts) string {
	return fmt.Sprintf("%d migrated, %d skipped, %d failed, %d not migratable, %d pending (of %d)",
		c[migrate.Migrated], c[migrate.Skipped], c[migrate.Failed], c[migrate.NotMigratable], c[migrate.Pending], c.Total())
}

// checkOutput accepts the formats of -o: table and json.
func checkOutput(output string) error {
	if output != "table" && output != "json" {
		return errcode.New(errcode.InvalidArgument, "-o is the output format: table or json, got %q", output)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// progress draws a one-line bar on a terminal and nothing elsewhere.
type progress struct {
	w     io.Writer
	label string
	on    bool
	drawn bool
}

func newProgress(w io.Writer, label string) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, label: label, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) set(done, total int) {
	if !p.on || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
	p.drawn = true
}

func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

var errNoJobs = errors.New("no job store: pass --jobs or set LOCKWELL_MIGRATE_JOBS (sqlite:///PATH.db or postgres://HOST/DB, the deployment's SQL store; dynamodb://TABLE, its jobs table)")
