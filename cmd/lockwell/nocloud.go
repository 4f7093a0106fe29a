//go:build nocloud

package main

import (
	"github.com/spf13/cobra"

	"github.com/lockwell/lockwell/shared/errcode"
)

// cloudCommands, in a build with -tags nocloud, are stubs of admin and
// migrate that say how to get them (see cloud.go).
func cloudCommands(a *app) []*cobra.Command {
	stub := func(name, short string) *cobra.Command {
		return &cobra.Command{
			Use:                name,
			Short:              short + " (not in this build: -tags nocloud)",
			DisableFlagParsing: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				return errcode.New(errcode.InvalidArgument, "lockwell %s needs the cloud SDKs, which this build (-tags nocloud) leaves out; install the full CLI: go install ./cmd/lockwell", name)
			},
		}
	}
	return []*cobra.Command{
		stub("admin", "Maintain a deployment's storage"),
		stub("migrate", "Move secrets from ZenML's legacy secrets managers into Lockwell"),
	}
}
