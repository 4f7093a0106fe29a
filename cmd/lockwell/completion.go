package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/client"
)

// completionLimit bounds how many secret names a completion offers.
const completionLimit = 500

// completeSecretNames completes the first n arguments of a command with the
// names of the secrets the caller can see (narrowed by vis when not nil),
// asked from the server with the command's connection settings. It never
// reads values, and offers nothing (rather than failing the shell) when the
// server cannot be reached.
func (a *app) completeSecretNames(vis *visibilityFlags, n int) cobra.CompletionFunc {
	return a.completeNames(n, func(cmd *cobra.Command, opts *client.ListOptions) {
		if vis != nil {
			switch v, _ := vis.visibility(cmd); v {
			case client.OnlyPrivate:
				opts.Private = client.Set(true)
			case client.OnlyPublic:
				opts.Private = client.Set(false)
			}
		}
	})
}

// completeDeletedSecretNames completes the first argument with the names
// deleted secrets had (those the caller may restore), as "secret restore"
// takes them.
func (a *app) completeDeletedSecretNames() cobra.CompletionFunc {
	return a.completeNames(1, func(_ *cobra.Command, opts *client.ListOptions) { opts.Deleted = true })
}

// completeNames completes the first n arguments with secret names from a
// list narrowed by narrow.
func (a *app) completeNames(n int, narrow func(*cobra.Command, *client.ListOptions)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) >= n {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		opts := client.ListOptions{NamePrefix: toComplete, Sort: "name", PageSize: 100}
		narrow(cmd, &opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := a.client(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		seen := map[string]bool{}
		var names []string
		for s, err := range c.AllSecrets(ctx, opts) {
			if err != nil {
				return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
			}
			if !seen[s.Name] && strings.HasPrefix(s.Name, toComplete) {
				seen[s.Name] = true
				names = append(names, s.Name+"\t"+visibility(s.Private))
			}
			if len(names) >= completionLimit {
				break
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
