package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// This file holds the commands of a secret's history (history, diff,
// rollback) and of the recovery window (restore); get --version, delete
// --purge and list --deleted live with their commands in secret.go.

// parseVersion reads a version argument: a positive integer.
func parseVersion(cmd *cobra.Command, what, s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 1 {
		return 0, usagef(cmd, "%s must be a version number (1, 2, ...), got %q", what, shortArg(s))
	}
	return v, nil
}

// historyView is one version as "secret history -o json|yaml" prints it:
// key names only, never values.
type historyView struct {
	Version   int64    `json:"version" yaml:"version"`
	Created   string   `json:"created" yaml:"created"`
	Name      string   `json:"name" yaml:"name"`
	Private   bool     `json:"private" yaml:"private"`
	Principal string   `json:"principal" yaml:"principal"`
	Operation string   `json:"operation" yaml:"operation"`
	From      int64    `json:"from,omitempty" yaml:"from,omitempty"`
	Keys      []string `json:"keys" yaml:"keys"`
	Added     []string `json:"added" yaml:"added"`
	Removed   []string `json:"removed" yaml:"removed"`
	Changed   []string `json:"changed" yaml:"changed"`
	Current   bool     `json:"current" yaml:"current"`
}

func secretHistoryCommand(a *app) *cobra.Command {
	var output string
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "history NAME|ID [--private|--public] [-o table|json|yaml]",
		Short: "List a secret's versions: who changed which keys, and how (never values)",
		Long: `List the versions the deployment keeps of a secret (LOCKWELL_KEEP_VERSIONS,
default 20): when each was made, by whom, by which operation, and the names of
the keys it added, removed or changed. Values are never shown; read one
version with "lockwell secret get NAME --version N", compare two with
"lockwell secret diff NAME A B", and go back with "lockwell secret rollback
NAME N".`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			if output != "table" && output != "json" && output != "yaml" {
				return usagef(cmd, "-o must be table, json or yaml, got %q", shortArg(output))
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
			versions, err := c.SecretVersions(ctx, s.ID)
			if err != nil {
				return err
			}
			items := make([]historyView, len(versions))
			for i, v := range versions {
				items[i] = historyView{Version: v.Version, Created: displayTime(v.Created), Name: v.Name,
					Private: v.Private, Principal: v.Principal, Operation: v.Operation, From: v.From,
					Keys: orEmpty(v.Keys), Added: orEmpty(v.Added), Removed: orEmpty(v.Removed), Changed: orEmpty(v.Changed),
					Current: v.Current}
			}
			switch output {
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
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VERSION\tCREATED\tPRINCIPAL\tOPERATION\tADDED\tREMOVED\tCHANGED")
			for i, h := range items {
				version := strconv.FormatInt(h.Version, 10)
				if h.Current {
					version += " (current)"
				}
				op := h.Operation
				if h.From != 0 {
					op += " of " + strconv.FormatInt(h.From, 10)
				}
				// What the key columns cannot show: a rename or a change of
				// visibility from the version before (the next item: the
				// list is newest first).
				if i+1 < len(items) && items[i+1].Version < h.Version {
					op += nameAndVisibility(items[i+1].Name, items[i+1].Private, h.Name, h.Private)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", version, h.Created, h.Principal, op,
					keyNames(h.Added), keyNames(h.Removed), keyNames(h.Changed))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	vis.bind(cmd, "p")
	return cmd
}

// nameAndVisibility says how a version's name and visibility differ from
// the one before it, as an addition to its operation ("" when they do not).
func nameAndVisibility(oldName string, oldPrivate bool, name string, private bool) string {
	var out []string
	if oldName != name {
		out = append(out, "renamed from "+oldName)
	}
	if oldPrivate != private {
		out = append(out, "made "+visibility(private))
	}
	if len(out) == 0 {
		return ""
	}
	return " (" + strings.Join(out, ", ") + ")"
}

// missingVersion explains why secret s has no version: it was pruned (the
// deployment keeps a number of versions) or it never existed.
func missingVersion(ctx context.Context, c *client.Client, s *secret.Secret, version int64) error {
	if version > s.Version {
		return errcode.New(errcode.NotFound, "the secret %s has no version %d: its current version is %d", s.Name, version, s.Version)
	}
	oldest := s.Version
	if versions, err := c.SecretVersions(ctx, s.ID); err == nil {
		for _, v := range versions {
			oldest = min(oldest, v.Version)
		}
	}
	return errcode.New(errcode.NotFound, "version %d of the secret %s is no longer kept: the deployment keeps its last versions (LOCKWELL_KEEP_VERSIONS), here %d to %d (see lockwell secret history %s)",
		version, s.Name, oldest, s.Version, s.ID)
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// keyNames lists key names in a table cell; "-" for none.
func keyNames(keys []string) string {
	if len(keys) == 0 {
		return "-"
	}
	return strings.Join(keys, ",")
}

func secretRollbackCommand(a *app) *cobra.Command {
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "rollback NAME|ID VERSION [--private|--public]",
		Short: "Make a secret's name, visibility and values those of an earlier version",
		Long: `Roll a secret back to VERSION (see "lockwell secret history"): this makes a new
version whose name, visibility and values are VERSION's; the versions between
stay in the history. It applies only if nobody changed the secret since it
was read, and fails when VERSION's name has been taken by another secret
meanwhile.`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			version, err := parseVersion(cmd, "VERSION", args[1])
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
			if version == s.Version {
				return errcode.New(errcode.InvalidArgument, "version %d is the current version of %s: nothing to roll back", version, s.Name)
			}
			out, err := c.RollbackSecret(ctx, s.ID, version, s.Version)
			switch {
			case errcode.Is(err, errcode.FailedPrecondition):
				return errcode.New(errcode.FailedPrecondition, "the secret %s changed while it was being rolled back; run the command again", s.Name)
			case errcode.Is(err, errcode.NotFound):
				return missingVersion(ctx, c, s, version)
			case errcode.Is(err, errcode.AlreadyExists):
				// The versions list has each version's name, and no values
				// (so this explanation reads none).
				versions, verr := c.SecretVersions(ctx, s.ID)
				if verr != nil {
					return err
				}
				for _, old := range versions {
					if old.Version == version && old.Name != s.Name {
						return errcode.New(errcode.AlreadyExists, "version %d of %s was named %s, and another secret has that name now: rename that one first, or change %s's values with lockwell secret update",
							version, s.Name, old.Name, s.Name)
					}
				}
				return err
			case err != nil:
				return err
			}
			fmt.Fprintf(a.stdout, "Rolled back %s secret %s to version %d (now version %d, %s).\n",
				visibility(out.Private), out.Name, version, out.Version, countKeys(len(out.Keys)))
			if out.Name != s.Name {
				fmt.Fprintf(a.stdout, "Its name is version %d's again: %s (it was %s), so {{%s.KEY}} references no longer find it.\n",
					version, out.Name, s.Name, s.Name)
			}
			if out.Private != s.Private {
				fmt.Fprintf(a.stdout, "It is %s again, as version %d was.\n", visibility(out.Private), version)
			}
			return nil
		},
	}
	vis.bind(cmd, "p")
	return cmd
}

// diffView is what "secret diff -o json|yaml" prints. Values holds values
// only with --show-values.
type diffView struct {
	ID      string               `json:"id" yaml:"id"`
	From    int64                `json:"from" yaml:"from"`
	To      int64                `json:"to" yaml:"to"`
	Added   []string             `json:"added" yaml:"added"`
	Removed []string             `json:"removed" yaml:"removed"`
	Changed []string             `json:"changed" yaml:"changed"`
	Values  map[string]valueDiff `json:"values,omitempty" yaml:"values,omitempty"`
	// Name and Visibility are set when they differ.
	Name       *nameDiff `json:"name,omitempty" yaml:"name,omitempty"`
	Visibility *nameDiff `json:"visibility,omitempty" yaml:"visibility,omitempty"`
}

// nameDiff is a secret's name (or visibility) in both versions.
type nameDiff struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// valueDiff is one key's value in both versions; a side is absent when the
// key is not in that version.
type valueDiff struct {
	From *string `json:"from,omitempty" yaml:"from,omitempty"`
	To   *string `json:"to,omitempty" yaml:"to,omitempty"`
}

// maskValue hides a value, keeping only its length.
func maskValue(v string) string {
	return fmt.Sprintf("******** (%d characters)", len([]rune(v)))
}

func secretDiffCommand(a *app) *cobra.Command {
	var output, showValues string
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "diff NAME|ID A [B] [--show-values[=plain]]",
		Short: "Compare two versions of a secret: keys added, removed and changed",
		Long: `Compare version A of a secret with version B (default: the current version) and
list the names of the keys added, removed and changed from A to B. Values
are never shown, in any output format, unless --show-values is given; then
they are masked (only their length shows) unless --show-values=plain.`,
		Args:              cobra.RangeArgs(2, 3),
		ValidArgsFunction: a.completeSecretNames(&vis, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			if output != "table" && output != "json" && output != "yaml" {
				return usagef(cmd, "-o must be table, json or yaml, got %q", shortArg(output))
			}
			switch showValues {
			case "", "masked", "plain":
			default:
				return usagef(cmd, "--show-values is masked (the default) or plain, got %q", shortArg(showValues))
			}
			from, err := parseVersion(cmd, "A", args[1])
			if err != nil {
				return err
			}
			var to int64
			if len(args) == 3 {
				if to, err = parseVersion(cmd, "B", args[2]); err != nil {
					return err
				}
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
			get := func(version int64) (*secret.Secret, error) {
				got, err := c.GetSecretVersion(ctx, s.ID, version)
				if errcode.Is(err, errcode.NotFound) {
					return nil, missingVersion(ctx, c, s, version)
				}
				return got, err
			}
			a1, err := get(from)
			if err != nil {
				return err
			}
			var b1 *secret.Secret
			if to == 0 {
				b1, err = c.GetSecret(ctx, s.ID)
			} else {
				b1, err = get(to)
			}
			if err != nil {
				return err
			}
			d := diffView{ID: s.ID, From: from, To: b1.Version, Added: []string{}, Removed: []string{}, Changed: []string{}}
			if a1.Name != b1.Name {
				d.Name = &nameDiff{From: a1.Name, To: b1.Name}
			}
			if a1.Private != b1.Private {
				d.Visibility = &nameDiff{From: visibility(a1.Private), To: visibility(b1.Private)}
			}
			for _, k := range secret.KeysOf(b1.Values) {
				old, ok := a1.Values[k]
				switch {
				case !ok:
					d.Added = append(d.Added, k)
				case old != b1.Values[k]:
					d.Changed = append(d.Changed, k)
				}
			}
			for _, k := range secret.KeysOf(a1.Values) {
				if _, ok := b1.Values[k]; !ok {
					d.Removed = append(d.Removed, k)
				}
			}
			if showValues != "" {
				show := maskValue
				if showValues == "plain" {
					show = func(v string) string { return v }
				}
				d.Values = map[string]valueDiff{}
				side := func(values map[string]string, k string) *string {
					if v, ok := values[k]; ok {
						return client.Set(show(v))
					}
					return nil
				}
				for _, group := range [][]string{d.Added, d.Removed, d.Changed} {
					for _, k := range group {
						d.Values[k] = valueDiff{From: side(a1.Values, k), To: side(b1.Values, k)}
					}
				}
			}
			switch output {
			case "json", "yaml":
				enc := marshalJSON
				if output == "yaml" {
					enc = marshalYAML
				}
				data, err := enc(d)
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(data)
				return err
			}
			fmt.Fprintf(a.stdout, "%s: version %d → version %d\n", s.Name, d.From, d.To)
			if d.Name != nil {
				fmt.Fprintf(a.stdout, "name: %s → %s\n", d.Name.From, d.Name.To)
			}
			if d.Visibility != nil {
				fmt.Fprintf(a.stdout, "visibility: %s → %s\n", d.Visibility.From, d.Visibility.To)
			}
			if len(d.Added)+len(d.Removed)+len(d.Changed) == 0 {
				if d.Name == nil && d.Visibility == nil {
					fmt.Fprintln(a.stdout, "no differences")
				} else {
					fmt.Fprintln(a.stdout, "the same keys and values")
				}
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			for _, g := range []struct {
				mark string
				keys []string
			}{{"+", d.Added}, {"-", d.Removed}, {"~", d.Changed}} {
				for _, k := range g.keys {
					if d.Values == nil {
						fmt.Fprintf(tw, "%s %s\n", g.mark, k)
						continue
					}
					fmt.Fprintf(tw, "%s %s\t%s\t→ %s\n", g.mark, k, oneLine(d.Values[k].From), oneLine(d.Values[k].To))
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")
	cmd.Flags().StringVar(&showValues, "show-values", "", "also show the values: masked (only their length), or plain")
	cmd.Flags().Lookup("show-values").NoOptDefVal = "masked"
	vis.bind(cmd, "p")
	return cmd
}

// oneLine prints one side of a value diff on one line; "(none)" when the
// key is absent.
func oneLine(v *string) string {
	if v == nil {
		return "(none)"
	}
	if strings.ContainsAny(*v, "\n\r\t\x00") || *v == "" || strings.TrimSpace(*v) != *v {
		return strconv.Quote(*v)
	}
	return *v
}

func secretRestoreCommand(a *app) *cobra.Command {
	var newName string
	cmd := &cobra.Command{
		Use:   "restore NAME|ID [--name NEW_NAME]",
		Short: "Bring back a deleted secret during its recovery window",
		Long: `Restore a secret deleted less than LOCKWELL_RECOVERY_DAYS (default 7) ago, with
its values and history. A deleted secret holds no name, so NAME means the
name it had: when several deleted secrets had it, restore one by its id
(see "lockwell secret list --deleted"). When another secret took the name
meanwhile, restore under a new one with --name.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeDeletedSecretNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if newName != "" {
				if err := secret.ValidateName(newName); err != nil {
					return err
				}
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			id, name := args[0], args[0]
			if !client.IsValidID(id) {
				s, err := c.FindDeletedSecret(ctx, args[0])
				if err != nil {
					return err
				}
				id = s.ID
			}
			out, err := c.RestoreSecret(ctx, id, client.RestoreOptions{Name: newName})
			switch {
			case errcode.Is(err, errcode.AlreadyExists) && newName != "":
				return errcode.New(errcode.AlreadyExists, "%s is taken too: another secret has that name; give --name a name no secret has", newName)
			case errcode.Is(err, errcode.AlreadyExists):
				taken := name
				if client.IsValidID(name) {
					taken = "its name"
				}
				return errcode.New(errcode.AlreadyExists, "%s is taken by another secret now: restore under a new name with --name NEW_NAME", taken)
			case errcode.Is(err, errcode.NotFound) && client.IsValidID(args[0]):
				return errcode.New(errcode.NotFound, "no deleted secret you may restore has the id %s (see lockwell secret list --deleted)", id)
			case err != nil:
				return err
			}
			fmt.Fprintf(a.stdout, "Restored %s secret %s (id %s, version %d, %s).\n",
				visibility(out.Private), out.Name, out.ID, out.Version, countKeys(len(out.Keys)))
			return nil
		},
	}
	cmd.Flags().StringVarP(&newName, "name", "n", "", "restore under this name (when its own is taken)")
	return cmd
}

// restoreHint says until when a deleted secret can be restored, and how.
func restoreHint(s *secret.Secret) string {
	return fmt.Sprintf("It can be restored until %s: lockwell secret restore %s", displayTime(s.PurgeAfter), s.ID)
}
