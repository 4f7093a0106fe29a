package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secretref"
)

// exportFormat names the document "lockwell export --all" writes.
const exportFormat = "lockwell.secrets/v1"

// exportDoc is the document of many secrets that export writes and import
// reads, as YAML or JSON.
type exportDoc struct {
	Format  string           `json:"format" yaml:"format"`
	Secrets []exportedSecret `json:"secrets" yaml:"secrets"`
}

type exportedSecret struct {
	Name    string            `json:"name" yaml:"name"`
	Private bool              `json:"private" yaml:"private"`
	Values  map[string]string `json:"values" yaml:"values"`
}

func (e exportedSecret) label() string { return e.Name + " (" + visibility(e.Private) + ")" }

// exportCommand is "lockwell export --all".
func exportCommand(a *app) *cobra.Command {
	var all bool
	var out, format string
	cmd := &cobra.Command{
		Use:   "export --all [-o yaml|json] [-f FILE]",
		Short: "Write every secret you can see, with values, to one document",
		Long: `Write every secret you can see (your private ones and the public ones) with
their values to one YAML or JSON document that "lockwell import" reads. -o is
the format (default: from the file's extension, else yaml); with
--output-file (-f) the document goes to a new file with mode 0600. On a
terminal it shows its progress on standard error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !all {
				return usagef(cmd, "export needs --all (for one secret use lockwell secret export NAME)")
			}
			if format == "" {
				format = "yaml"
				if out != "" && secretref.FormatOf(out) == secretref.JSON {
					format = "json"
				}
			}
			if format != "yaml" && format != "json" {
				return usagef(cmd, "-o is the output format (yaml or json), got %q; write to a file with -f/--output-file", shortArg(format))
			}
			ctx, cancel := a.bulkContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			var metas []*secret.Secret
			for meta, err := range c.AllSecrets(ctx, client.ListOptions{Sort: "name", PageSize: 1000}) {
				if err != nil {
					return err
				}
				metas = append(metas, meta)
			}
			bar := a.newProgress("exporting")
			full, err := getAll(ctx, c, metas, bar.set)
			bar.finish()
			if err != nil {
				return err
			}
			doc := exportDoc{Format: exportFormat, Secrets: make([]exportedSecret, 0, len(metas))}
			for _, s := range full {
				if s != nil { // nil: deleted since the list
					doc.Secrets = append(doc.Secrets, exportedSecret{Name: s.Name, Private: s.Private, Values: s.Values})
				}
			}
			var data []byte
			if format == "json" {
				data, err = marshalJSON(doc)
			} else {
				data, err = marshalYAML(doc)
			}
			if err != nil {
				return err
			}
			toFile, err := a.writeOutput(out, data)
			if err != nil || !toFile {
				return err
			}
			fmt.Fprintf(a.stderr, "Exported %d secrets to %s (mode 0600).\n", len(doc.Secrets), out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "export every secret you can see")
	cmd.Flags().StringVarP(&format, "output", "o", "", "format: yaml or json (default: from the file's extension, else yaml)")
	cmd.Flags().StringVarP(&out, "output-file", "f", "", "write to this file (mode 0600) instead of standard output")
	cmd.Flags().StringVar(&format, "format", "", "the same as -o")
	_ = cmd.Flags().MarkHidden("format")
	return cmd
}

// parseExport reads an export document (JSON or YAML) from r in one pass,
// with no limit on its size, and validates every secret. JSON is decoded
// one secret at a time; YAML as one document. Errors name secrets and keys,
// never values.
func parseExport(r io.Reader) ([]exportedSecret, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstNonSpace(br)
	if err != nil {
		return nil, err
	}
	var secrets []exportedSecret
	if first == '{' {
		if secrets, err = exportFromJSON(br); err != nil {
			return nil, err
		}
	} else {
		var root yaml.Node
		if err := yaml.NewDecoder(br).Decode(&root); err != nil && err != io.EOF {
			return nil, errcode.New(errcode.InvalidArgument, "not a valid export document (YAML): %s", secretref.ParseErrorText(err))
		}
		if secrets, err = exportFromYAML(&root); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, s := range secrets {
		if err := secret.ValidateName(s.Name); err != nil {
			return nil, err
		}
		if err := secret.ValidateValues(s.Values); err != nil {
			return nil, errcode.New(errcode.Of(err), "secret %s: %s", s.label(), errcode.Message(err))
		}
		if seen[s.label()] {
			return nil, errcode.New(errcode.InvalidArgument, "secret %s appears twice", s.label())
		}
		seen[s.label()] = true
	}
	return secrets, nil
}

// firstNonSpace returns the first byte of r that is not white space,
// without consuming it; 0 for an empty document.
func firstNonSpace(r *bufio.Reader) (byte, error) {
	for {
		b, err := r.Peek(1)
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, errcode.Wrap(errcode.InvalidArgument, err, "cannot read the document: %v", err)
		}
		if b[0] != ' ' && b[0] != '\t' && b[0] != '\n' && b[0] != '\r' {
			return b[0], nil
		}
		_, _ = r.ReadByte()
	}
}

// exportFromJSON decodes a JSON export document token by token, holding one
// secret's raw text at a time.
func exportFromJSON(r io.Reader) ([]exportedSecret, error) {
	dec := json.NewDecoder(r)
	bad := func(err error) error {
		return errcode.New(errcode.InvalidArgument, "not a valid export document (JSON): %s", secretref.ParseErrorText(err))
	}
	if _, err := dec.Token(); err != nil { // {
		return nil, bad(err)
	}
	var secrets []exportedSecret
	format, sawSecrets := "", false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		switch t {
		case "format":
			if err := dec.Decode(&format); err != nil {
				return nil, bad(err)
			}
		case "secrets":
			sawSecrets = true
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				if err == nil {
					return nil, errcode.New(errcode.InvalidArgument, "not an export document: secrets must be a list")
				}
				return nil, bad(err)
			}
			for dec.More() {
				var s struct {
					Name    string                     `json:"name"`
					Private bool                       `json:"private"`
					Values  map[string]json.RawMessage `json:"values"`
				}
				if err := dec.Decode(&s); err != nil {
					return nil, bad(err)
				}
				vals := make(map[string]string, len(s.Values))
				for k, raw := range s.Values {
					v, err := jsonString(raw)
					if err != nil {
						return nil, errcode.New(errcode.InvalidArgument, "secret %s: value of key %s is not a string", s.Name, k)
					}
					vals[k] = v
				}
				secrets = append(secrets, exportedSecret{Name: s.Name, Private: s.Private, Values: vals})
			}
			if _, err := dec.Token(); err != nil { // ]
				return nil, bad(err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, bad(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errcode.New(errcode.InvalidArgument, "not a valid export document (JSON): data after the document")
	}
	if format != exportFormat {
		return nil, errcode.New(errcode.InvalidArgument, "not an export document: format is %q, expected %q", shortArg(format), exportFormat)
	}
	if !sawSecrets {
		return nil, errcode.New(errcode.InvalidArgument, "not an export document: it has no list of secrets")
	}
	return secrets, nil
}

func exportFromYAML(root *yaml.Node) ([]exportedSecret, error) {
	bad := errcode.New(errcode.InvalidArgument, "not an export document: expected format: %s and a list of secrets", exportFormat)
	if len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, bad
	}
	field := func(m *yaml.Node, name string) *yaml.Node {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == name {
				return m.Content[i+1]
			}
		}
		return nil
	}
	top := root.Content[0]
	if f := field(top, "format"); f == nil || f.Value != exportFormat {
		return nil, bad
	}
	list := field(top, "secrets")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, bad
	}
	var out []exportedSecret
	for i, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			return nil, errcode.New(errcode.InvalidArgument, "secrets[%d] is not a mapping", i)
		}
		var s exportedSecret
		if n := field(item, "name"); n != nil {
			s.Name = n.Value
		}
		if p := field(item, "private"); p != nil {
			if p.ShortTag() != "!!bool" {
				return nil, errcode.New(errcode.InvalidArgument, "secrets[%d].private must be true or false", i)
			}
			s.Private = p.Value == "true"
		}
		s.Values = map[string]string{}
		if v := field(item, "values"); v != nil && v.ShortTag() != "!!null" {
			if v.Kind != yaml.MappingNode {
				return nil, errcode.New(errcode.InvalidArgument, "secrets[%d].values must be a mapping", i)
			}
			vals, err := yamlValues(v)
			if err != nil {
				return nil, errcode.New(errcode.InvalidArgument, "secret %s: %s", s.Name, errcode.Message(err))
			}
			s.Values = vals
		}
		out = append(out, s)
	}
	return out, nil
}

// importAction is what import does with one secret.
type importAction struct {
	s       exportedSecret
	verb    string // create, update, skip, same
	id      string
	version int64
	change  map[string]*string // for update
	summary string             // key names only
}

// importCommand is "lockwell import FILE".
func importCommand(a *app) *cobra.Command {
	var dryRun bool
	var onConflict string
	cmd := &cobra.Command{
		Use:   "import FILE [--dry-run] [--on-conflict fail|skip|overwrite]",
		Short: "Create or update many secrets from an export document",
		Long: `Create the secrets of an export document (from "lockwell export --all"; - for
standard input). Private secrets are created as your private secrets. The
document is read in one pass, with no limit on its size, and every secret in
it is checked before anything is written.

When a secret of the same name and visibility exists, --on-conflict decides:
fail (the default: nothing is imported if any exists), skip, or overwrite
(its values become exactly the document's; the update applies only if the
secret did not change meanwhile). --dry-run prints what would be created or
changed, by key name, without values, and changes nothing. On a terminal the
import shows its progress on standard error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if onConflict != "fail" && onConflict != "skip" && onConflict != "overwrite" {
				return usagef(cmd, "--on-conflict must be fail, skip or overwrite, got %q", onConflict)
			}
			r, closeInput, err := a.openInput(args[0])
			if err != nil {
				return err
			}
			secrets, err := parseExport(r)
			closeInput()
			if err != nil {
				return err
			}
			ctx, cancel := a.bulkContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			// One listing finds every existing secret, instead of one
			// lookup per secret in the document.
			existing := map[string]*secret.Secret{}
			for s, err := range c.AllSecrets(ctx, client.ListOptions{PageSize: 1000}) {
				if err != nil {
					return err
				}
				label := exportedSecret{Name: s.Name, Private: s.Private}.label()
				if prev, dup := existing[label]; dup {
					return errcode.New(errcode.FailedPrecondition, "2 %s secrets are named %s (ids %s, %s); rename one first", visibility(s.Private), s.Name, prev.ID, s.ID)
				}
				existing[label] = s
			}
			var current map[string]*secret.Secret // with values, for overwrite
			if onConflict == "overwrite" {
				var metas []*secret.Secret
				for _, s := range secrets {
					if cur, found := existing[s.label()]; found {
						metas = append(metas, cur)
					}
				}
				full, err := getAll(ctx, c, metas, nil)
				if err != nil {
					return err
				}
				current = map[string]*secret.Secret{}
				for i, s := range full {
					if s == nil {
						return errcode.New(errcode.FailedPrecondition, "the secret %s was deleted while the import was planned; run the command again", metas[i].Name)
					}
					current[metas[i].ID] = s
				}
			}
			var plan []importAction
			var conflicts []string
			for _, s := range secrets {
				act := importAction{s: s}
				cur, found := existing[s.label()]
				switch {
				case !found:
					act.verb, act.summary = "create", countKeys(len(s.Values))
				case onConflict == "fail":
					conflicts = append(conflicts, s.label())
					continue
				case onConflict == "skip":
					act.verb, act.summary = "skip", "exists"
				default:
					full := current[cur.ID]
					act.id, act.version = full.ID, full.Version
					act.change, act.summary = diffValues(full.Values, s.Values)
					act.verb = "update"
					if len(act.change) == 0 {
						act.verb, act.summary = "same", "unchanged"
					}
				}
				plan = append(plan, act)
			}
			if len(conflicts) > 0 {
				shown := conflicts
				if len(shown) > 10 {
					shown = append(shown[:10:10], fmt.Sprintf("and %d more", len(conflicts)-10))
				}
				return errcode.New(errcode.AlreadyExists, "%d secrets already exist, so nothing was imported: %s; use --on-conflict skip or overwrite",
					len(conflicts), strings.Join(shown, ", "))
			}
			out := bufio.NewWriter(a.stdout)
			for _, act := range plan {
				fmt.Fprintf(out, "%-6s %s: %s\n", act.verb, act.s.label(), act.summary)
			}
			if err := out.Flush(); err != nil {
				return err
			}
			if dryRun {
				fmt.Fprintln(a.stdout, "Dry run: nothing was changed.")
				return nil
			}
			bar := a.newProgress("importing")
			done := 0
			for i, act := range plan {
				var err error
				switch act.verb {
				case "create":
					_, err = c.CreateSecret(ctx, client.NewSecret{Name: act.s.Name, Private: act.s.Private, Values: act.s.Values})
				case "update":
					_, err = c.UpdateSecret(ctx, act.id, client.Update{Values: act.change, IfMatch: act.version})
				}
				bar.set(i+1, len(plan))
				if err != nil {
					bar.finish()
					return errcode.New(errcode.Of(err), "imported %d secrets, then %s %s failed: %s", done, act.verb, act.s.label(), errcode.Message(err))
				}
				if act.verb == "create" || act.verb == "update" {
					done++
				}
			}
			bar.finish()
			fmt.Fprintf(a.stdout, "Imported: %d created or updated, %d left as they were.\n", done, len(plan)-done)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would change (key names only) and change nothing")
	cmd.Flags().StringVar(&onConflict, "on-conflict", "fail", "when a secret exists: fail, skip or overwrite")
	return cmd
}

// getWorkers is how many secrets getAll reads at once.
const getWorkers = 8

// getAll reads the secrets metas lists, values included, getWorkers at a
// time, and returns them in the order of metas; a secret deleted since it
// was listed is nil. progress, if not nil, is called with the count done
// after each, from one goroutine at a time.
func getAll(ctx context.Context, c *client.Client, metas []*secret.Secret, progress func(done, total int)) ([]*secret.Secret, error) {
	out := make([]*secret.Secret, len(metas))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		done     int
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range min(getWorkers, len(metas)) {
		wg.Go(func() {
			for i := range next {
				s, err := c.GetSecret(ctx, metas[i].ID)
				mu.Lock()
				switch {
				case errcode.Is(err, errcode.NotFound):
				case err != nil:
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				default:
					out[i] = s
				}
				done++
				if progress != nil {
					progress(done, len(metas))
				}
				mu.Unlock()
			}
		})
	}
	for i := range metas {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out, firstErr
}

// diffValues returns the merge patch that turns cur into want and a summary
// of it by key name: +added ~changed -removed.
func diffValues(cur, want map[string]string) (map[string]*string, string) {
	change := map[string]*string{}
	var parts []string
	for _, k := range secret.KeysOf(want) {
		old, ok := cur[k]
		switch {
		case !ok:
			parts = append(parts, "+"+k)
		case old != want[k]:
			parts = append(parts, "~"+k)
		default:
			continue
		}
		change[k] = client.Set(want[k])
	}
	var removed []string
	for k := range cur {
		if _, ok := want[k]; !ok {
			removed = append(removed, k)
			change[k] = nil
		}
	}
	sort.Strings(removed)
	for _, k := range removed {
		parts = append(parts, "-"+k)
	}
	return change, strings.Join(parts, " ")
}
