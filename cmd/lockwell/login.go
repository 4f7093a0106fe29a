package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

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
		Use:   "login --url URL [--token-stdin]",
		Short: "Save the server URL and your API token for later commands",
		Long: `Save the server URL and credentials in the configuration file (mode 0600).

The API token is read from standard input with --token-stdin (for example
"lockwell login --url URL --token-stdin < token.txt") or from --token-file,
otherwise from LOCKWELL_TOKEN, otherwise asked for without echo. --token TOKEN also works but
exposes the token to other users and your shell history.

With --auth aws-sigv4 or --auth google-idtoken no token is needed: the AWS
default credential chain or Google application default credentials are used
on each call, and only the mode (and --aws-region or --audience) is saved.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.settings()
			if err != nil {
				return err
			}
			if a.flagURL == "" && s.URL == "" {
				return errcode.New(errcode.InvalidArgument, "login needs --url")
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
			if !noVerify {
				ctx, cancel := a.apiContext(cmd)
				defer cancel()
				c, err := newClient(ctx, s)
				if err != nil {
					return err
				}
				if _, err := c.ListSecrets(ctx, client.ListOptions{PageSize: 1}, ""); err != nil {
					return err
				}
			}
			path, err := a.saveConfig(config{URL: s.URL, Auth: s.Auth, Token: s.Token, AWSRegion: a.flagRegion, Audience: a.flagAudience})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Logged in to %s; settings saved in %s (mode 0600).\n", s.URL, path)
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
				views[i] = tokenView{ID: t.ID, User: t.User, Role: string(t.Role), Created: t.Created.Format(time.RFC3339)}
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
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Token == "" {
				fmt.Fprintln(a.stderr, "No saved token: nothing to log out of.")
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
			path, err := a.saveConfig(cfg)
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
