package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/secret"
)

// rewriteArgs accepts the habits of "zenml secret": for the commands that
// take KEY=VALUE arguments (secret create and update), an argument
// --KEY=VALUE whose KEY is not one of the command's flags is the value
// argument KEY=VALUE. Everything else is left for cobra to parse.
func (a *app) rewriteArgs(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd.Annotations[annotationKeyValueArgs] == "" {
		return args
	}
	out := make([]string, len(args))
	copy(out, args)
	for i, arg := range out {
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if !strings.HasPrefix(arg, "--") || !hasValue || cmd.Flag(name) != nil || secret.ValidateKey(name) != nil {
			continue
		}
		out[i] = name + "=" + value
	}
	return out
}

// annotationKeyValueArgs marks the commands whose --KEY=VALUE arguments
// rewriteArgs turns into KEY=VALUE.
const annotationKeyValueArgs = "lockwell.key-value-args"
