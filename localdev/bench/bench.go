package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/store"
)

// Targets of the issue.
const (
	minGetShare    = 0.75 // get ops/s at least this share of the baseline's
	maxListSlowing = 1.2  // list p50 with Large stored at most this times Small's
)

// measurement is the outcome of one closed-loop run.
type measurement struct {
	name     string
	ops      int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (m measurement) opsPerSec() float64 { return float64(m.ops) / m.elapsed.Seconds() }

// results are the measurements of a run.
type results struct {
	baseline, get, create, update, listSmall, listLarge measurement
	listDeep                                            measurement // zero when the store has one page
	small, large                                        int
}

func (r results) getShare() float64 { return r.get.opsPerSec() / r.baseline.opsPerSec() }
func (r results) listSlowing() float64 {
	return float64(r.listLarge.p50) / float64(r.listSmall.p50)
}

func (r results) targetsMet() bool {
	return r.getShare() >= minGetShare && r.listSlowing() <= maxListSlowing
}

// run performs the benchmark and prints the table to out.
func run(ctx context.Context, cfg config, out io.Writer) (results, error) {
	res := results{small: cfg.Small, large: cfg.Large}
	progress := cfg.Progress
	if progress == nil {
		progress = slog.New(slog.DiscardHandler)
	}
	serverLog := cfg.ServerLog
	if serverLog == nil {
		serverLog = io.Discard
	}

	// Seed the small store directly, before the server starts, and keep its
	// ids for get and update.
	start := time.Now()
	ids, err := seed(ctx, cfg.DataDir, cfg.StoreURL, 0, cfg.Small)
	if err != nil {
		return res, err
	}
	progress.Info("seeded", "secrets", cfg.Small, "took", time.Since(start).Round(time.Millisecond))

	// The server under test.
	startLockwell := func() (string, func() error, error) {
		if cfg.Processes {
			return startChild(ctx, roleServer, cfg.DataDir, cfg.StoreURL, serverLog)
		}
		return startServer(ctx, cfg.DataDir, cfg.StoreURL, serverLog)
	}
	lockwell, stopServer, err := startLockwell()
	if err != nil {
		return res, err
	}
	defer func() { _ = stopServer() }()
	tokenBytes, err := os.ReadFile(filepath.Join(cfg.DataDir, server.AdminTokenFile))
	if err != nil {
		return res, err
	}
	token := strings.TrimSpace(string(tokenBytes))

	// The baseline: a bare handler with a fixed small JSON body.
	var baseline string
	if cfg.Processes {
		var stopBare func() error
		if baseline, stopBare, err = startChild(ctx, roleBare, "", "", io.Discard); err != nil {
			return res, err
		}
		defer func() { _ = stopBare() }()
	} else {
		baseLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return res, err
		}
		baseSrv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: bareHandler()}
		go func() { _ = baseSrv.Serve(baseLn) }()
		defer baseSrv.Close()
		baseline = "http://" + baseLn.Addr().String()
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: cfg.Workers * 2, MaxIdleConnsPerHost: cfg.Workers * 2,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}, Timeout: 30 * time.Second}
	load := loadGen{client: client, workers: cfg.Workers, duration: cfg.Duration, warmup: cfg.Warmup, token: token}
	pick := func(rng *rand.Rand) string { return ids[rng.IntN(len(ids))] }
	var created atomic.Int64

	baseReq := func(*rand.Rand) request {
		return request{method: "GET", url: baseline + "/", want: 200, noAuth: true}
	}
	getReq := func(rng *rand.Rand) request {
		return request{method: "GET", url: lockwell + "/api/v1/secrets/" + pick(rng), want: 200}
	}
	listReq := func(*rand.Rand) request {
		return request{method: "GET", url: lockwell + "/api/v1/secrets?page_size=50", want: 200}
	}
	// The baseline and get alternate in short rounds, so that both see the
	// same load on a shared machine and their ratio is fair.
	progress.Info("measuring", "op", "baseline and get, alternating", "workers", cfg.Workers, "duration", 2*cfg.Duration)
	ms, err := load.interleaved(ctx, interleaveRounds, []workload{{"baseline (bare net/http)", baseReq}, {"get", getReq}})
	if err != nil {
		return res, err
	}
	res.baseline, res.get = ms[0], ms[1]
	for _, ph := range []struct {
		into *measurement
		w    workload
	}{
		{&res.listSmall, workload{fmt.Sprintf("list (50 of %d)", cfg.Small), listReq}},
		{&res.create, workload{"create", func(rng *rand.Rand) request {
			n := created.Add(1)
			return request{method: "POST", url: lockwell + "/api/v1/secrets", want: 201,
				body: fmt.Sprintf(`{"name":"bench-created-%d","values":{"user":"app","password":"%016x"}}`, n, rng.Uint64())}
		}}},
		{&res.update, workload{"update", func(rng *rand.Rand) request {
			return request{method: "PATCH", url: lockwell + "/api/v1/secrets/" + pick(rng), want: 200,
				body: fmt.Sprintf(`{"values":{"password":"%016x"}}`, rng.Uint64())}
		}}},
	} {
		progress.Info("measuring", "op", ph.w.name, "workers", cfg.Workers, "duration", cfg.Duration)
		ms, err := load.interleaved(ctx, 1, []workload{ph.w})
		if err != nil {
			return res, err
		}
		*ph.into = ms[0]
	}

	// Grow the store to Large secrets with the server stopped, as the small
	// store was seeded, then start it again and list.
	if err := stopServer(); err != nil {
		return res, err
	}
	stored := cfg.Small + int(created.Load())
	if more := cfg.Large - stored; more > 0 {
		start := time.Now()
		if _, err := seed(ctx, cfg.DataDir, cfg.StoreURL, cfg.Small, more); err != nil {
			return res, err
		}
		progress.Info("seeded", "secrets", more, "took", time.Since(start).Round(time.Millisecond))
		stored = cfg.Large
	}
	res.large = stored
	if lockwell, stopServer, err = startLockwell(); err != nil {
		return res, err
	}
	listReq = func(*rand.Rand) request {
		return request{method: "GET", url: lockwell + "/api/v1/secrets?page_size=50", want: 200}
	}
	name := fmt.Sprintf("list (50 of %d)", stored)
	progress.Info("measuring", "op", name, "workers", cfg.Workers, "duration", cfg.Duration)
	if ms, err = load.interleaved(ctx, 1, []workload{{name, listReq}}); err != nil {
		return res, err
	}
	res.listLarge = ms[0]

	// A deep page: keyset pagination should make it cost what the first does.
	token, skipped, err := pageTokenAt(ctx, load, lockwell, stored/2)
	if err != nil {
		return res, err
	}
	if token != "" {
		name := fmt.Sprintf("list (50 after %d of %d)", skipped, stored)
		progress.Info("measuring", "op", name, "workers", cfg.Workers, "duration", cfg.Duration)
		deep := lockwell + "/api/v1/secrets?page_size=50&page_token=" + url.QueryEscape(token)
		if ms, err = load.interleaved(ctx, 1, []workload{{name, func(*rand.Rand) request {
			return request{method: "GET", url: deep, want: 200}
		}}}); err != nil {
			return res, err
		}
		res.listDeep = ms[0]
	}
	report(out, cfg, res)
	return res, nil
}

// pageTokenAt pages through the default listing, 1,000 at a time, until at
// least n secrets are behind, and returns the page token there (page tokens
// do not depend on the page size) and how many secrets it skips.
func pageTokenAt(ctx context.Context, g loadGen, base string, n int) (string, int, error) {
	token, skipped := "", 0
	for skipped < n {
		u := base + "/api/v1/secrets?page_size=1000"
		if token != "" {
			u += "&page_token=" + url.QueryEscape(token)
		}
		var page struct {
			Items         []json.RawMessage `json:"items"`
			NextPageToken string            `json:"next_page_token"`
		}
		if err := g.getJSON(ctx, u, &page); err != nil {
			return "", 0, err
		}
		skipped += len(page.Items)
		if page.NextPageToken == "" {
			return "", skipped, nil
		}
		token = page.NextPageToken
	}
	return token, skipped, nil
}

// startServer runs the local server on dir until stop is called, and
// returns its base URL.
func startServer(ctx context.Context, dir, storeURL string, log io.Writer) (baseURL string, stop func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- server.Run(ctx, server.Config{
			Addr: "127.0.0.1:0", DataDir: dir, Deployment: deployment(dir, storeURL),
			Logger: slog.New(slog.NewJSONHandler(log, nil)),
			Ready:  func(addr string) { ready <- addr },
		})
	}()
	select {
	case addr := <-ready:
		var once sync.Once
		var stopErr error
		return "http://" + addr, func() error {
			once.Do(func() {
				cancel()
				stopErr = <-served
			})
			return stopErr
		}, nil
	case err := <-served:
		cancel()
		return "", nil, fmt.Errorf("start the server: %w", err)
	}
}

// seed creates n public secrets with three keys each directly through the
// portable store, on its own handle of the store: storeURL's database, or
// else dir's SQLite database opened with synchronous=normal (durable
// against a crash of the process, which is all a bulk load needs), from
// several goroutines: sealing runs in parallel, the database serialises the
// writes. Names continue from offset. It returns the new secrets' ids.
func seed(ctx context.Context, dir, storeURL string, offset, n int) ([]string, error) {
	b, err := openSeedBackend(ctx, dir, storeURL)
	if err != nil {
		return nil, err
	}
	st := store.New(b)
	defer st.Close()
	admin := identity.Principal{Name: server.AdminPrincipal, Role: identity.Admin}
	ids := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range max(2, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				sec, err := st.Create(ctx, admin, store.CreateRequest{
					Name: fmt.Sprintf("bench-seeded-%07d", offset+i),
					Values: map[string]string{
						"user": "app", "password": fmt.Sprintf("%016x", rand.Uint64()), "url": "postgres://db.internal:5432/app",
					},
				})
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("seed: %w", err) })
					return
				}
				ids[i] = sec.ID
			}
		}()
	}
	wg.Wait()
	return ids, firstErr
}

// request is one HTTP request of a workload.
type request struct {
	method, url, body string
	want              int
	noAuth            bool
}

// loadGen is a closed-loop load generator: each worker sends its next
// request as soon as the previous one is answered.
type loadGen struct {
	client           *http.Client
	workers          int
	duration, warmup time.Duration
	token            string
}

// workload is a named request generator.
type workload struct {
	name string
	next func(rng *rand.Rand) request
}

// interleavedRounds is how many alternating rounds the baseline and get
// measurements are split into.
const interleaveRounds = 5

// interleaved measures the workloads for g.duration each, split into rounds
// that alternate between them, after an unmeasured warm-up of each.
func (g loadGen) interleaved(ctx context.Context, rounds int, ws []workload) ([]measurement, error) {
	if g.warmup > 0 {
		for _, w := range ws {
			if _, err := g.loop(ctx, g.warmup, w.next); err != nil {
				return nil, fmt.Errorf("%s: %w", w.name, err)
			}
		}
	}
	lat := make([][]time.Duration, len(ws))
	ms := make([]measurement, len(ws))
	for range rounds {
		for i, w := range ws {
			start := time.Now()
			out, err := g.loop(ctx, g.duration/time.Duration(rounds), w.next)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.name, err)
			}
			ms[i].elapsed += time.Since(start)
			for _, wl := range out {
				lat[i] = append(lat[i], wl.ok...)
				ms[i].errors += wl.errors
			}
		}
	}
	for i, w := range ws {
		m := &ms[i]
		m.name, m.ops = w.name, len(lat[i])
		if m.ops == 0 {
			return nil, fmt.Errorf("%s: no request succeeded (%d errors)", w.name, m.errors)
		}
		slices.Sort(lat[i])
		m.p50 = lat[i][m.ops*50/100]
		m.p99 = lat[i][min(m.ops-1, m.ops*99/100)]
	}
	return ms, nil
}

type workerLatencies struct {
	ok     []time.Duration
	errors int
}

// loop runs the workers for d and returns each one's latencies. A response
// with another status than the request wants counts as an error; more
// errors than successes abort the run.
func (g loadGen) loop(ctx context.Context, d time.Duration, next func(rng *rand.Rand) request) ([]workerLatencies, error) {
	deadline := time.Now().Add(d)
	out := make([]workerLatencies, g.workers)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range g.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			lat := &out[w]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req := next(rng)
				t0 := time.Now()
				err := g.do(ctx, req)
				if err != nil {
					lat.errors++
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat.ok = append(lat.ok, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	ok, bad := 0, 0
	for _, l := range out {
		ok += len(l.ok)
		bad += l.errors
	}
	if bad > ok {
		return nil, fmt.Errorf("%d of %d requests failed, first: %v", bad, ok+bad, firstErr.Load())
	}
	return out, nil
}

// getJSON GETs u and decodes the JSON answer into v.
func (g loadGen) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	res, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", u, res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

func (g loadGen) do(ctx context.Context, r request) error {
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return err
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if !r.noAuth {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	res, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != r.want {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(res.Body, 4096)).Decode(&e)
		return fmt.Errorf("%s %s: status %d %s", r.method, r.url, res.StatusCode, e.Error.Code)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}

// report prints the table, the ratios and the targets.
func report(out io.Writer, cfg config, r results) {
	fmt.Fprintf(out, "\nLockwell bench: %d closed-loop workers, %s per measurement, GOMAXPROCS=%d, %s/%s, loopback HTTP/1.1\n\n",
		cfg.Workers, cfg.Duration, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tops/s\tp50\tp99\terrors\tops/s vs baseline\tp50 vs baseline\t")
	base := r.baseline
	for _, m := range []measurement{r.baseline, r.get, r.create, r.update, r.listSmall, r.listLarge, r.listDeep} {
		if m.ops == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%d\t%.2f\t%.1fx\t\n", m.name, m.opsPerSec(), round(m.p50), round(m.p99), m.errors,
			m.opsPerSec()/base.opsPerSec(), float64(m.p50)/float64(base.p50))
	}
	tw.Flush()
	fmt.Fprintln(out)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	fmt.Fprintf(out, "target: get throughput >= %.0f%% of baseline: %.0f%% (%s)\n",
		minGetShare*100, r.getShare()*100, verdict(r.getShare() >= minGetShare))
	fmt.Fprintf(out, "target: list p50 with %d stored <= %.1fx with %d stored: %.2fx (%s; p99 %.2fx)\n",
		r.large, maxListSlowing, r.small, r.listSlowing(), verdict(r.listSlowing() <= maxListSlowing),
		float64(r.listLarge.p99)/float64(r.listSmall.p99))
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= 100*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
