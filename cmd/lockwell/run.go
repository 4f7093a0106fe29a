package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/secretref"
)

// lazySource is a secretref.Source that connects to the server on the first
// lookup, so that files and commands without references need no server.
type lazySource struct {
	a    *app
	vis  client.Visibility // which secret a name means
	once sync.Once
	c    *client.Client
	err  error
}

func (s *lazySource) LookupSecret(ctx context.Context, name string, withValues bool) (*secret.Secret, error) {
	s.once.Do(func() { s.c, s.err = s.a.client(ctx) })
	if s.err != nil {
		return nil, s.err
	}
	if s.vis == client.PrivateFirst {
		return s.c.LookupSecret(ctx, name, withValues)
	}
	found, err := s.c.FindSecretByName(ctx, name, s.vis)
	if err != nil || !withValues {
		return found, err
	}
	return s.c.GetSecret(ctx, found.ID)
}

// envName turns a key into an environment variable name: upper case, with
// "." and "-" as "_" (keys are letters, digits and "_ . -", starting with a
// letter or "_", so the result is always a valid name).
func envName(key string) string {
	return strings.Map(func(r rune) rune {
		if r == '.' || r == '-' {
			return '_'
		}
		return r
	}, strings.ToUpper(key))
}

// secretSelection is one --secret NAME[:KEY,...].
type secretSelection struct {
	name string
	keys []string // nil: every key
}

func parseSecretSelection(s string) (secretSelection, error) {
	name, keys, hasKeys := strings.Cut(s, ":")
	if err := secret.ValidateName(name); err != nil {
		return secretSelection{}, err
	}
	sel := secretSelection{name: name}
	if hasKeys {
		for _, k := range strings.Split(keys, ",") {
			if err := secret.ValidateKey(k); err != nil {
				return secretSelection{}, errcode.New(errcode.InvalidArgument, "--secret %s: %s", name, errcode.Message(err))
			}
			sel.keys = append(sel.keys, k)
		}
	}
	return sel, nil
}

// buildEnv resolves the selections and --env templates into environment
// variables. Every variable has one source; a second source for the same
// name is an error naming both.
func buildEnv(ctx context.Context, r *secretref.Resolver, src secretref.Source, selections []secretSelection, envFlags []string, prefix string) (map[string]string, map[string]string, error) {
	env := map[string]string{}
	from := map[string]string{} // variable -> where it came from, for collision messages
	set := func(name, source, value string) error {
		if prev, dup := from[name]; dup {
			return errcode.New(errcode.InvalidArgument,
				"environment variable %s would be set by both %s and %s; pick keys with --secret NAME:KEY,... or set it with --env", name, prev, source)
		}
		if strings.IndexByte(value, 0) >= 0 {
			return errcode.New(errcode.InvalidArgument, "the value of %s contains a NUL byte, which an environment variable cannot hold", source)
		}
		env[name], from[name] = value, source
		return nil
	}
	for _, sel := range selections {
		keys := sel.keys
		if keys == nil {
			s, err := src.LookupSecret(ctx, sel.name, false)
			if err != nil {
				return nil, nil, errcode.New(errcode.Of(err), "--secret %s: %s", sel.name, errcode.Message(err))
			}
			keys = s.Keys
		}
		for _, k := range keys {
			v, err := r.Value(ctx, secretref.Ref{Name: sel.name, Key: k})
			if err != nil {
				return nil, nil, err
			}
			if err := set(prefix+envName(k), sel.name+"."+k, v); err != nil {
				return nil, nil, err
			}
		}
	}
	for _, e := range envFlags {
		name, tpl, ok := strings.Cut(e, "=")
		if !ok || !isEnvName(name) {
			return nil, nil, errcode.New(errcode.InvalidArgument, "--env must be VAR=VALUE with VAR of letters, digits and _ (not starting with a digit), got %q", shortArg(name))
		}
		v, err := r.Render(ctx, tpl)
		if err != nil {
			return nil, nil, errcode.New(errcode.Of(err), "--env %s: %s", name, errcode.Message(err))
		}
		if err := set(name, "--env "+name, v); err != nil {
			return nil, nil, err
		}
	}
	return env, from, nil
}

// refuseOverrides fails when a variable lockwell run would set is already
// in the parent environment: a secret with a key "path" or "home" must not
// silently replace PATH or HOME. from says where each variable came from;
// remedies says what the command offers instead (runRemedies, watchRemedies).
func refuseOverrides(parent []string, env, from map[string]string, remedies string) error {
	var clash []string
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := env[name]; ok && name != "LOCKWELL_TOKEN" {
			clash = append(clash, name+" (from "+from[name]+")")
		}
	}
	if len(clash) == 0 {
		return nil
	}
	sort.Strings(clash)
	return errcode.New(errcode.FailedPrecondition, "not replacing variables the environment already has: %s; %s",
		strings.Join(clash, ", "), remedies)
}

// What lockwell run and lockwell watch offer against a clash of names.
const (
	runRemedies   = "rename them with --prefix, pick keys with --secret NAME:KEY,..., name them with --env VAR={{name.key}}, or pass --override"
	watchRemedies = "rename them with --prefix, or pass --override (lockwell run also picks keys with --secret NAME:KEY,... and names them with --env)"
)

func shortArg(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnumByte(c) && c != '_' {
			return false
		}
	}
	return true
}

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// childEnv is the parent's environment without Lockwell's own credentials,
// plus env (which wins over inherited variables).
func childEnv(parent []string, env map[string]string) []string {
	out := make([]string, 0, len(parent)+len(env))
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		if name == "LOCKWELL_TOKEN" {
			continue // the child gets the secrets it asked for, not the key to all of them
		}
		if _, override := env[name]; override {
			continue
		}
		out = append(out, kv)
	}
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, n+"="+env[n])
	}
	return out
}

// runCommand is "lockwell run ... -- CMD ARGS".
func runCommand(a *app) *cobra.Command {
	var secrets, envFlags []string
	var prefix, command string
	var override bool
	var vis visibilityFlags
	cmd := &cobra.Command{
		Use:   "run [--secret NAME[:KEY,...]]... [--env VAR=TEMPLATE]... [--prefix P] [--override] (-- CMD [ARGS...] | --command 'SHELL COMMAND')",
		Short: "Run a command with secrets in its environment",
		Long: `Run CMD with secrets in its environment. The values are passed only through
the child's environment: never in arguments, never on disk.

--secret NAME sets one variable per key of the secret; NAME:KEY1,KEY2 only
those keys. A key becomes a variable name in upper case with "." and "-" as
"_" (db.host -> DB_HOST), after --prefix (--prefix DB_ makes user DB_USER).
--env VAR=TEMPLATE sets VAR to a template with references, which is how a
program's own variable names are met:

  lockwell run --env PGPASSWORD={{db.password}} --env PGUSER={{db.user}} -- psql -h localhost
  lockwell run --env DATABASE_URL='postgres://{{db.user}}:{{db.password}}@h/db' -- ./app

Two sources for one variable are an error. A variable the environment
already has (PATH, HOME, USER, ...) is never replaced unless --override is
given. LOCKWELL_TOKEN is not passed on. --command 'a && b' runs a shell
command line with sh -c instead of CMD after --. --private or --public says
which secret a name means (default: yours, then the public one).

Signals (INT, TERM, HUP, QUIT, USR1, USR2, WINCH) are forwarded to the child,
and lockwell exits with the child's status (128+N when signal N ended it).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 0 {
				return usagef(cmd, "unexpected argument %q before --; run takes the command after --", shortArg(args[0]))
			}
			switch {
			case command != "" && len(args) > 0:
				return usagef(cmd, "give the command after -- or with --command, not both")
			case command != "":
				args = []string{"sh", "-c", command}
			case len(args) == 0:
				return usagef(cmd, "run needs a command: lockwell run --secret NAME -- CMD [ARGS...], or --command 'a && b'")
			}
			if prefix != "" && !isEnvName(prefix) {
				return usagef(cmd, "--prefix must be letters, digits and _, not starting with a digit, got %q", shortArg(prefix))
			}
			v, err := vis.visibility(cmd)
			if err != nil {
				return err
			}
			var selections []secretSelection
			for _, s := range secrets {
				sel, err := parseSecretSelection(s)
				if err != nil {
					return err
				}
				selections = append(selections, sel)
			}
			src := &lazySource{a: a, vis: v}
			ctx, cancel := a.apiContext(cmd)
			env, from, err := buildEnv(ctx, secretref.NewResolver(src), src, selections, envFlags, prefix)
			cancel()
			if err != nil {
				return err
			}
			parent := os.Environ()
			if !override {
				if err := refuseOverrides(parent, env, from, runRemedies); err != nil {
					return err
				}
			}
			return runChild(args, childEnv(parent, env), a)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&secrets, "secret", "s", nil, "put this secret's keys (NAME or NAME:KEY,...) into the environment (repeatable)")
	f.StringArrayVarP(&envFlags, "env", "e", nil, "set VAR to a template with {{name.key}} references (repeatable)")
	f.StringVar(&prefix, "prefix", "", "put this before the variable names --secret makes (e.g. DB_)")
	f.BoolVar(&override, "override", false, "let secrets replace variables the environment already has")
	f.StringVarP(&command, "command", "c", "", "run this shell command line with sh -c (instead of CMD after --)")
	vis.bind(cmd, "")
	f.SetInterspersed(false)
	_ = cmd.RegisterFlagCompletionFunc("secret", a.completeSecretNames(&vis, 1))
	return cmd
}

// runChild starts args with env, forwards signals and returns the child's
// exit status as an *exitStatus.
func runChild(args []string, env []string, a *app) error {
	path, err := exec.LookPath(args[0])
	if err != nil {
		printError(a.stderr, errcode.New(errcode.NotFound, "cannot run %s: command not found", shortArg(args[0])), "")
		return &exitStatus{code: 127}
	}
	child := exec.Command(path, args[1:]...)
	child.Args[0] = args[0]
	child.Env = env
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stdout, a.stderr

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if err := child.Start(); err != nil {
		printError(a.stderr, errcode.New(errcode.Internal, "cannot run %s: %v", shortArg(args[0]), errors.Unwrap(err)), "")
		return &exitStatus{code: 126}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = child.Wait()
	close(done)
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
	return errcode.Wrap(errcode.Internal, err, "waiting for %s failed", shortArg(args[0]))
}
