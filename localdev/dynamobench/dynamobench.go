// Package dynamobench measures the DynamoDB backend against dynalite and the
// local KMS for `make bench`: throughput of create, get, update, list and
// delete (informational only: dynalite is not DynamoDB) and, what matters
// on AWS because it is what costs money, the number of DynamoDB and KMS
// calls each operation makes, counted at a proxy in front of dynalite and
// at the KMS server.
//
// It builds its SDK clients with explicit local endpoints and changes no
// environment variable, so it can run inside a larger bench program.
package dynamobench

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskmsapi "github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/kms"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/dynamostore"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/envelope/awskms"
	"github.com/lockwell/lockwell/shared/retry"
	"github.com/lockwell/lockwell/shared/secret"
)

// Options size a run. The zero value is a run of a few seconds.
type Options struct {
	Secrets     int // secrets created, read, updated and deleted; default 300
	Concurrency int // goroutines for the throughput figures; default 4
	PageSize    int // list page size; default 50
}

// Result is one operation's figures.
type Result struct {
	Op        string
	PerSecond float64
	DynamoDB  map[string]float64 // calls per operation, by DynamoDB operation
	KMS       map[string]float64 // calls per operation, by KMS operation
}

// Run starts dynalite, a counting proxy and the local KMS, measures, writes
// a table to w and returns the figures. Errors: dynalite.ErrNotInstalled, or
// any failure of the stack or of an operation.
func Run(ctx context.Context, w io.Writer, opts Options) ([]Result, error) {
	if opts.Secrets <= 0 {
		opts.Secrets = 300
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 50
	}
	dyn, err := dynalite.Start(ctx, dynalite.Options{})
	if err != nil {
		return nil, err
	}
	defer dyn.Stop()
	proxy, err := dynalite.NewProxy(dyn.Endpoint())
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	keys, err := kms.Start()
	if err != nil {
		return nil, err
	}
	defer keys.Close()
	keyID, err := keys.CreateKey("lockwell bench", "alias/lockwell-bench")
	if err != nil {
		return nil, err
	}

	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-only", ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy.URL()) })
	kmsClient := awskmsapi.NewFromConfig(cfg, func(o *awskmsapi.Options) { o.BaseEndpoint = aws.String(keys.URL()) })
	// instance opens the backend as one function instance would: its own
	// data-key cache, cold at first.
	instance := func(create bool) (*dynamostore.Backend, error) {
		w := envelope.NewCachingWrapper(awskms.New(kmsClient, keyID, retry.Default), 0, 0)
		return dynamostore.New(ctx, ddb, dynamostore.Config{Table: "lockwell-bench", Sealer: envelope.NewSealer(w), CreateTable: create})
	}
	writer, err := instance(true)
	if err != nil {
		return nil, err
	}

	kmsOps := []string{"GenerateDataKey", "Decrypt", "Encrypt"}
	var results []Result
	measure := func(op string, n int, fn func(i int) error) error {
		proxy.Reset()
		before := map[string]int{}
		for _, k := range kmsOps {
			before[k] = keys.Calls(k)
		}
		start := time.Now()
		if err := parallel(n, opts.Concurrency, fn); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		elapsed := time.Since(start)
		r := Result{Op: op, PerSecond: float64(n) / elapsed.Seconds(), DynamoDB: map[string]float64{}, KMS: map[string]float64{}}
		for k, v := range proxy.Calls() {
			r.DynamoDB[k] = float64(v) / float64(n)
		}
		for _, k := range kmsOps {
			if d := keys.Calls(k) - before[k]; d > 0 {
				r.KMS[k] = float64(d) / float64(n)
			}
		}
		results = append(results, r)
		return nil
	}

	values := map[string]string{"user": "svc", "password": strings.Repeat("p", 48), "url": "postgres://db.internal:5432/app"}
	made := make([]*secret.Secret, opts.Secrets)
	now := secret.Now()
	for i := range made {
		made[i] = &secret.Secret{ID: secret.NewID(), Name: fmt.Sprintf("bench-%05d", i), Owner: "bench", Private: i%4 == 0,
			Values: values, Keys: secret.KeysOf(values), Version: 1, Created: now, Updated: now}
	}
	if err := measure("create", len(made), func(i int) error { return writer.Create(ctx, made[i]) }); err != nil {
		return nil, err
	}
	reader, err := instance(false)
	if err != nil {
		return nil, err
	}
	get := func(i int) error { _, err := reader.Get(ctx, made[i].ID); return err }
	if err := measure("get (cold key cache)", len(made), get); err != nil {
		return nil, err
	}
	if err := measure("get (warm key cache)", len(made), get); err != nil {
		return nil, err
	}
	if err := measure("update", len(made), func(i int) error {
		next := made[i].Clone()
		next.Version, next.Updated = 2, now.Add(time.Second)
		// History as the store keeps it by default: the replaced version is
		// copied before the write.
		next.Keep = &secret.Retention{Versions: 20}
		return writer.Update(ctx, next, 1)
	}); err != nil {
		return nil, err
	}
	pages := 0
	proxy.Reset()
	if err := measure(fmt.Sprintf("list page (%d items)", opts.PageSize), 1, func(int) error {
		var after *backend.Cursor
		for {
			page, err := reader.List(ctx, backend.Query{Viewer: "bench", After: after, Limit: opts.PageSize})
			if err != nil {
				return err
			}
			pages++
			if len(page) < opts.PageSize {
				return nil
			}
			after = backend.CursorAfter(page[len(page)-1], backend.ByName)
		}
	}); err != nil {
		return nil, err
	}
	// measure counted one "operation" for the whole walk: make it per page.
	last := &results[len(results)-1]
	last.PerSecond *= float64(pages)
	for k := range last.DynamoDB {
		last.DynamoDB[k] /= float64(pages)
	}
	if err := measure("delete", len(made), func(i int) error { return writer.Delete(ctx, made[i].ID, 2) }); err != nil {
		return nil, err
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "DynamoDB backend on dynalite + local KMS (%d secrets, %d goroutines; throughput is informational)\n", opts.Secrets, opts.Concurrency)
	fmt.Fprintln(tw, "operation\tops/s\tDynamoDB calls/op\tKMS calls/op")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\n", r.Op, r.PerSecond, perOp(r.DynamoDB), perOp(r.KMS))
	}
	return results, tw.Flush()
}

func perOp(m map[string]float64) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, fn func(i int) error) error {
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var first error
feed:
	for i := range n {
		select {
		case next <- i:
		case first = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		select {
		case first = <-errs:
		default:
		}
	}
	return first
}
