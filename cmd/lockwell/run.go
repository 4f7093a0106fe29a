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
	once sync.Once
	c    *client.Client
	err  error
}

func (s *lazySource) LookupSecret(ctx context.Context, name string, withValues bool) (*secret.Secret, error) {
	s.once.Do(func() { s.c, s.err = s.a.client(ctx) })
	if s.err != nil {
		return nil, s.err
	}
	return s.c.LookupSecret(ctx, name, withValues)
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
func buildEnv(ctx context.Context, r *secretref.Resolver, src secretref.Source, selections []secretSelection, envFlags []string) (map[string]string, error) {
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
				if errcode.Is(err, errcode.NotFound) {
					return nil, errcode.New(errcode.NotFound, "--secret %s: the secret %s does not exist (no private or public secret has that name)", sel.name, sel.name)
				}
				return nil, err
			}
			keys = s.Keys
		}
		for _, k := range keys {
			v, err := r.Value(ctx, secretref.Ref{Name: sel.name, Key: k})
			if err != nil {
				return nil, err
			}
			if err := set(envName(k), sel.name+"."+k, v); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range envFlags {
		name, tpl, ok := strings.Cut(e, "=")
		if !ok || !isEnvName(name) {
			return nil, errcode.New(errcode.InvalidArgument, "--env must be VAR=VALUE with VAR of letters, digits and _ (not starting with a digit), got %q", shortArg(name))
		}
		v, err := r.Render(ctx, tpl)
		if err != nil {
			return nil, errcode.New(errcode.Of(err), "--env %s: %s", name, errcode.Message(err))
		}
		if err := set(name, "--env "+name, v); err != nil {
			return nil, err
		}
	}
	return env, nil
}

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
	cmd := &cobra.Command{
		Use:   "run [--secret NAME[:KEY,...]]... [--env VAR=TEMPLATE]... -- CMD [ARGS...]",
		Short: "Run a command with secrets in its environment",
		Long: `Run CMD with secrets in its environment. The values are passed only through
the child's environment: never in arguments, never on disk.

--secret NAME sets one variable per key of the secret; NAME:KEY1,KEY2 only
those keys. A key becomes a variable name in upper case with "." and "-" as
"_" (db.host -> DB_HOST). --env VAR=TEMPLATE sets VAR to a template with
references ({{db.password}}, or postgres://{{db.user}}:{{db.password}}@h/db).
Two sources for one variable are an error. Secret variables replace inherited
ones; LOCKWELL_TOKEN is not passed on.

Signals (INT, TERM, HUP, QUIT, USR1, USR2, WINCH) are forwarded to the child,
and lockwell exits with the child's status (128+N when signal N ended it).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 0 {
				return errcode.New(errcode.InvalidArgument, "unexpected argument %q before --; run takes the command after --", shortArg(args[0]))
			}
			var selections []secretSelection
			for _, s := range secrets {
				sel, err := parseSecretSelection(s)
				if err != nil {
					return err
				}
				selections = append(selections, sel)
			}
			src := &lazySource{a: a}
			ctx, cancel := a.apiContext(cmd)
			env, err := buildEnv(ctx, secretref.NewResolver(src), src, selections, envFlags)
			cancel()
			if err != nil {
				return err
			}
			return runChild(args, childEnv(os.Environ(), env), a)
		},
	}
	cmd.Flags().StringArrayVarP(&secrets, "secret", "s", nil, "put this secret's keys (NAME or NAME:KEY,...) into the environment (repeatable)")
	cmd.Flags().StringArrayVarP(&envFlags, "env", "e", nil, "set VAR to a template with {{name.key}} references (repeatable)")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// runChild starts args with env, forwards signals and returns the child's
// exit status as an *exitStatus.
func runChild(args []string, env []string, a *app) error {
	path, err := exec.LookPath(args[0])
	if err != nil {
		printError(a.stderr, errcode.New(errcode.NotFound, "cannot run %s: command not found", shortArg(args[0])))
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
		printError(a.stderr, errcode.New(errcode.Internal, "cannot run %s: %v", shortArg(args[0]), errors.Unwrap(err)))
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
