// Command bench measures migration throughput end to end on this machine
// (make bench): N legacy entries (default 10,000) in a legacy source, a
// job created and one message per entry enqueued on a local SQS (fauxqs,
// through the real SDK client), and consumers that receive batches of ten,
// hand them to the Lambda's handler as the SQS event JSON Lambda delivers,
// and delete what succeeded, as Lambda's event source mapping does. The
// handler migrates each entry into the SQL store (SQLite, values sealed with
// a local key) and records it in the SQL job store. At the end it checks
// that every entry was migrated exactly once and prints entries per second.
//
//	go run ./localdev/migratebench [-n 10000] [-source local|aws|zenml-server] [-consumers 4] [-concurrency 4] [-same-db]
//
// -source aws plants the entries in the local AWS Secrets Manager server
// (localdev/awssecretsmanager) and reads them through the SDK. -source
// zenml-server plants them in the ZenML REST stand-in (localdev/zenmlserver)
// as secrets of ZenML's centralized store, every other one private to the
// service account whose API key the source logs in with, and reads them
// through ZenML's REST API (paged list, one detail request per secret); the
// private ones must arrive as private secrets of the mapped owner.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"gopkg.in/yaml.v3"

	localsm "github.com/lockwell/lockwell/localdev/awssecretsmanager"
	localsqs "github.com/lockwell/lockwell/localdev/sqs"
	"github.com/lockwell/lockwell/localdev/zenmlserver"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy"
	_ "github.com/lockwell/lockwell/migrate/legacy/awssm"
	_ "github.com/lockwell/lockwell/migrate/legacy/local"
	_ "github.com/lockwell/lockwell/migrate/legacy/zenmlserver"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/migrate/sqsevent"
	"github.com/lockwell/lockwell/migrate/sqspoll"
	"github.com/lockwell/lockwell/migrate/sqsqueue"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/sqlstore"
	"github.com/lockwell/lockwell/shared/store"
)

func main() {
	n := flag.Int("n", 10000, "legacy entries")
	source := flag.String("source", "local", "source: local (YAML file), aws (local Secrets Manager server) or zenml-server (ZenML REST stand-in)")
	consumers := flag.Int("consumers", 4, "concurrent pollers (Lambda instances)")
	concurrency := flag.Int("concurrency", 4, "messages of one batch migrated at once")
	sameDB := flag.Bool("same-db", false, "keep jobs in the store's SQLite database (the deployment default) instead of a file of their own")
	flag.Parse()
	if err := run(*n, *source, *consumers, *concurrency, *sameDB); err != nil {
		fmt.Fprintln(os.Stderr, "migrate bench:", err)
		os.Exit(1)
	}
}

func run(n int, sourceKind string, consumers, concurrency int, sameDB bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "lockwell-migrate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	sourceURL, err := plant(ctx, dir, sourceKind, n)
	if err != nil {
		return err
	}

	key := make([]byte, envelope.KeySize)
	rand.Read(key)
	wrapper, err := envelope.NewLocalKey(key)
	if err != nil {
		return err
	}
	storeURL := "sqlite://" + filepath.Join(dir, "lockwell.db") + "?synchronous=normal"
	b, err := sqlstore.Open(ctx, storeURL, backend.Options{Sealer: envelope.NewSealer(wrapper)})
	if err != nil {
		return err
	}
	st := store.New(b)
	defer st.Close()
	jobsURL := "sqlite://" + filepath.Join(dir, "jobs.db")
	if sameDB {
		jobsURL = storeURL
	}
	jobs, err := sqljobs.Open(ctx, jobsURL)
	if err != nil {
		return err
	}
	defer jobs.Close()

	sqsServer, err := localsqs.Start(ctx, 0)
	if err != nil {
		return err
	}
	defer sqsServer.Close()
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(sqsServer.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secretlocal", "")})
	queueURL, _, err := sqsqueue.CreateWithDLQ(ctx, client, "lockwell-migrate", 5, 60)
	if err != nil {
		return err
	}
	arn := "arn:aws:sqs:us-east-1:000000000000:lockwell-migrate"

	// start: list the source, create the job, enqueue one message per entry.
	t0 := time.Now()
	src, err := legacy.Open(ctx, sourceURL)
	if err != nil {
		return err
	}
	items, err := src.List(ctx)
	if err != nil {
		return err
	}
	job := migrate.Job{ID: secret.NewID(), Created: secret.Now(), Owner: "bench", Source: sourceURL,
		Options: migrate.Options{OwnerMap: map[string]string{"bench-sa": "bench"}}}
	var entries []migrate.EntryStatus
	var msgs []migrate.Message
	for _, it := range items {
		entries = append(entries, migrate.EntryStatus{Name: it.Ref(), Outcome: migrate.Pending})
		msgs = append(msgs, migrate.Message{Job: job.ID, Source: sourceURL, Name: it.Ref()})
	}
	if err := jobs.CreateJob(ctx, job, entries); err != nil {
		return err
	}
	if err := (sqsqueue.Queue{Client: client, URL: queueURL}).Send(ctx, msgs); err != nil {
		return err
	}
	started := time.Since(t0)

	// consume: the event source mapping's loop around the Lambda handler.
	owner := identity.Principal{Name: "bench", Role: identity.Member}
	h := sqsevent.Handler{Concurrency: concurrency, Proc: &migrate.Processor{Jobs: jobs, MaxDeliveries: 5,
		Target: func(*migrate.Job) migrate.Target { return migrate.StoreTarget{Store: st, Principal: owner} }}}
	t1 := time.Now()
	stats, err := sqspoll.Run(ctx, sqspoll.Options{Client: client, QueueURL: queueURL, QueueARN: arn, Handler: h, Consumers: consumers,
		Until: func() bool {
			c, err := jobs.Counts(ctx, job.ID)
			return err == nil && c[migrate.Pending] == 0
		}})
	consumed := time.Since(t1)
	if err != nil {
		return err
	}

	counts, err := jobs.Counts(ctx, job.ID)
	if err != nil {
		return err
	}
	stored, private := 0, 0
	for token := ""; ; {
		page, err := st.List(ctx, owner, store.ListRequest{PageSize: store.MaxPageSize, PageToken: token})
		if err != nil {
			return err
		}
		stored += len(page.Items)
		for _, s := range page.Items {
			if s.Private && s.Owner == owner.Name {
				private++
			}
		}
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	if counts[migrate.Migrated] != n || stored != n {
		return fmt.Errorf("expected %d migrated exactly once; job counts %v, %d secrets stored", n, counts, stored)
	}
	if sourceKind == "zenml-server" && private != n/2 {
		return fmt.Errorf("expected the %d private ZenML secrets private to their mapped owner, found %d", n/2, private)
	}
	total := started + consumed
	fmt.Printf("migration: %d legacy entries (%s source) -> SQLite store, jobs in %s, %d consumers x %d concurrent, %d CPUs\n",
		n, sourceKind, map[bool]string{true: "the same database", false: "their own database"}[sameDB], consumers, concurrency, numCPU())
	fmt.Printf("  start (list + create job + enqueue): %v (%.0f entries/s)\n", started.Round(time.Millisecond), float64(n)/started.Seconds())
	fmt.Printf("  migrate (receive + handler + delete): %v (%.0f entries/s), %d redeliveries\n", consumed.Round(time.Millisecond), float64(n)/consumed.Seconds(), stats.Failed)
	fmt.Printf("  end to end: %v, %.0f entries/s; every entry migrated exactly once\n", total.Round(time.Millisecond), float64(n)/total.Seconds())
	return nil
}

// plant writes n legacy entries and returns the source URL.
func plant(ctx context.Context, dir, kind string, n int) (string, error) {
	values := func(i int) map[string]string {
		return map[string]string{"username": fmt.Sprintf("user-%d", i), "password": fmt.Sprintf("pässword-%d-%x", i, i*7919), "zenml_schema_name": "basic_auth"}
	}
	switch kind {
	case "local":
		doc := map[string]map[string]string{}
		for i := range n {
			v := values(i)
			for k, s := range v {
				if k != legacy.SchemaKey {
					v[k] = b64(s)
				}
			}
			doc[fmt.Sprintf("secret-%05d", i)] = v
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, "secrets.yaml")
		return "zenml-local://" + path, os.WriteFile(path, b, 0o600)
	case "aws":
		srv := localsm.New()
		endpoint, _, err := srv.Listen("127.0.0.1:0")
		if err != nil {
			return "", err
		}
		for k, v := range map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "AWS_ACCESS_KEY_ID": "AKIDLOCAL",
			"AWS_SECRET_ACCESS_KEY": "local", "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"} {
			os.Setenv(k, v)
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion("us-east-1"))
		if err != nil {
			return "", err
		}
		c := secretsmanager.NewFromConfig(cfg)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				for i := w; i < n; i += 8 {
					body, _ := json.Marshal(values(i))
					if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("secret-%05d", i)), SecretString: aws.String(string(body))}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return "", err
		}
		return "zenml-aws://?region=us-east-1&scope=none", nil
	case "zenml-server":
		zen := zenmlserver.New()
		sa := zen.AddUser("bench-sa", "", true)
		for i := range n {
			v := values(i)
			delete(v, legacy.SchemaKey) // the centralized store has no schemas
			zen.AddSecret(sa, fmt.Sprintf("secret-%05d", i), i%2 == 1, v)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		go http.Serve(ln, zen) //nolint:errcheck // ends with the process
		os.Setenv("ZENML_STORE_API_KEY", zen.AddAPIKey(sa))
		return "zenml-server://" + ln.Addr().String() + "?tls=false", nil
	}
	return "", fmt.Errorf("-source must be local, aws or zenml-server")
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func numCPU() int { return runtime.NumCPU() }
