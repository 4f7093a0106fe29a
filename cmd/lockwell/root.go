package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
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
(LOCKWELL_URL, LOCKWELL_TOKEN, LOCKWELL_AUTH), then the profile that
"lockwell login" saved (--profile or LOCKWELL_PROFILE picks one; default
"default").

Exit status: 0 success, 1 error, 2 usage (unknown command or flag, wrong
arguments), 3 not found, 4 authentication or permission, 5 conflict or
precondition (exists already, changed meanwhile), 6 server unreachable or
unavailable. "lockwell run" exits with its command's status.

Shell completion (secret names come from the server):
  source <(lockwell completion bash)     # also zsh, fish, powershell
See "lockwell completion --help" to install it for every shell session.`,
		SilenceUsage:  true, // errors are one line; --help shows usage
		SilenceErrors: true, // runMain prints them
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
		whoamiCommand(a),
		versionCommand(a),
		resolveCommand(a),
		runCommand(a),
		watchCommand(a),
		exportCommand(a),
		importCommand(a),
		serveCommand(a),
		auditCommand(a),
	)
	root.AddCommand(cloudCommands(a)...)
	root.InitDefaultCompletionCmd()
	strictArgs(root)
	return root
}

// strictArgs makes argument errors usage errors (exit 2) throughout the
// tree: a group given an unknown subcommand fails with the name and
// suggestions instead of printing its help and succeeding, and a wrong
// number of arguments points at the command's --help.
func strictArgs(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		strictArgs(c)
	}
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if c.SuggestionsMinimumDistance <= 0 {
				c.SuggestionsMinimumDistance = 2
			}
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, " or ") + "?"
			}
			return usageError{cmd: c.CommandPath(), err: fmt.Errorf("%s", msg)}
		}
		cmd.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
		return
	}
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return usageError{cmd: c.CommandPath(), err: err}
			}
			return nil
		}
	}
}

// usageError is a mistake in the command line (exit status 2), with a
// pointer to the help, on one line.
type usageError struct {
	cmd string
	err error
}

func (e usageError) Error() string { return e.err.Error() + " (see " + e.cmd + " --help)" }

// usagef is a usage error of cmd.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	return usageError{cmd: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}
