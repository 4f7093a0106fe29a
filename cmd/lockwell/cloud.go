//go:build !nocloud

package main

import (
	"github.com/spf13/cobra"

	migratecli "github.com/lockwell/lockwell/migrate/cli"
)

// cloudCommands are the commands that link the cloud SDKs: admin (which
// opens DynamoDB, KMS and the external value stores directly) and migrate
// (which reads ZenML's legacy secrets managers on AWS, Google Cloud, Azure
// and Vault, and drives the queue-driven migrator). A build with
// -tags nocloud replaces them with stubs that say so (nocloud.go), which
// roughly halves the binary and its cold build; the API commands, serve
// and bearer tokens work the same in both.
func cloudCommands(a *app) []*cobra.Command {
	return []*cobra.Command{
		adminCommand(a),
		migratecli.Command(migratecli.WithClient(a.client), migratecli.WithGetenv(a.getenv)),
	}
}
