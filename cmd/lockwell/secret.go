package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secretref"
)

// secretCommand is "lockwell secret ...".
func secretCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "Create, read, list, update, rename, delete, restore and export secrets, and see their history",
		Long: `Secrets are named groups of key/value pairs. A secret is public (every
authenticated user can use it) or private (only its owner sees it). Where a
command takes NAME|ID, a name means your private secret of that name if you
have one, otherwise the public one; a full UUID is an id. Every change makes a
new version: "history" lists them, "get --version", "diff" and "rollback" use
them. A deleted secret can be restored during the deployment's recovery
window (default 7 days).`,
	}
	cmd.AddCommand(
		secretCreateCommand(a),
		secretGetCommand(a),
		secretListCommand(a),
		secretUpdateCommand(a),
		secretRenameCommand(a),
		secretDeleteCommand(a),
		secretRestoreCommand(a),
		secretHistoryCommand(a),
		secretDiffCommand(a),
		secretRollbackCommand(a),
		secretExportCommand(a),
	)
	return cmd
}

// collectValues gathers values from --values, KEY=VALUE arguments and -i.
func (a *app) collectValues(args []string, valuesFlag string, interactive bool) (map[string]string, error) {
	values, prompt, err := a.valueArgs(args, interactive)
	if err != nil {
		return nil, err
	}
	if valuesFlag != "" {
		var data []byte
		name := "--values"
		if strings.HasPrefix(valuesFlag, "@") && !strings.HasPrefix(valuesFlag, "@@") {
			if data, name, err = a.readSource(valuesFlag); err != nil {
				return nil, err
			}
		} else {
			data = []byte(strings.TrimPrefix(valuesFlag, "@"))
		}
		fromFile, err := parseValues(data, name)
		if err != nil {
			return nil, err
		}
		if err := mergeValues(values, fromFile); err != nil {
			return nil, err
		}
	}
	// -i asks for the bare keys' values, or for keys and values when none
	// were given.
	if interactive && (len(prompt) > 0 || len(values) == 0) {
		if err := a.promptValues(prompt, values); err != nil {
			return nil, err
		}
	}
	return values, nil
}

func secretCreateCommand(a *app) *cobra.Command {
	var private, interactive bool
	var valuesFlag string
	cmd := &cobra.Command{
		Use:   "create NAME [KEY=VALUE ...]",
		Short: "Create a secret",
		Long: `Create a secret from KEY=VALUE arguments, a values file, or prompts.

A VALUE of @path reads the value from a file (@- from standard input; @@x is
the literal @x). --KEY=VALUE works as KEY=VALUE, as with "zenml secret
create". --values @file.json|@file.yaml|@file.env|@- reads all values from a
document (JSON, then YAML, then .env). -i asks for the values of bare KEY
arguments without echo (or for keys and values when none are given); without
a terminal it reads them from standard input, one line each. A secret needs
at least one key. Values given as arguments are visible to other users of
this machine in the process list; prefer -i or --values for real
credentials.`,
		Args:        cobra.MinimumNArgs(1),
		Annotations: map[string]string{annotationKeyValueArgs: "yes"},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := secret.ValidateName(name); err != nil {
				return err
			}
			values, err := a.collectValues(args[1:], valuesFlag, interactive)
			if err != nil {
				return err
			}
			if len(values) == 0 {
				return usagef(cmd, "a secret needs at least one key: give KEY=VALUE, --values @FILE or -i")
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			s, err := c.CreateSecret(ctx, client.NewSecret{Name: name, Private: private, Values: values})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Created %s secret %s (id %s, %s).\n", visibility(s.Private), s.Name, s.ID, countKeys(len(s.Keys)))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&private, "private", "p", false, "only you can see the secret")
	cmd.Flags().StringVarP(&valuesFlag, "values", "v", "", "values from @file (JSON, YAML or .env), @- for standard input, or inline JSON/YAML")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "ask for values without echo")
	return cmd
}

func countKeys(n int) string {
	if n == 1 {
		return "1 key"
	}
	return fmt.Sprintf("%d keys", n)
}

// displayTime is how the CLI prints every time: RFC 3339 in UTC
// (2026-01-02T15:04:05Z), in tables, JSON, YAML and messages alike.
func displayTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func visibility(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

func secretGetCommand(a *app) *cobra.Command {
	var key, output string
	var version int64
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:               "get NAME|ID [--private|--public] [--version N]",
		Short:             "Show a secret and its values (of its current version, or of --version N)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			var s *secret.Secret
			if cmd.Flags().Changed("version") {
				if version < 1 {
					return usagef(cmd, "--version must be a version number (1, 2, ...), got %d", version)
				}
				if s, err = c.FindSecretIn(ctx, args[0], v); err != nil {
					return err
				}
				id, name := s.ID, s.Name
				if s, err = c.GetSecretVersion(ctx, id, version); errcode.Is(err, errcode.NotFound) {
					return errcode.New(errcode.NotFound, "the secret %s has no version %d (see lockwell secret history %s)", name, version, id)
				}
			} else {
				s, err = c.GetSecretIn(ctx, args[0], v)
			}
			if err != nil {
				return err
			}
			if key != "" {
				v, ok := s.Values[key]
				if !ok {
					return errcode.New(errcode.NotFound, "the secret %s has no key %s. Available keys: %s", s.Name, key, keyList(s.Values))
				}
				_, err := io.WriteString(a.stdout, v)
				return err
			}
			return a.printSecret(s, output)
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "print only this key's value, exactly (no newline added)")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json, yaml or env")
	cmd.Flags().Int64Var(&version, "version", 0, "show this version (see lockwell secret history)")
	vis.bind(cmd, "p")
	return cmd
}

func keyList(values map[string]string) string {
	keys := secret.KeysOf(values)
	if len(keys) == 0 {
		return "none"
	}
	return strings.Join(keys, ", ")
}

// secretView is how get prints a secret in JSON and YAML.
type secretView struct {
	ID      string            `json:"id" yaml:"id"`
	Name    string            `json:"name" yaml:"name"`
	Private bool              `json:"private" yaml:"private"`
	Owner   string            `json:"owner" yaml:"owner"`
	Version int64             `json:"version" yaml:"version"`
	Created string            `json:"created" yaml:"created"`
	Updated string            `json:"updated" yaml:"updated"`
	Keys    []string          `json:"keys" yaml:"keys"`
	Values  map[string]string `json:"values,omitempty" yaml:"values,omitempty"`
	// Deleted and PurgeAfter are set for a secret in the recovery window.
	Deleted    string `json:"deleted,omitempty" yaml:"deleted,omitempty"`
	PurgeAfter string `json:"purge_after,omitempty" yaml:"purge_after,omitempty"`
}

func viewOf(s *secret.Secret) secretView {
	keys := s.Keys
	if keys == nil {
		keys = secret.KeysOf(s.Values)
	}
	v := secretView{ID: s.ID, Name: s.Name, Private: s.Private, Owner: s.Owner, Version: s.Version,
		Created: displayTime(s.Created), Updated: displayTime(s.Updated), Keys: keys, Values: s.Values}
	if s.IsDeleted() {
		v.Deleted, v.PurgeAfter = displayTime(s.Deleted), displayTime(s.PurgeAfter)
	}
	return v
}

func (a *app) printSecret(s *secret.Secret, output string) error {
	switch output {
	case "table":
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "Name:\t%s\nID:\t%s\nVisibility:\t%s\nOwner:\t%s\nVersion:\t%d\nUpdated:\t%s\n\n",
			s.Name, s.ID, visibility(s.Private), s.Owner, s.Version, displayTime(s.Updated))
		tw.Flush()
		printValuesTable(a.stdout, s.Values)
		return nil
	case "json":
		data, err := marshalJSON(viewOf(s))
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(data)
		return err
	case "yaml":
		data, err := marshalYAML(viewOf(s))
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(data)
		return err
	case "env":
		data, err := encodeValues(s.Values, "env")
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(data)
		return err
	}
	return errcode.New(errcode.InvalidArgument, "-o must be table, json, yaml or env, got %q", output)
}

func secretListCommand(a *app) *cobra.Command {
	var opts client.ListOptions
	var onlyPrivate, onlyPublic bool
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--deleted]",
		Short: "List the secrets you can see (never their values)",
		Long: `List the secrets you can see, never their values. With --deleted, list instead
the deleted secrets you may restore, with when
they were deleted and until when they can be restored.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if onlyPrivate && onlyPublic {
				return errcode.New(errcode.InvalidArgument, "--private and --public exclude each other")
			}
			if onlyPrivate {
				opts.Private = client.Set(true)
			} else if onlyPublic {
				opts.Private = client.Set(false)
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			items := []secretView{}
			for s, err := range c.AllSecrets(ctx, opts) {
				if err != nil {
					return err
				}
				v := viewOf(s)
				v.Values = nil
				items = append(items, v)
				if limit > 0 && len(items) >= limit {
					break
				}
			}
			switch output {
			case "table":
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				if opts.Deleted {
					fmt.Fprintln(tw, "NAME\tID\tVISIBILITY\tOWNER\tKEYS\tDELETED\tRESTORABLE UNTIL")
					for _, s := range items {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, s.ID, visibility(s.Private), s.Owner, len(s.Keys), s.Deleted, s.PurgeAfter)
					}
					return tw.Flush()
				}
				fmt.Fprintln(tw, "NAME\tID\tVISIBILITY\tOWNER\tKEYS\tVERSION\tUPDATED")
				for _, s := range items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", s.Name, s.ID, visibility(s.Private), s.Owner, len(s.Keys), s.Version, s.Updated)
				}
				return tw.Flush()
			case "json", "yaml":
				enc := marshalJSON
				if output == "yaml" {
					enc = marshalYAML
				}
				data, err := enc(items)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(data)
				return err
			}
			return errcode.New(errcode.InvalidArgument, "-o must be table, json or yaml, got %q", output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Name, "name", "", "exact name")
	f.StringVar(&opts.NamePrefix, "name-prefix", "", "names starting with this")
	f.StringVar(&opts.NameContains, "name-contains", "", "names containing this")
	f.StringVar(&opts.Owner, "owner", "", "secrets of this owner")
	f.StringVar(&opts.Sort, "sort", "", "name, -name, created, -created, updated or -updated (default name)")
	f.BoolVar(&onlyPrivate, "private", false, "only your private secrets")
	f.BoolVar(&onlyPublic, "public", false, "only public secrets")
	f.IntVar(&limit, "limit", 0, "show at most this many (0: all)")
	f.BoolVar(&opts.Deleted, "deleted", false, "list deleted secrets you may restore instead")
	f.StringVarP(&output, "output", "o", "table", "table, json or yaml")
	return cmd
}

func secretUpdateCommand(a *app) *cobra.Command {
	var removeKeys []string
	var valuesFlag string
	var interactive bool
	var vis visibilityFlags
	var visibilityTo string
	cmd := &cobra.Command{
		Use:   "update NAME|ID [KEY=VALUE ...] [--private|--public]",
		Short: "Add, change or remove keys of a secret, or change its visibility",
		Long: `Update merges: the keys given are added or replaced (KEY=VALUE, or --KEY=VALUE
as with "zenml secret update"), --remove-key removes keys, and keys not
mentioned stay. --private or --public picks which secret of that name to
update; --visibility private|public changes who can see it. The update
applies only if nobody changed the secret since it was read.`,
		Args:              cobra.MinimumNArgs(1),
		Annotations:       map[string]string{annotationKeyValueArgs: "yes"},
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			if visibilityTo != "" && visibilityTo != "private" && visibilityTo != "public" {
				return usagef(cmd, "--visibility must be private or public, got %q", visibilityTo)
			}
			values, err := a.collectValues(args[1:], valuesFlag, interactive)
			if err != nil {
				return err
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			s, err := c.FindSecretIn(ctx, args[0], v)
			if err != nil {
				return err
			}
			u := client.Update{Values: map[string]*string{}, IfMatch: s.Version}
			for k, v := range values {
				u.Values[k] = client.Set(v)
			}
			for _, k := range removeKeys {
				if _, both := values[k]; both {
					return errcode.New(errcode.InvalidArgument, "key %s is both set and removed", k)
				}
				if !contains(s.Keys, k) {
					return errcode.New(errcode.NotFound, "the secret %s has no key %s to remove. Available keys: %s", s.Name, k, strings.Join(s.Keys, ", "))
				}
				u.Values[k] = nil
			}
			if len(u.Values) == 0 {
				u.Values = nil
			}
			if visibilityTo != "" {
				u.Private = client.Set(visibilityTo == "private")
			}
			if u.Values == nil && u.Private == nil {
				return usagef(cmd, "nothing to update: give KEY=VALUE, --values, --remove-key or --visibility")
			}
			out, err := c.UpdateSecret(ctx, s.ID, u)
			if errcode.Is(err, errcode.FailedPrecondition) {
				return errcode.New(errcode.FailedPrecondition, "the secret %s changed while it was being updated; run the command again", s.Name)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated %s secret %s (version %d, %s).\n", visibility(out.Private), out.Name, out.Version, countKeys(len(out.Keys)))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&removeKeys, "remove-key", "r", nil, "remove this key (repeatable)")
	f.StringVarP(&valuesFlag, "values", "v", "", "values to add or replace, from @file, @- or inline JSON/YAML")
	f.BoolVarP(&interactive, "interactive", "i", false, "ask for values without echo")
	f.StringVar(&visibilityTo, "visibility", "", "make the secret private or public")
	vis.bind(cmd, "p")
	return cmd
}

func secretRenameCommand(a *app) *cobra.Command {
	var vis visibilityFlags
	var newName string
	cmd := &cobra.Command{
		Use:   "rename NAME|ID NEW_NAME (or NAME|ID --new-name NEW_NAME)",
		Short: "Rename a secret",
		Long: `Rename a secret. The new name is the second argument, or --new-name (-n) as
with "zenml secret rename". --private or --public picks which secret of that
name to rename.`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 2 && newName != "" && args[1] != newName:
				return usagef(cmd, "give the new name once: as the second argument or with --new-name")
			case len(args) == 2:
				newName = args[1]
			case newName == "":
				return usagef(cmd, "rename needs the new name: lockwell secret rename %s NEW_NAME", shortArg(args[0]))
			}
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			if err := secret.ValidateName(newName); err != nil {
				return err
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			s, err := c.FindSecretIn(ctx, args[0], v)
			if err != nil {
				return err
			}
			out, err := c.UpdateSecret(ctx, s.ID, client.Update{Name: client.Set(newName), IfMatch: s.Version})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Renamed %s secret %s to %s (id %s).\n", visibility(out.Private), s.Name, out.Name, out.ID)
			return nil
		},
	}
	cmd.Flags().StringVarP(&newName, "new-name", "n", "", "the new name")
	vis.bind(cmd, "")
	return cmd
}

func secretDeleteCommand(a *app) *cobra.Command {
	var yes, purge bool
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "delete NAME|ID [--private|--public] [--purge] [-y]",
		Short: "Delete a secret (restorable during the recovery window), or destroy it with --purge",
		Long: `Delete a secret. A name means your private secret of that name if you have
one, otherwise the public one; --private or --public says which. The output
names the secret deleted (visibility and id), says until when it can be
restored ("lockwell secret restore ID"; the deployment's recovery window,
default 7 days), and says when a secret of the other visibility keeps the
name. The name is free again at once. --purge destroys the secret and its
history at once instead (its owner or an admin only); it cannot be
restored. --purge also destroys a secret deleted before, during its
recovery window: give its id, or the name it had when no live secret has
that name and only one deleted secret of yours had it (see "lockwell secret
list --deleted").`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			s, err := c.FindSecretIn(ctx, args[0], v)
			wasDeleted := false
			if errcode.Is(err, errcode.NotFound) && purge {
				if d, derr := findDeletedToPurge(ctx, c, args[0], v); d != nil || !errcode.Is(derr, errcode.NotFound) {
					s, err, wasDeleted = d, derr, true
				}
			}
			if err != nil {
				return err
			}
			if !yes {
				if !a.isTerminal() {
					return errcode.New(errcode.InvalidArgument, "not deleting without confirmation: pass -y")
				}
				if wasDeleted {
					fmt.Fprintf(a.stderr, "Destroy the deleted %s secret %s (id %s) for good? It cannot be restored. [y/N] ", visibility(s.Private), s.Name, s.ID)
				} else if purge {
					fmt.Fprintf(a.stderr, "Destroy the %s secret %s (id %s) for good? It cannot be restored. [y/N] ", visibility(s.Private), s.Name, s.ID)
				} else {
					fmt.Fprintf(a.stderr, "Delete the %s secret %s (id %s)? [y/N] ", visibility(s.Private), s.Name, s.ID)
				}
				answer, _ := a.readLine()
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return errcode.New(errcode.InvalidArgument, "not deleted")
				}
			}
			deleted, err := c.DeleteSecretWith(ctx, s.ID, client.DeleteOptions{Purge: purge})
			if err != nil {
				return err
			}
			switch {
			case wasDeleted:
				fmt.Fprintf(a.stdout, "Purged the deleted %s secret %s (id %s): it cannot be restored.\n", visibility(s.Private), s.Name, s.ID)
				return nil
			case deleted != nil:
				fmt.Fprintf(a.stdout, "Deleted %s secret %s (id %s). %s\n", visibility(s.Private), s.Name, s.ID, restoreHint(deleted))
			case purge:
				fmt.Fprintf(a.stdout, "Deleted %s secret %s (id %s) for good: it cannot be restored.\n", visibility(s.Private), s.Name, s.ID)
			default:
				fmt.Fprintf(a.stdout, "Deleted %s secret %s (id %s); this deployment keeps no deleted secrets, so it cannot be restored.\n", visibility(s.Private), s.Name, s.ID)
			}
			other := client.OnlyPublic
			if !s.Private {
				other = client.OnlyPrivate
			}
			if _, err := c.FindSecretByName(ctx, s.Name, other); err == nil {
				fmt.Fprintf(a.stderr, "A %s secret named %s remains; delete it with --%s.\n", visibility(!s.Private), s.Name, visibility(!s.Private))
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&purge, "purge", false, "destroy the secret and its history at once: no restore")
	vis.bind(cmd, "")
	return cmd
}

// findDeletedToPurge finds the deleted secret that delete --purge means by
// arg, when no live secret has that id or name: by id, or by the name it
// had when exactly one deleted secret the caller may restore had it. vis,
// when not PrivateFirst, must match its visibility. Errors: not_found (with
// the secret too when only its visibility differs); failed_precondition
// when several deleted secrets had the name.
func findDeletedToPurge(ctx context.Context, c *client.Client, arg string, vis client.Visibility) (*secret.Secret, error) {
	s, err := c.FindDeletedSecret(ctx, arg)
	switch {
	case errcode.Is(err, errcode.FailedPrecondition):
		return nil, errcode.New(errcode.FailedPrecondition, "several deleted secrets were named %s; purge one by its id (see lockwell secret list --deleted)", arg)
	case err != nil:
		return nil, err
	case vis == client.OnlyPrivate && !s.Private, vis == client.OnlyPublic && s.Private:
		return s, errcode.New(errcode.NotFound, "the deleted secret %s is %s, not %s", arg, visibility(s.Private), visibility(!s.Private))
	}
	return s, nil
}

func secretExportCommand(a *app) *cobra.Command {
	var output, file string
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "export NAME|ID [-o yaml|json|env] [-f FILE]",
		Short: "Write a secret's values as YAML, JSON or .env",
		Long: `Write the values of one secret as a flat document that "lockwell secret create
NAME --values @FILE" reads back exactly. -o is the format; with
--output-file (-f) the document is written to a new file with mode 0600,
otherwise to standard output.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			format := output
			if format == "" {
				format = "yaml"
				if file != "" {
					format = string(secretref.FormatOf(file))
				}
			}
			if format != "yaml" && format != "yml" && format != "json" && format != "env" && format != "dotenv" {
				return usagef(cmd, "-o is the output format (yaml, json or env), got %q; write to a file with -f/--output-file", shortArg(format))
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			s, err := c.GetSecretIn(ctx, args[0], v)
			if err != nil {
				return err
			}
			data, err := encodeValues(s.Values, format)
			if err != nil {
				return err
			}
			toFile, err := a.writeOutput(file, data)
			if err != nil || !toFile {
				return err
			}
			fmt.Fprintf(a.stderr, "Wrote %s of %s to %s (mode 0600).\n", countKeys(len(s.Values)), s.Name, file)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "format: yaml, json or env (default yaml, or from the file's extension)")
	cmd.Flags().StringVarP(&file, "output-file", "f", "", "write to this file (mode 0600) instead of standard output")
	cmd.Flags().StringVar(&file, "file", "", "the same as --output-file")
	_ = cmd.Flags().MarkHidden("file")
	vis.bind(cmd, "")
	return cmd
}

// visibilityFlags are --private and --public on a command that picks one
// secret by name: as ZenML's "get -p", they choose between a private and a
// public secret of the same name instead of the private one shadowing the
// public one. --private=false is --public.
type visibilityFlags struct{ private, public bool }

func (v *visibilityFlags) bind(cmd *cobra.Command, privateShort string) {
	cmd.Flags().BoolVarP(&v.private, "private", privateShort, false, "the private secret of that name (yours)")
	cmd.Flags().BoolVar(&v.public, "public", false, "the public secret of that name")
}

// visibility returns the lookup the flags ask for: private first by default.
func (v *visibilityFlags) visibility(cmd *cobra.Command) (client.Visibility, error) {
	private, public := v.private, v.public
	if cmd.Flags().Changed("private") && !v.private {
		private, public = false, true
	}
	if cmd.Flags().Changed("public") && !v.public && !private {
		private = true
	}
	switch {
	case private && public:
		return 0, usagef(cmd, "--private and --public exclude each other")
	case private:
		return client.OnlyPrivate, nil
	case public:
		return client.OnlyPublic, nil
	}
	return client.PrivateFirst, nil
}
