// Command bench is Lockwell's load generator (make bench). It starts the
// server as `lockwell serve` runs it (a process of its own, request log on)
// on loopback over a temporary data directory and, side by side in the same
// run, a bare net/http handler in another process that answers a fixed
// small JSON body as the baseline (-processes=false runs both in this
// process instead). Closed-loop workers (each sends its next
// request when the previous one is answered) then measure, over HTTP:
//
//	baseline  GET of the bare handler
//	get       GET /api/v1/secrets/{id} of random secrets
//	create    POST /api/v1/secrets of new secrets
//	update    PATCH /api/v1/secrets/{id} of random secrets
//	list      GET /api/v1/secrets?page_size=50 with -small secrets stored,
//	          and again with -large secrets stored
//
// and prints ops/s, p50 and p99 latency and the ratios against the baseline,
// then checks the targets: get throughput at least 75% of the baseline's, and
// a 50-item page with -large secrets stored at most 1.2 times as slow (p50)
// as with -small. The stores are seeded directly through the portable store,
// not over HTTP. With -strict a missed target exits with status 1.
//
// The server runs on its embedded SQLite store by default. -store-url
// postgres://... (or mysql://...) runs it on that database instead, as
// `lockwell serve` with LOCKWELL_STORE does; for PostgreSQL the bench works
// in a schema of its own that it creates and drops, so the database may be
// shared. Credentials come from the environment (PGUSER, PGPASSWORD;
// MYSQL_USER, MYSQL_PWD_FILE), never from the URL.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"
)

func main() {
	if runRole() {
		return
	}
	cfg := defaultConfig()
	flag.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long each measurement runs")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured warm-up before each measurement")
	flag.IntVar(&cfg.Workers, "workers", cfg.Workers, "concurrent closed-loop workers")
	flag.IntVar(&cfg.Small, "small", cfg.Small, "secrets stored for the first list measurement (and the get/update pool)")
	flag.IntVar(&cfg.Large, "large", cfg.Large, "secrets stored for the second list measurement")
	flag.StringVar(&cfg.DataDir, "data-dir", "", "data directory for the server (default: a new temporary directory, removed afterwards)")
	flag.BoolVar(&cfg.Strict, "strict", false, "exit with status 1 when a target is missed")
	flag.StringVar(&cfg.StoreURL, "store-url", "", "serve a postgres:// or mysql:// store instead of the embedded SQLite one (credentials from the environment)")
	flag.BoolVar(&cfg.Processes, "processes", cfg.Processes, "run the server and the baseline each as a process of its own (as users run them); false runs both in this process")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and server) to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.Workers < 1 || cfg.Small < 1 || cfg.Large < cfg.Small || cfg.Duration <= 0 {
		fmt.Fprintln(os.Stderr, "bench: need -workers >= 1, -duration > 0 and 1 <= -small <= -large")
		os.Exit(2)
	}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "lockwell-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	cfg.Progress = slog.New(slog.NewTextHandler(os.Stderr, nil))
	if cfg.StoreURL != "" {
		storeURL, dropSchema, err := benchSchema(context.Background(), cfg.StoreURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer dropSchema()
		cfg.StoreURL = storeURL
	}
	res, err := run(context.Background(), cfg, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if cfg.Strict && !res.targetsMet() {
		os.Exit(1)
	}
}

// config is one benchmark run.
type config struct {
	Duration, Warmup time.Duration
	Workers          int
	Small, Large     int
	DataDir          string
	// StoreURL, if set, is the store the server serves instead of the
	// SQLite store in DataDir (which then holds the store key and
	// admin.token).
	StoreURL string
	Strict   bool
	// Processes runs the server (as `lockwell serve` runs it, request log
	// on) and the bare baseline each in a process of its own.
	Processes bool
	// Progress receives progress lines (seeding, phases); the server's own
	// request log is discarded after formatting, as a real one would be
	// written.
	Progress *slog.Logger
	// ServerLog receives the server's log; nil formats JSON to io.Discard.
	ServerLog io.Writer
}

func defaultConfig() config {
	return config{Duration: 5 * time.Second, Warmup: 500 * time.Millisecond, Workers: 8, Small: 1000, Large: 100000, Processes: true}
}
