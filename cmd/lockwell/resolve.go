package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secretref"
)

// resolveCommand is "lockwell resolve FILE": render a YAML, JSON or .env
// file with every {{name.key}} replaced, or only check the references.
func resolveCommand(a *app) *cobra.Command {
	var out, check, format, outFormat string
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "resolve FILE [-f OUTPUT_FILE] [--check none|secret|key] [--private|--public]",
		Short: "Render a YAML, JSON or .env file with its secret references resolved",
		Long: `Render FILE (- for standard input) with every secret reference resolved and
write it to standard output, or with --output-file (-f) to a file with mode
0600. The output has the input's format (--format overrides it).

A reference is a string that is wholly {{name.key}} (ZenML's syntax; the key
may contain dots, the name may not), or {{name.key}} inside a longer string
(postgres://{{db.user}}:{{db.password}}@host/db). A name means your private
secret of that name if you have one, otherwise the public one. Only string
values are rendered: keys, numbers and booleans are left alone, comments and
key order are kept. \{{ writes a literal {{. --private or --public says which
secret a name means (default: yours, then the public one).

--check validates the references without reading or printing any value:
none (syntax only), secret (every secret exists) or key (every key exists).
A {{name}} without a key fails every check. It lists each problem and exits
with status 1 if there is one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			data, name, err := a.readSource("@" + args[0])
			if err != nil {
				return err
			}
			f := secretref.FormatOf(name)
			if outFormat != "" {
				if format != "" && format != outFormat {
					return usagef(cmd, "-o and --format disagree")
				}
				if _, err := secretref.ParseFormat(outFormat); err != nil {
					return usagef(cmd, "-o is the output format (yaml, json or env), got %q; write to a file with -f/--output-file", shortArg(outFormat))
				}
				format = outFormat
			}
			if format != "" {
				if f, err = secretref.ParseFormat(format); err != nil {
					return err
				}
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			src := &lazySource{a: a, vis: v}
			r := secretref.NewResolver(src)
			if check != "" {
				level, err := secretref.ParseLevel(check)
				if err != nil {
					return err
				}
				found, problems, err := r.CheckFile(ctx, data, f, level)
				if err != nil {
					return err
				}
				for _, p := range problems {
					fmt.Fprintf(a.stderr, "%s: %s\n", p.Path, errcode.Message(p.Err))
				}
				if len(problems) > 0 {
					fmt.Fprintf(a.stderr, "%s: %d of %d references failed the %s check\n", name, len(problems), len(found), level)
					return &exitStatus{code: 1}
				}
				fmt.Fprintf(a.stdout, "%s: %d references pass the %s check\n", name, len(found), level)
				return nil
			}
			rendered, err := r.RenderFile(ctx, data, f)
			if err != nil {
				return err
			}
			_, err = a.writeOutput(out, rendered)
			return err
		},
	}
	cmd.Flags().StringVarP(&out, "output-file", "f", "", "write to this file (mode 0600) instead of standard output")
	vis.bind(cmd, "")
	cmd.Flags().StringVar(&check, "check", "", "only validate references: none, secret or key")
	cmd.Flags().StringVar(&format, "format", "", "yaml, json or env (default: from the file name; YAML otherwise)")
	cmd.Flags().StringVarP(&outFormat, "output", "o", "", "the same as --format (the output has the input's format)")
	return cmd
}
