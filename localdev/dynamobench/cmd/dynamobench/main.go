// Command dynamobench prints the DynamoDB backend's figures for make bench:
// throughput against dynalite and the local KMS (informational) and the
// DynamoDB and KMS calls each operation makes (what costs money on AWS).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/lockwell/lockwell/localdev/dynamobench"
)

func main() {
	var opts dynamobench.Options
	flag.IntVar(&opts.Secrets, "secrets", 1000, "secrets created, read, updated and deleted")
	flag.IntVar(&opts.Concurrency, "concurrency", 8, "goroutines for the throughput figures")
	flag.IntVar(&opts.PageSize, "page-size", 50, "list page size")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := dynamobench.Run(ctx, os.Stdout, opts); err != nil {
		fmt.Fprintln(os.Stderr, "dynamobench:", err)
		os.Exit(1)
	}
}
