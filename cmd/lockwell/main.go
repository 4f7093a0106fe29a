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
// Errors are printed as one line on standard error. The exit status says
// what kind of failure it was, so that scripts can branch on it (see
// exitCodeOf): 0 success, 1 error, 2 usage, 3 not found, 4 authentication
// or permission, 5 conflict or precondition, 6 server unreachable or
// unavailable. "lockwell run" exits with its child's status.
//
// Built with -tags nocloud, the CLI links no cloud SDK: admin and migrate
// become stubs that say so, and --auth aws-sigv4 and google-idtoken fail
// (see cloud.go and shared/client's auth_nocloud.go).
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

// The exit statuses, one per kind of failure a script may want to tell
// apart. README.md documents them.
const (
	exitOK          = 0
	exitError       = 1 // any other failure: invalid input, a server error
	exitUsage       = 2 // the command line itself: unknown command or flag, wrong arguments
	exitNotFound    = 3 // no such secret, key, token or file
	exitDenied      = 4 // not authenticated, or not allowed
	exitConflict    = 5 // already exists, or changed meanwhile (a precondition failed)
	exitUnavailable = 6 // the server cannot be reached, or is unavailable: retry later
)

// exitCodeOf maps an error to the exit status; it is the one place that
// decides it.
func exitCodeOf(err error) int {
	var usage usageError
	if errors.As(err, &usage) {
		return exitUsage
	}
	var ce *errcode.Error
	if !errors.As(err, &ce) {
		return exitError
	}
	switch errcode.Of(err) {
	case errcode.NotFound:
		return exitNotFound
	case errcode.Unauthenticated, errcode.PermissionDenied:
		return exitDenied
	case errcode.AlreadyExists, errcode.FailedPrecondition:
		return exitConflict
	case errcode.Unavailable:
		return exitUnavailable
	}
	return exitError
}

// runMain runs the command line args and returns the exit status.
func runMain(ctx context.Context, args []string, a *app) int {
	root := newRootCommand(a)
	root.SetArgs(a.rewriteArgs(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var exit *exitStatus
	if errors.As(err, &exit) {
		return exit.code
	}
	path := ""
	if cmd != nil {
		path = cmd.CommandPath()
	}
	printError(a.stderr, err, path)
	return exitCodeOf(err)
}

// exitStatus makes lockwell exit with a status without printing an error:
// run's child status, or a check that already reported its findings.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// printError writes err as one line. Classified errors show their
// client-safe message; the rest (flag parsing) their text. An
// authentication failure gets a hint, unless the message gives one already
// or the command that failed is login itself.
func printError(w io.Writer, err error, cmdPath string) {
	msg := err.Error()
	var ce *errcode.Error
	if errors.As(err, &ce) {
		msg = errcode.Message(err)
	}
	if errcode.Is(err, errcode.Unauthenticated) && ce != nil && !strings.Contains(msg, "lockwell login") && cmdPath != "lockwell login" {
		msg += " (run lockwell login, or set LOCKWELL_TOKEN)"
	}
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	fmt.Fprintf(w, "lockwell: %s\n", msg)
}
