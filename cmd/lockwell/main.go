// Command lockwell is the command-line client of Lockwell, a centralized
// secrets store: it creates, reads, lists, updates and deletes secrets,
// renders files that refer to secrets ({{name.key}}), runs processes with
// secrets in their environment, moves secrets in and out, and serves a local
// Lockwell for development.
//
// The server and credentials come from flags, then the environment
// (LOCKWELL_URL, LOCKWELL_TOKEN, LOCKWELL_AUTH, ...), then the configuration
// file that "lockwell login" writes (mode 0600). API tokens are never read
// from a command-line argument unless the deprecated "login --token" is used.
//
// Errors are printed as one line on standard error and the exit status is
// not zero; "lockwell run" exits with its child's status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

func main() {
	os.Exit(runMain(context.Background(), os.Args[1:], newApp()))
}

// runMain runs the command line args and returns the exit status.
func runMain(ctx context.Context, args []string, a *app) int {
	root := newRootCommand(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *exitStatus
	if errors.As(err, &exit) {
		return exit.code
	}
	printError(a.stderr, err)
	return 1
}

// exitStatus makes lockwell exit with a status without printing an error:
// run's child status, or a check that already reported its findings.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// printError writes err as one line. Classified errors show their
// client-safe message; the rest (flag parsing) their text.
func printError(w io.Writer, err error) {
	msg := err.Error()
	var ce *errcode.Error
	if errors.As(err, &ce) {
		msg = errcode.Message(err)
	}
	if errcode.Is(err, errcode.Unauthenticated) && ce != nil {
		msg += " (run lockwell login, or set LOCKWELL_TOKEN)"
	}
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	fmt.Fprintf(w, "lockwell: %s\n", msg)
}
