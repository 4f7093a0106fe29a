package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secretref"
)

// Timing of "lockwell watch".
var (
	// watchPoll is how often the secret's version is polled by default
	// when the server has no event stream; watchPollMax the longest wait
	// after errors (the backoff doubles up to it).
	watchPoll    = 5 * time.Second
	watchPollMax = time.Minute
	// watchReconnect is the backoff between reconnections of the stream.
	watchReconnect = retry.Policy{Base: 500 * time.Millisecond, Max: 30 * time.Second}
)

// watchCommand is "lockwell watch NAME -- CMD ARGS".
func watchCommand(a *app) *cobra.Command {
	var prefix, sigName string
	var override bool
	var grace, pollInterval time.Duration
	var vis visibilityFlags
	names := make([]string, 0, len(watchSignals))
	for n := range watchSignals {
		names = append(names, n)
	}
	sort.Strings(names)
	cmd := &cobra.Command{
		Use:   "watch NAME [--signal SIG] [--prefix P] [--override] -- CMD [ARGS...]",
		Short: "Run a command with a secret's values, and restart or signal it when the secret changes",
		Long: `Run CMD with the values of secret NAME in its environment, as "lockwell run
--secret NAME" does, and follow the secret's changes: on every new version
CMD is restarted with the new values (it gets SIGTERM, lockwell waits up to
--grace for it to exit, then kills it, and starts it again). With --signal
SIG (` + strings.Join(names, ", ") + `) CMD is not restarted but sent SIG, for
programs that re-read their configuration themselves.

Changes come from the server's event stream (GET /api/v1/events); a server
without one (the cloud deployments) is polled for the secret's version every
--poll-interval (5s), backing off after errors. When the secret is deleted CMD keeps
running with the values it has. Signals sent to lockwell are forwarded to
CMD; lockwell exits when CMD exits on its own, with its status.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 1 || len(args) < 2 {
				return usagef(cmd, "watch takes one secret name, then -- and the command: lockwell watch NAME -- CMD [ARGS...]")
			}
			if prefix != "" && !isEnvName(prefix) {
				return usagef(cmd, "--prefix must be letters, digits and _, not starting with a digit, got %q", shortArg(prefix))
			}
			var sig os.Signal
			if sigName != "" {
				s, ok := watchSignals[strings.TrimPrefix(strings.ToUpper(sigName), "SIG")]
				if !ok {
					return usagef(cmd, "--signal must be one of %s, got %q", strings.Join(names, ", "), shortArg(sigName))
				}
				sig = s
			}
			sel, err := parseSecretSelection(args[0])
			if err != nil {
				return err
			}
			if sel.keys != nil {
				return usagef(cmd, "watch takes a secret name without keys")
			}
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			if pollInterval < 100*time.Millisecond {
				return usagef(cmd, "--poll-interval must be at least 100ms")
			}
			w := &watcher{a: a, sel: sel, vis: v, prefix: prefix, override: override, signal: sig, grace: grace, poll: pollInterval, args: args[1:]}
			return w.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sigName, "signal", "", "send this signal on a change instead of restarting (e.g. HUP)")
	f.StringVar(&prefix, "prefix", "", "put this before the variable names (e.g. DB_)")
	f.BoolVar(&override, "override", false, "let the secret's keys replace variables the environment already has")
	f.DurationVar(&grace, "grace", 10*time.Second, "how long a restart waits for CMD to exit after SIGTERM before killing it")
	f.DurationVar(&pollInterval, "poll-interval", watchPoll, "how often to poll the secret's version when the server has no event stream")
	vis.bind(cmd, "")
	// Flags may follow NAME; everything after -- is the command's own.
	_ = cmd.RegisterFlagCompletionFunc("signal", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

type watcher struct {
	a   *app
	sel secretSelection
	// id and name are the watched secret's, once resolved: it is followed
	// by id, so a rename (or another secret taking the old name) does not
	// make the watch read a different secret.
	id, name string
	vis      client.Visibility
	prefix   string
	override bool
	signal   os.Signal
	grace    time.Duration
	poll     time.Duration
	args     []string
}

// env reads the secret's values into the child's environment, and returns
// the secret's version. The first call resolves the name to the secret
// (w.id, w.name); later ones read that secret by id and note its current
// name.
func (w *watcher) env(ctx context.Context) ([]string, int64, error) {
	src := &pinnedSource{lazySource: lazySource{a: w.a, vis: w.vis}, w: w}
	s, err := src.LookupSecret(ctx, w.sel.name, false)
	if err != nil {
		return nil, 0, err
	}
	if w.id == "" {
		w.id = s.ID
	}
	w.name = s.Name
	env, from, err := buildEnv(ctx, secretref.NewResolver(src), src, []secretSelection{w.sel}, nil, w.prefix)
	if err != nil {
		return nil, 0, err
	}
	parent := os.Environ()
	if !w.override {
		if err := refuseOverrides(parent, env, from, watchRemedies); err != nil {
			return nil, 0, err
		}
	}
	return childEnv(parent, env), s.Version, nil
}

// pinnedSource is the watcher's source of values for one read: the watched
// name, once resolved, is read by the secret's id, once.
type pinnedSource struct {
	lazySource
	w   *watcher
	got *secret.Secret
}

func (s *pinnedSource) LookupSecret(ctx context.Context, name string, withValues bool) (*secret.Secret, error) {
	if name != s.w.sel.name || s.w.id == "" {
		return s.lazySource.LookupSecret(ctx, name, withValues)
	}
	if s.got != nil {
		return s.got, nil
	}
	s.once.Do(func() { s.c, s.err = s.a.client(ctx) })
	if s.err != nil {
		return nil, s.err
	}
	got, err := s.c.GetSecret(ctx, s.w.id)
	if err == nil {
		s.got = got
	}
	return got, err
}

// change is a new version of the watched secret, or its deletion.
type change struct {
	version int64
	gone    bool
	by      string
}

func (w *watcher) run(cmd *cobra.Command) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := w.a.client(ctx)
	if err != nil {
		return err
	}
	actx, acancel := w.a.apiContext(cmd)
	env, version, err := w.env(actx)
	acancel()
	id := w.id
	if err != nil {
		return err
	}
	path, err := exec.LookPath(w.args[0])
	if err != nil {
		printError(w.a.stderr, errcode.New(errcode.NotFound, "cannot run %s: command not found", shortArg(w.args[0])), "")
		return &exitStatus{code: 127}
	}
	changes := make(chan change, 16)
	go w.follow(ctx, c, id, version, changes)

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	for {
		child, exited, err := w.start(path, env)
		if err != nil {
			return err
		}
		restart := false
		for !restart {
			select {
			case s := <-sigs:
				_ = signalGroup(child.Process, s)
			case err := <-exited:
				return childStatus(err, w.args[0])
			case ch := <-changes:
				if ch.gone {
					fmt.Fprintf(w.a.stderr, "lockwell watch: %s was deleted; %s keeps its values\n", w.name, w.args[0])
					continue
				}
				if ch.version <= version {
					continue
				}
				version = ch.version
				if w.signal != nil {
					fmt.Fprintf(w.a.stderr, "lockwell watch: %s changed (version %d%s); sending %s\n", w.name, ch.version, byWhom(ch.by), signalName(w.signal))
					_ = signalGroup(child.Process, w.signal)
					continue
				}
				was := w.name
				rctx, rcancel := context.WithTimeout(ctx, time.Minute)
				next, nv, err := w.env(rctx)
				rcancel()
				if err != nil {
					fmt.Fprintf(w.a.stderr, "lockwell watch: %s changed but cannot be read (%s); %s keeps running\n", was, errcode.Message(err), w.args[0])
					continue
				}
				if w.name != was {
					fmt.Fprintf(w.a.stderr, "lockwell watch: %s was renamed to %s; following it\n", was, w.name)
				}
				if slices.Equal(next, env) {
					version = max(version, nv)
					fmt.Fprintf(w.a.stderr, "lockwell watch: %s changed (version %d%s) but its values did not; %s keeps running\n", w.name, nv, byWhom(ch.by), w.args[0])
					continue
				}
				fmt.Fprintf(w.a.stderr, "lockwell watch: %s changed (version %d%s); restarting %s\n", w.name, nv, byWhom(ch.by), w.args[0])
				env, version = next, max(version, nv)
				if err := w.stop(child, exited); err != nil {
					return err
				}
				restart = true
			}
		}
	}
}

// start starts the child; exited gets its Wait result.
func (w *watcher) start(path string, env []string) (*exec.Cmd, <-chan error, error) {
	child := exec.Command(path, w.args[1:]...)
	child.Args[0] = w.args[0]
	child.Env = env
	child.Stdin, child.Stdout, child.Stderr = w.a.stdin, w.a.stdout, w.a.stderr
	ownGroup(child) // stops reach what the command runs too (sh -c, npm, ...)
	if err := child.Start(); err != nil {
		printError(w.a.stderr, errcode.New(errcode.Internal, "cannot run %s: %v", shortArg(w.args[0]), errors.Unwrap(err)), "")
		return nil, nil, &exitStatus{code: 126}
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	return child, exited, nil
}

// stop asks the child to exit and waits up to the grace period, then kills
// it.
func (w *watcher) stop(child *exec.Cmd, exited <-chan error) error {
	_ = signalGroup(child.Process, stopSignal)
	select {
	case <-exited:
		return nil
	case <-time.After(w.grace):
	}
	fmt.Fprintf(w.a.stderr, "lockwell watch: %s did not exit within %s; killing it\n", w.args[0], w.grace)
	_ = signalGroup(child.Process, os.Kill)
	<-exited
	return nil
}

// follow sends the secret's changes to changes until ctx ends: from the
// event stream, or by polling when the server has none.
func (w *watcher) follow(ctx context.Context, c *client.Client, id string, version int64, changes chan<- change) {
	last := ""
	for attempt := 1; ctx.Err() == nil; attempt++ {
		st, err := c.Events(ctx, last)
		if errcode.Is(err, errcode.NotFound) {
			w.pollVersion(ctx, c, id, version, changes)
			return
		}
		if err == nil {
			attempt = 0
			if last == "" {
				// A change between reading the values and subscribing
				// is on no stream: compare the version once subscribed.
				if ch, ok := w.check(ctx, c, id, version); ok && !ch.gone {
					version = max(version, ch.version)
					changes <- ch
				}
			}
			for {
				ev, err := st.Next()
				if err != nil {
					break // the stream ended: reconnect after the last id
				}
				last = ev.ID
				switch {
				case ev.Type == client.ResetType:
					// Events were lost: look at the secret itself.
					if ch, ok := w.check(ctx, c, id, version); ok {
						version = max(version, ch.version)
						changes <- ch
					}
				case ev.Event.ID != id:
				case ev.Type == "deleted" || ev.Type == "purged":
					changes <- change{gone: true, by: ev.Event.Principal}
				case ev.Event.Version > version:
					version = ev.Event.Version
					changes <- change{version: ev.Event.Version, by: ev.Event.Principal}
				}
			}
			st.Close()
		}
		if watchReconnect.Wait(ctx, max(attempt, 1)) != nil && ctx.Err() != nil {
			return
		}
	}
}

// pollVersion compares the secret's version every w.poll, backing off up to
// watchPollMax while it cannot be read.
func (w *watcher) pollVersion(ctx context.Context, c *client.Client, id string, version int64, changes chan<- change) {
	wait, gone := w.poll, false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		ch, ok := w.check(ctx, c, id, version)
		switch {
		case ok && ch.gone:
			wait = w.poll
			if !gone {
				changes <- ch
			}
			gone = true
		case ok:
			wait, gone = w.poll, false
			version = max(version, ch.version)
			changes <- ch
		default:
			wait = min(wait*2, watchPollMax)
		}
	}
}

// check reads the secret's metadata: ok when it is newer than version or
// gone (then ch.gone). A failed read is ok false, ch zero.
func (w *watcher) check(ctx context.Context, c *client.Client, id string, version int64) (change, bool) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := c.FindSecret(rctx, id)
	if errcode.Is(err, errcode.NotFound) {
		return change{gone: true}, true
	}
	if err != nil || s.Version <= version {
		return change{}, false
	}
	return change{version: s.Version}, true
}

// childStatus turns the child's Wait result into lockwell's exit status.
func childStatus(err error, name string) error {
	if err == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitStatus{code: 128 + int(ws.Signal())}
		}
		return &exitStatus{code: exitErr.ExitCode()}
	}
	return errcode.Wrap(errcode.Internal, err, "waiting for %s failed", shortArg(name))
}

func byWhom(principal string) string {
	if principal == "" {
		return ""
	}
	return " by " + principal
}

func signalName(s os.Signal) string {
	for n, v := range watchSignals {
		if v == s {
			return "SIG" + n
		}
	}
	return s.String()
}
