package main

import (
	"github.com/spf13/cobra"

	migratecli "github.com/lockwell/lockwell/migrate/cli"
)

// newRootCommand builds the command tree. Each command group is built by a
// function of its own (secretCommand, tokenCommand, ...), usually in a file
// of its own; a new group is one more line in the AddCommand call below.
// Groups from other packages take what they need from a (for example
// a.client for an API client) through their constructor.
func newRootCommand(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "lockwell",
		Short: "Lockwell: a centralized secrets store",
		Long: `Lockwell keeps secrets (named groups of key/value pairs) in one store, and
lets pipelines and configuration files refer to them ({{name.key}}) instead of
holding credentials.

The server and credentials come from flags, then the environment
(LOCKWELL_URL, LOCKWELL_TOKEN, LOCKWELL_AUTH), then the file that
"lockwell login" writes.`,
		SilenceUsage:  true, // errors are one line; --help shows usage
		SilenceErrors: true, // runMain prints them
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: true,
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	a.bindGlobalFlags(root)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{cmd: cmd.CommandPath(), err: err}
	})

	root.AddCommand(
		secretCommand(a),
		tokenCommand(a),
		loginCommand(a),
		logoutCommand(a),
		resolveCommand(a),
		runCommand(a),
		exportCommand(a),
		importCommand(a),
		serveCommand(a),
		adminCommand(a),
		migratecli.Command(migratecli.WithClient(a.client), migratecli.WithGetenv(a.getenv)),
	)
	return root
}

// usageError is a flag error with a pointer to the help, on one line.
type usageError struct {
	cmd string
	err error
}

func (e usageError) Error() string { return e.err.Error() + " (see " + e.cmd + " --help)" }
