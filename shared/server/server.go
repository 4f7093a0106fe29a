// Package server is Lockwell's local server: the HTTP API over an embedded
// SQLite store in a data directory, authenticated by bearer tokens, and the
// web dashboard (package dashboard) at / with its cookie sessions in front
// of the API, which stays under /api/v1. It is what `lockwell serve` and
// `make dev` run.
//
// The data directory (mode 0700) holds:
//
//	store.key     the 256-bit store key that wraps every data key (mode 0600)
//	lockwell.db   the SQLite database in WAL mode (with -wal and -shm; mode 0600);
//	              values only as AES-256-GCM ciphertext
//	admin.token   the admin API token minted on first start (mode 0600)
//
// On first start (no admin.token yet) the server mints a token for principal
// "admin" with role admin, stores its hash, writes the token to admin.token
// and logs where the file is, never the token. To mint a fresh admin token,
// delete admin.token and restart; tokens minted before stay valid.
//
// With Config.AdminTokenFile set (for example a Kubernetes Secret mounted
// as a file), the admin token is the operator's instead: at every start the
// server checks its form (identity.CheckTokenFormat), stores its hash for
// principal "admin" with role admin unless the store knows it already, and
// mints none and writes no admin.token. Several replicas starting at once
// over one database agree (one stores it, the others find it). A token in
// that file that the store knows for another principal or role is refused.
// Rotating it: put a new token in the file and restart; revoke the old one
// by its id (DELETE /api/v1/tokens/{id}).
//
// Every committed change is published as a change event (package events)
// to GET /api/v1/events, a server-sent-event stream resumable with
// Last-Event-ID from the last events.DefaultRing events, and, with
// Config.WebhookURL, to a signed webhook (package webhook). Neither ever
// delays a write.
//
// Tokens are checked against the database through an httpapi.TokenCache, so
// a request costs one token lookup per token per 30 seconds, not one each.
//
// With Config.Deployment set, the server opens that deployment
// configuration instead (for example DynamoDB with a KMS key, or an index
// with an external value store, as localdev/stack does for `make dev
// STORE=... VALUES=...`) and keeps only admin.token in the data directory;
// the configuration's backend must keep API tokens (identity.TokenStore).
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/dashboard"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/events"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/instrumented"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/prom"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/tracing"
	"github.com/lockwell/lockwell/shared/webhook"

	_ "github.com/lockwell/lockwell/shared/sqlstore" // the sqlite: scheme
)

// Defaults of Config.
const (
	DefaultAddr    = "127.0.0.1:8080"
	DefaultDataDir = ".lockwell"
)

// File names in the data directory.
const (
	KeyFile        = "store.key"
	DatabaseFile   = "lockwell.db"
	AdminTokenFile = "admin.token"
	// AuditDatabaseFile holds the audit chain (the SQL store names it
	// after DatabaseFile).
	AuditDatabaseFile = "lockwell-audit.db"
)

// AdminPrincipal is the principal of the admin token minted on first start.
const AdminPrincipal = "admin"

// ShutdownTimeout bounds how long Run waits for in-flight requests once its
// context ends.
const ShutdownTimeout = 15 * time.Second

// Config configures Run.
type Config struct {
	// Addr is the host:port to listen on; default 127.0.0.1:8080. Port 0
	// picks a free port (see Ready).
	Addr string
	// DataDir holds the store key, the database and the admin token;
	// default ./.lockwell. Created with mode 0700 if missing.
	DataDir string
	// Logger receives the request log and the server's own lines; nil logs
	// text to stderr.
	Logger *slog.Logger
	// Ready, if set, is called once with the address the server listens on,
	// when it accepts connections.
	Ready func(addr string)
	// Deployment, if set, is the store to serve instead of the SQLite store
	// in DataDir (which then holds only admin.token). Its backend must keep
	// API tokens; its StoreURL and KeyURL are required, its Auth and Admins
	// are ignored (the server authenticates bearer tokens).
	Deployment *config.Config
	// AdminTokenFile, if set, names a file holding the admin token (see the
	// package doc); no admin.token is minted then.
	AdminTokenFile string
	// MetricsAddr, if set, is the host:port where GET /metrics serves the
	// Prometheus metrics (package metrics/prom), apart from the API: no
	// token is needed there, and the figures carry no secret names, ids or
	// principals. Empty turns metrics off. Port 0 picks a free port (see
	// MetricsReady).
	MetricsAddr string
	// MetricsReady, if set, is called once with the address /metrics is
	// served on.
	MetricsReady func(addr string)
	// History is how much history the store keeps (versions, recovery
	// window); the zero value is the store's defaults. It applies to
	// Deployment's store too.
	History config.History
	// WebhookURL, if set, gets every change event as a signed POST
	// (package webhook); WebhookSecretFile names the file holding the
	// signing secret (at least webhook.MinSecretLength bytes; a trailing
	// newline is ignored), required with WebhookURL.
	WebhookURL, WebhookSecretFile string
	// OpenMigrationJobs, if set, opens the migration jobs that the admin
	// routes GET /api/v1/migrations[/{job}] and the dashboard's Migrations
	// page read. Run calls it once with the URL of the store it serves (the
	// deployment's StoreURL, or sqlite:///DATA_DIR/lockwell.db) and calls
	// close at shutdown. A nil MigrationJobs means none are served. The
	// server never imports the migrator: `lockwell serve` sets it (package
	// migrate/jobsapi).
	OpenMigrationJobs func(ctx context.Context, storeURL string) (jobs httpapi.MigrationJobs, close func() error, err error)
}

// Run opens the data directory and the store (the SQLite store in it, or
// cfg.Deployment) and serves the API until ctx ends, then stops
// accepting connections, waits up to ShutdownTimeout for in-flight requests
// and closes the store. It returns nil after a clean shutdown and an error
// when the data directory, the store or the address cannot be opened.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// Listen first: a busy address fails before anything is created.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return listenError(cfg.Addr, err)
	}
	defer ln.Close() // after Serve this fails harmlessly
	dir, err := prepareDataDir(cfg.DataDir, log)
	if err != nil {
		return err
	}
	// Change events: the stream at GET /api/v1/events reads the broker;
	// the webhook, if any, gets its own queue.
	// A long-running server purges expired secrets after writes itself.
	history := cfg.History
	history.PurgeOnWrite = true
	broker := events.NewBroker(0, 0)
	publishers := events.Publishers{broker}
	if cfg.WebhookURL != "" {
		hook, err := openWebhook(cfg, log)
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hook.Close(cctx)
		}()
		publishers = append(publishers, hook)
		log.Info("change events go to the webhook too (signed; the URL is not logged)")
	}
	st, stored, closer, err := openStore(ctx, cfg.Deployment, history, dir, publishers, log)
	if err != nil {
		return err
	}
	closeStore := sync.OnceValue(closer)
	defer closeStore()
	tokens := httpapi.NewTokenCache(stored, 0, 0)
	if cfg.AdminTokenFile != "" {
		err = registerAdminToken(ctx, cfg.AdminTokenFile, stored, log)
	} else {
		err = ensureAdminToken(ctx, dir, tokens, log)
	}
	if err != nil {
		return err
	}
	opts := httpapi.Options{Logger: log, Tokens: tokens, Events: broker}
	if cfg.OpenMigrationJobs != nil {
		storeURL := (&url.URL{Scheme: "sqlite", Path: filepath.Join(dir, DatabaseFile)}).String()
		if cfg.Deployment != nil {
			storeURL = cfg.Deployment.StoreURL
		}
		jobs, closeJobs, err := cfg.OpenMigrationJobs(ctx, storeURL)
		if err != nil {
			return fmt.Errorf("open the migration jobs: %w", err)
		}
		if closeJobs != nil {
			defer closeJobs()
		}
		opts.MigrationJobs = jobs
	}
	api := httpapi.New(st, httpapi.BearerAuthenticator{Tokens: tokens}, opts)

	tp, err := tracing.Setup(ctx, "lockwell-server")
	if err != nil {
		return err
	}
	if tp != nil {
		log.Info("OpenTelemetry tracing on: spans go to the OTLP endpoint of OTEL_EXPORTER_OTLP_ENDPOINT")
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = tp.Shutdown(sctx)
		}()
	}
	stopMetrics, err := serveMetrics(cfg, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	addr := ln.Addr().String()
	if !isLoopback(ln.Addr()) {
		log.Warn("listening on a non-loopback address without TLS: tokens and values cross the network in clear text; put a TLS proxy in front", "addr", addr)
	}
	srv := &http.Server{
		Handler:           dashboard.Handler(api.Handler()),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for requests to end; event streams end only when told.
	srv.RegisterOnShutdown(broker.Close)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("lockwell server listening; the dashboard is at url", "addr", addr, "url", "http://"+addr, "data_dir", dir)
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close()
		return fmt.Errorf("shut down: %w", err)
	}
	if err := closeStore(); err != nil {
		return fmt.Errorf("close the store: %w", err)
	}
	log.Info("server stopped")
	return nil
}

// openStore opens the deployment d, or the SQLite store in dir when d is
// nil, and returns the store to serve, where API tokens are kept and how to
// close both.
func openStore(ctx context.Context, d *config.Config, history config.History, dir string, pub events.Publisher, log *slog.Logger) (*store.Store, identity.TokenStore, func() error, error) {
	if d != nil {
		c := *d
		c.Auth, c.Admins, c.History = config.AuthBearer, nil, history
		c.Events = pub
		// A nil audit logger: the request log's one line per request names
		// operation, principal, secret id and outcome already.
		dep, err := c.Open(ctx, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		if dep.Tokens == nil {
			dep.Close()
			return nil, nil, nil, fmt.Errorf("the store %s keeps no API tokens, which the local server needs; use a sqlite:, postgres:, mysql: or dynamodb: store", schemeOf(c.StoreURL))
		}
		return dep.Store, dep.Tokens, dep.Close, nil
	}
	_, keyErr := os.Stat(filepath.Join(dir, KeyFile))
	b, err := OpenBackend(ctx, dir)
	if err != nil {
		return nil, nil, nil, err
	}
	if errors.Is(keyErr, fs.ErrNotExist) {
		log.Info("created the store key (mode 0600); back it up: without it no value can be decrypted", "path", filepath.Join(dir, KeyFile))
	}
	tokens, ok := b.(identity.TokenStore)
	if !ok {
		b.Close()
		return nil, nil, nil, errors.New("the sqlite store does not keep API tokens")
	}
	auditLog, closeAudit, err := openAuditLog(ctx, dir, b, log)
	if err != nil {
		b.Close()
		return nil, nil, nil, err
	}
	// The request log's one line per request names operation, principal,
	// secret id and outcome, so the store's own audit line would say it twice.
	st := store.New(instrumented.Backend(b, "sqlite"), append(history.Options(), store.WithLogger(log), store.WithAuditLog(auditLog), store.WithEvents(pub))...)
	return st, tokens, func() error { return errors.Join(st.Close(), closeAudit()) }, nil
}

// schemeOf returns the scheme of a store URL ("dynamodb:"), never the rest,
// which may name hosts or paths.
func schemeOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme != "" {
		return u.Scheme + ":"
	}
	return "URL"
}

// prepareDataDir creates dir (0700) if missing and returns its absolute path.
func prepareDataDir(dir string, log *slog.Logger) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create data directory: %w", err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("data directory %s is not a directory", abs)
	}
	if info.Mode().Perm()&0o077 != 0 {
		log.Warn("the data directory is accessible by other users; chmod 700 it", "data_dir", abs, "mode", info.Mode().Perm().String())
	}
	return abs, nil
}

// OpenBackend opens the store in a data directory: the key file (created on
// first use) and the SQLite database. It is what Run serves; the benchmark
// uses it to seed a data directory directly.
func OpenBackend(ctx context.Context, dir string) (backend.Backend, error) {
	return OpenBackendURL(ctx, dir, "")
}

// OpenBackendURL is OpenBackend with extra sqlite URL parameters (for
// example "synchronous=normal" for bulk loading); "" for none.
func OpenBackendURL(ctx context.Context, dir, params string) (backend.Backend, error) {
	keyURL := url.URL{Scheme: "localkey", Path: filepath.Join(dir, KeyFile)}
	wrapper, err := envelope.OpenWrapper(ctx, keyURL.String())
	if err != nil {
		return nil, err
	}
	dbURL := url.URL{Scheme: "sqlite", Path: filepath.Join(dir, DatabaseFile), RawQuery: params}
	return backend.Open(ctx, dbURL.String(), backend.Options{Sealer: envelope.NewSealer(wrapper)})
}

// ensureAdminToken mints the admin token on first start. The token is
// written to a temporary file (0600, synced), its hash saved, and only then
// the file renamed into place, so admin.token never names a token the store
// does not know.
func ensureAdminToken(ctx context.Context, dir string, tokens identity.TokenStore, log *slog.Logger) error {
	path := filepath.Join(dir, AdminTokenFile)
	info, err := os.Stat(path)
	if err == nil {
		if info.Mode().Perm()&0o077 != 0 {
			log.Warn("the admin token file is readable by other users; chmod 600 it", "path", path)
		}
		log.Info("admin API token file", "path", path)
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin token file: %w", err)
	}
	token, hash, err := identity.NewToken()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := writeSynced(tmp, []byte(token+"\n")); err != nil {
		return fmt.Errorf("write admin token file: %w", err)
	}
	if err := tokens.SaveToken(ctx, hash, identity.Principal{Name: AdminPrincipal, Role: identity.Admin}); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("save admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write admin token file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	log.Info("created an admin API token; it is in the file at path (mode 0600): use it with `lockwell login`", "path", path, "principal", AdminPrincipal)
	return nil
}

// registerAdminToken stores the hash of the operator's admin token in path
// unless the store knows it already. Errors name the file, never the token.
func registerAdminToken(ctx context.Context, path string, tokens identity.TokenStore, log *slog.Logger) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("admin token file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if err := identity.CheckTokenFormat(token); err != nil {
		return fmt.Errorf("admin token file %s: %w", path, err)
	}
	hash := identity.HashToken(token)
	admin := identity.Principal{Name: AdminPrincipal, Role: identity.Admin}
	known := func(p identity.Principal) error {
		if p != admin {
			return fmt.Errorf("admin token file %s: the store knows this token for principal %q with role %s, not for %q with role admin", path, p.Name, p.Role, AdminPrincipal)
		}
		log.Info("admin API token from file: known to the store", "path", path, "token_id", identity.TokenID(hash))
		return nil
	}
	p, err := tokens.TokenPrincipal(ctx, hash)
	if err == nil {
		return known(p)
	}
	if !errcode.Is(err, errcode.Unauthenticated) {
		return fmt.Errorf("look up the admin token: %w", err)
	}
	if err := tokens.SaveToken(ctx, hash, admin); errcode.Is(err, errcode.AlreadyExists) {
		// Another replica stored it first.
		p, err := tokens.TokenPrincipal(ctx, hash)
		if err != nil {
			return fmt.Errorf("look up the admin token: %w", err)
		}
		return known(p)
	} else if err != nil {
		return fmt.Errorf("save the admin token: %w", err)
	}
	log.Info("admin API token from file: stored its hash", "path", path, "principal", AdminPrincipal, "token_id", identity.TokenID(hash))
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ErrAddrInUse is what Run's error wraps when its address is taken.
var ErrAddrInUse = errors.New("address already in use")

// listenError says in one line why addr cannot be listened on. For an
// address in use it suggests a free port near it and how to choose it, in
// each way the server is started: make dev ADDR=, LOCKWELL_ADDR, --addr.
func listenError(addr string, err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		return fmt.Errorf("cannot listen on %s: %v", addr, err)
	}
	try := "HOST:PORT"
	if host, port, perr := net.SplitHostPort(addr); perr == nil {
		if p, aerr := strconv.Atoi(port); aerr == nil {
			for next := p + 1; next < p+50 && next < 65536; next++ {
				candidate := net.JoinHostPort(host, strconv.Itoa(next))
				if l, lerr := net.Listen("tcp", candidate); lerr == nil {
					l.Close()
					try = candidate
					break
				}
			}
		}
	}
	return addrInUseError(fmt.Sprintf("%s is in use by another program; use a free address such as %s (make dev ADDR=%s, or LOCKWELL_ADDR / --addr)", addr, try, try))
}

// addrInUseError is listenError's error for an address in use.
type addrInUseError string

func (e addrInUseError) Error() string { return string(e) }
func (e addrInUseError) Unwrap() error { return ErrAddrInUse }

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// serveMetrics serves GET /metrics on cfg.MetricsAddr, when set, from a
// Prometheus exporter fed by every figure of this process, and returns the
// function that stops it. It is a listener of its own rather than a route
// of the API so that a scraper needs no API token: an admin token, which
// the API would require, could mint tokens and read every public secret.
func serveMetrics(cfg Config, log *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
	}
	exp := prom.New()
	unregister := metrics.Register(exp)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", exp.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	addr := ln.Addr().String()
	log.Info("metrics listening", "addr", addr, "url", "http://"+addr+"/metrics")
	if cfg.MetricsReady != nil {
		cfg.MetricsReady(addr)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
		unregister()
	}, nil
}

// openWebhook starts the webhook sender of cfg, its secret read from
// cfg.WebhookSecretFile. Errors never carry the secret or the URL (which
// may hold a token in its query).
func openWebhook(cfg Config, log *slog.Logger) (*webhook.Sender, error) {
	if cfg.WebhookSecretFile == "" {
		return nil, errors.New("LOCKWELL_WEBHOOK_URL needs LOCKWELL_WEBHOOK_SECRET_FILE: a file holding the secret that signs the deliveries")
	}
	secret, err := os.ReadFile(cfg.WebhookSecretFile)
	if err != nil {
		return nil, fmt.Errorf("read the webhook secret file: %w", err)
	}
	return webhook.New(webhook.Config{
		URL: cfg.WebhookURL, Secret: []byte(strings.TrimRight(string(secret), "\r\n")), Logger: log,
	})
}
