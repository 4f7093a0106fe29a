package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

// loginCommand is "lockwell login": it checks the server and credentials
// and saves them in the configuration file (mode 0600).
//
// The token is read from standard input (--token-stdin), from the file
// --token-file names, from LOCKWELL_TOKEN, or from a prompt without echo; never from an argument,
// which other users see in the process list and the shell keeps in its
// history. --token still works, for the command line issue 2 names, but
// warns.
func loginCommand(a *app) *cobra.Command {
	var tokenStdin, noVerify bool
	var tokenArg string
	cmd := &cobra.Command{
		Use:   "login --url URL [--token-stdin] [--profile NAME]",
		Short: "Save the server URL and your API token for later commands",
		Long: `Save the server URL and credentials in the configuration file (mode 0600).

The API token is read from standard input with --token-stdin (for example
"lockwell login --url URL --token-stdin < token.txt") or from --token-file,
otherwise from LOCKWELL_TOKEN, otherwise asked for without echo. --token TOKEN also works but
exposes the token to other users and your shell history.

With --auth aws-sigv4 or --auth google-idtoken no token is needed: the AWS
default credential chain or Google application default credentials are used
on each call, and only the mode (and --aws-region or --audience) is saved.

--profile NAME saves the login under a name, so that one configuration file
holds several servers ("lockwell login --profile prod --url https://..."); a
later command picks it with --profile NAME or LOCKWELL_PROFILE=NAME. Without
a name the login is the "default" profile. Login checks the server and the
token and says who the server takes you for.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.loggingIn = true
			s, err := a.settings()
			if err != nil {
				return err
			}
			if a.flagURL == "" && s.URL == "" {
				return usagef(cmd, "login needs --url (for example --url http://127.0.0.1:8080)")
			}
			if _, err := client.ParseServerURL(s.URL); err != nil {
				return err
			}
			if s.Auth == "token" || s.Auth == "bearer" {
				switch {
				case tokenArg != "":
					fmt.Fprintln(a.stderr, "lockwell: warning: --token puts the token in the process list and your shell history; prefer --token-stdin, LOCKWELL_TOKEN or the prompt")
					s.Token = tokenArg
				case tokenStdin:
					if s.Token, err = a.readLine(); err != nil {
						return err
					}
				case a.flagTokenFile != "":
					// a.settings read it already; without this case the
					// global --token-file was ignored and login prompted.
				case a.getenv("LOCKWELL_TOKEN") != "":
					s.Token = a.getenv("LOCKWELL_TOKEN")
				default:
					if s.Token, err = a.readSecret("API token: "); err != nil {
						return errcode.New(errcode.InvalidArgument, "no token: pass --token-stdin, set LOCKWELL_TOKEN, or run login in a terminal")
					}
				}
				s.Token = strings.TrimSpace(s.Token)
				if s.Token == "" {
					return errcode.New(errcode.InvalidArgument, "the token is empty")
				}
			} else {
				s.Token = ""
			}
			who := ""
			if !noVerify {
				ctx, cancel := a.apiContext(cmd)
				defer cancel()
				c, err := newClient(ctx, s)
				if err != nil {
					return err
				}
				if who, err = whoIs(ctx, c); err != nil {
					return err
				}
			}
			name, _ := a.profileName()
			file, err := a.loadConfig()
			if err != nil {
				return err
			}
			file.set(name, profile{URL: s.URL, Auth: s.Auth, Token: s.Token, AWSRegion: a.flagRegion, Audience: a.flagAudience})
			path, err := a.saveConfig(file)
			if err != nil {
				return err
			}
			if who != "" {
				who = " as " + who
			}
			where := "settings saved in " + path + " (mode 0600)."
			if name != defaultProfile {
				where = "profile " + name + " saved in " + path + " (mode 0600). Use it with --profile " + name + " or LOCKWELL_PROFILE=" + name + "."
			}
			fmt.Fprintf(a.stdout, "Logged in to %s%s; %s\n", s.URL, who, where)
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&tokenStdin, "token-stdin", false, "read the token from standard input")
	f.StringVar(&tokenArg, "token", "", "the token (discouraged: visible in the process list; use --token-stdin)")
	f.BoolVar(&noVerify, "no-verify", false, "save without checking the server and token")
	return cmd
}

// tokenCommand is "lockwell token ...".
func tokenCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens (admins)"}
	var user, role string
	create := &cobra.Command{
		Use:   "create --user USER [--role admin|member]",
		Short: "Mint an API token for a user",
		Long: `Mint an API token. The token is printed once, alone on standard output, so
that it can be piped into a file or a secret manager; it cannot be shown again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if user == "" {
				return errcode.New(errcode.InvalidArgument, "token create needs --user")
			}
			if role != "admin" && role != "member" {
				return errcode.New(errcode.InvalidArgument, "--role must be admin or member, got %q", role)
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			tok, err := c.CreateToken(ctx, user, role)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, tok)
			fmt.Fprintf(a.stderr, "Created a %s token for %s. Store it now: it is not shown again.\n", role, user)
			return nil
		},
	}
	create.Flags().StringVar(&user, "user", "", "the user the token authenticates")
	create.Flags().StringVar(&role, "role", "member", "admin or member")

	var output string
	list := &cobra.Command{
		Use:   "list [-o table|json|yaml]",
		Short: "List API tokens: id, user, role and creation time (never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" && output != "yaml" {
				return errcode.New(errcode.InvalidArgument, "-o must be table, json or yaml, got %q", output)
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			tokens, err := c.ListTokens(ctx)
			if err != nil {
				return err
			}
			type tokenView struct {
				ID      string `json:"id" yaml:"id"`
				User    string `json:"user" yaml:"user"`
				Role    string `json:"role" yaml:"role"`
				Created string `json:"created" yaml:"created"`
			}
			views := make([]tokenView, len(tokens))
			for i, t := range tokens {
				views[i] = tokenView{ID: t.ID, User: t.User, Role: string(t.Role), Created: displayTime(t.Created)}
			}
			if output == "table" {
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tROLE\tCREATED")
				for _, v := range views {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.ID, v.User, v.Role, v.Created)
				}
				return tw.Flush()
			}
			enc := marshalJSON
			if output == "yaml" {
				enc = marshalYAML
			}
			data, err := enc(views)
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(data)
			return err
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "table, json or yaml")

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token by its id (from lockwell token list)",
		Long: `Revoke an API token by its id (tok_ and 16 hex digits, from "lockwell token
list"). The server that answers refuses the token at once; other server
instances within their token cache's lifetime (30 seconds).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := identity.ValidateTokenID(args[0]); err != nil {
				return err
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			if err := c.RevokeToken(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "Revoked token %s.\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// logoutCommand is "lockwell logout": it removes the saved token from the
// configuration file and, with --revoke, first revokes it on the server it
// was saved for.
func logoutCommand(a *app) *cobra.Command {
	var revoke bool
	cmd := &cobra.Command{
		Use:   "logout [--revoke]",
		Short: "Remove the saved API token (and with --revoke, revoke it on the server)",
		Long: `Remove the API token that "lockwell login" saved from the configuration
file; the server URL and other settings stay. With --revoke the token is
first revoked on the server it was saved for, so that it stops working
everywhere (a copy of it elsewhere too). The token is removed from the file
even when the revocation fails; the error then names the token's id, which
an admin can revoke with "lockwell token revoke ID".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			file, err := a.loadConfig()
			if err != nil {
				return err
			}
			name, _ := a.profileName()
			if err := validateProfileName(name); err != nil {
				return err
			}
			cfg, _ := file.get(name)
			if cfg.Token == "" {
				fmt.Fprintf(a.stderr, "No saved token in profile %s: nothing to log out of.\n", name)
				return nil
			}
			token := cfg.Token
			var revokeErr error
			if revoke {
				ctx, cancel := a.apiContext(cmd)
				defer cancel()
				var c *client.Client
				// The saved token goes only to the server it was saved for.
				c, revokeErr = newClient(ctx, settings{URL: cfg.URL, Auth: "token", Token: token})
				if revokeErr == nil {
					revokeErr = c.RevokeSelf(ctx)
				}
			}
			cfg.Token = ""
			file.set(name, cfg)
			path, err := a.saveConfig(file)
			if err != nil {
				return err
			}
			id := identity.TokenIDOf(token)
			switch {
			case !revoke:
				fmt.Fprintf(a.stderr, "Removed the saved token %s from %s. It still works until an admin revokes it (or use --revoke).\n", id, path)
			case revokeErr == nil:
				fmt.Fprintf(a.stderr, "Revoked token %s on %s and removed it from %s.\n", id, cfg.URL, path)
			case errcode.Is(revokeErr, errcode.Unauthenticated):
				fmt.Fprintf(a.stderr, "Removed token %s from %s; %s no longer accepts it.\n", id, path, cfg.URL)
			default:
				return errcode.Wrap(errcode.Of(revokeErr), revokeErr,
					"removed token %s from %s but could not revoke it (%s); an admin can run lockwell token revoke %s",
					id, path, errcode.Message(revokeErr), id)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&revoke, "revoke", false, "revoke the token on the server before removing it")
	return cmd
}

// whoIs asks the server who the client is, as "NAME (role ROLE)". A
// deployment that does not serve GET /whoami (one function per operation)
// is checked with a list of one secret instead, and whoIs returns "".
func whoIs(ctx context.Context, c *client.Client) (string, error) {
	p, err := c.WhoAmI(ctx)
	if errcode.Is(err, errcode.NotFound) {
		_, err = c.ListSecrets(ctx, client.ListOptions{PageSize: 1}, "")
		return "", err
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s (role %s)", p.Name, p.Role), nil
}

// whoamiCommand is "lockwell whoami": the server, the profile and the
// principal the server authenticates the caller as.
func whoamiCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "whoami [-o text|json]",
		Short: "Show who the server takes you for, and which server and profile",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usagef(cmd, "-o must be text or json, got %q", output)
			}
			ctx, cancel := a.apiContext(cmd)
			defer cancel()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			p, err := c.WhoAmI(ctx)
			if err != nil {
				return err
			}
			name, _ := a.profileName()
			if output == "json" {
				data, err := marshalJSON(map[string]string{"user": p.Name, "role": string(p.Role), "url": c.URL(), "profile": name})
				if err != nil {
					return err
				}
				_, err = a.stdout.Write(data)
				return err
			}
			fmt.Fprintf(a.stdout, "%s (role %s) on %s, profile %s\n", p.Name, p.Role, c.URL(), name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// versionCommand is "lockwell version": the module version and the commit
// the binary was built from, as the Go toolchain recorded them.
func versionCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit lockwell was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.stdout, versionString())
			return nil
		},
	}
}

// versionString reads the build information: "lockwell VERSION (commit C,
// built TIME[, modified]) GOVERSION OS/ARCH". A binary built outside a git
// checkout, or by go run, has no commit and says so.
func versionString() string {
	version, commit, when, modified, goVersion := "(devel)", "", "", false, runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		goVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	build := "commit unknown: built without version control information"
	if commit != "" {
		build = "commit " + commit
		if when != "" {
			build += ", " + when
		}
		if modified {
			build += ", with uncommitted changes"
		}
	}
	return fmt.Sprintf("lockwell %s (%s) %s %s/%s", version, build, goVersion, runtime.GOOS, runtime.GOARCH)
}
