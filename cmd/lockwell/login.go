package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
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
	cmd.AddCommand(create)
	return cmd
}
