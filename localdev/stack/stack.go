// Command stack runs the whole Lockwell stack locally for `make dev STORE=...
// VALUES=...`: the local server (shared/server) over a deployment
// configuration (shared/config) whose cloud services are local stand-ins
// started in this process, all on 127.0.0.1:
//
//	--store sqlite     the embedded SQLite store with a local key file
//	--store dynamodb   dynalite (DynamoDB) and the local KMS (localdev/awsdev)
//	--store postgres   a PostgreSQL the user started (localdev/scripts/postgres.sh
//	                   start), named by --postgres-url or LOCKWELL_TEST_POSTGRES_URL,
//	                   with the user from PGUSER; tables in a schema of their own
//	--store mysql      a MariaDB or MySQL the user started (localdev/scripts/mariadb.sh
//	                   start), named by --mysql-url or LOCKWELL_TEST_MYSQL_URL, with
//	                   the user from MYSQL_USER and the password from MYSQL_PWD or
//	                   MYSQL_PWD_FILE; tables in a database of their own
//
//	--values none               values stay in the store (default)
//	--values awssecretsmanager  localdev/awssecretsmanager
//	--values gcpsecretmanager   localdev/gcpsecretmanager
//	--values azurekeyvault      localdev/azurekeyvault (HTTPS, managed-identity tokens)
//	--values hashivault         localdev/vault
//
// The stand-ins are reached exactly as a deployment reaches the real
// services, through the official SDKs and their standard endpoint-override
// variables, which stack sets in its own environment (never credentials of a
// real account: the placeholders it sets replace any that were inherited).
//
// Each combination keeps its data in a folder of its own under --data-dir,
// so that runs with different choices never mix: sqlite with no value store
// uses the data directory itself (as `lockwell serve` does), every other
// combination the subfolder STORE or STORE-VALUES, which also holds its
// admin.token. The value-store stand-ins keep entries in memory only, so a
// combination with one starts empty every time: stack clears its subfolder
// (and, for postgres, its schema; for mysql, its database) at start and a
// new admin token is minted.
//
// stack prints what runs where and how to log in; it never prints a token
// or a value. It stops everything it started on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/lockwell/lockwell/localdev/awsdev"
	"github.com/lockwell/lockwell/localdev/awssecretsmanager"
	"github.com/lockwell/lockwell/localdev/azurekeyvault"
	"github.com/lockwell/lockwell/localdev/gcpsecretmanager"
	"github.com/lockwell/lockwell/localdev/vault"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/mysqlconn"
	"github.com/lockwell/lockwell/shared/server"

	_ "github.com/lockwell/lockwell/shared/dynamostore"                  // dynamodb:
	_ "github.com/lockwell/lockwell/shared/envelope/awskms"              // awskms:
	_ "github.com/lockwell/lockwell/shared/sqlstore"                     // sqlite:, postgres:, mysql:
	_ "github.com/lockwell/lockwell/shared/valuestore/awssecretsmanager" // awssecretsmanager:
	_ "github.com/lockwell/lockwell/shared/valuestore/azurekeyvault"     // azurekeyvault:
	_ "github.com/lockwell/lockwell/shared/valuestore/gcpsecretmanager"  // gcpsecretmanager:
	_ "github.com/lockwell/lockwell/shared/valuestore/hashivault"        // hashivault:
)

// The choices of --store and --values.
var (
	stores = []string{"sqlite", "postgres", "mysql", "dynamodb"}
	values = []string{"none", "awssecretsmanager", "gcpsecretmanager", "azurekeyvault", "hashivault"}
)

// Deployment is the deployment id that tags value-store entries.
const Deployment = "lockwell-dev"

// markerFile marks a subfolder stack created, which it may clear.
const markerFile = ".lockwell-dev-stack"

// options are the command line.
type options struct {
	Store, Values, Addr, DataDir, PostgresURL, MySQLURL string
}

func (o options) check() error {
	if !contains(stores, o.Store) {
		return fmt.Errorf("--store must be one of %s, not %q", strings.Join(stores, ", "), o.Store)
	}
	if !contains(values, o.Values) {
		return fmt.Errorf("--values must be one of %s, not %q", strings.Join(values, ", "), o.Values)
	}
	if o.Store == "postgres" && o.PostgresURL == "" {
		return errors.New(`--store postgres needs a database: run eval "$(localdev/scripts/postgres.sh start)" first (it sets LOCKWELL_TEST_POSTGRES_URL and PGUSER), or pass --postgres-url`)
	}
	if o.Store == "mysql" && o.MySQLURL == "" {
		return errors.New(`--store mysql needs a database: run eval "$(localdev/scripts/mariadb.sh start)" first (it sets LOCKWELL_TEST_MYSQL_URL, MYSQL_USER and MYSQL_PWD_FILE), or pass --mysql-url`)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// stack is what start started.
type stack struct {
	// Deployment is what the server opens; nil for sqlite without a value
	// store, which the server opens from DataDir itself.
	Deployment *config.Config
	// DataDir is the server's data directory (admin.token and, for plain
	// sqlite, the store).
	DataDir string
	// Running says what runs where, one line each.
	Running []string
	closers []func() error
}

// start starts the stand-ins that o needs and sets the variables that point
// the SDKs at them through setenv, which unsets a variable given "". On
// error it stops what it started.
func start(ctx context.Context, o options, setenv func(key, value string) error) (_ *stack, err error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	s := &stack{DataDir: root}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if o.Store == "sqlite" && o.Values == "none" {
		s.Running = append(s.Running, fmt.Sprintf("store: sqlite, database and key in %s", root))
		return s, nil
	}
	name := o.Store
	if o.Values != "none" {
		name += "-" + o.Values
	}
	s.DataDir = filepath.Join(root, name)
	// The value-store stand-ins keep entries in memory only: an index kept
	// from an earlier run would point at values that are gone.
	fresh := o.Values != "none"
	if err := prepareSubfolder(s.DataDir, fresh); err != nil {
		return nil, err
	}
	env := map[string]string{}
	cfg := &config.Config{Auth: config.AuthBearer}

	switch o.Store {
	case "sqlite":
		cfg.StoreURL = (&url.URL{Scheme: "sqlite", Path: filepath.Join(s.DataDir, server.DatabaseFile)}).String()
		cfg.KeyURL = (&url.URL{Scheme: "localkey", Path: filepath.Join(s.DataDir, server.KeyFile)}).String()
		s.Running = append(s.Running, fmt.Sprintf("store: sqlite, database and key in %s", s.DataDir))
	case "postgres":
		schema := strings.ReplaceAll("lockwell_dev_"+name, "-", "_")
		if cfg.StoreURL, err = preparePostgres(ctx, o.PostgresURL, schema, fresh); err != nil {
			return nil, err
		}
		cfg.KeyURL = (&url.URL{Scheme: "localkey", Path: filepath.Join(s.DataDir, server.KeyFile)}).String()
		s.Running = append(s.Running, fmt.Sprintf("store: postgres at %s, schema %s; key in %s", hostOf(o.PostgresURL), schema, s.DataDir))
	case "mysql":
		database := strings.ReplaceAll("lockwell_dev_"+name, "-", "_")
		if cfg.StoreURL, err = prepareMySQL(ctx, o.MySQLURL, database, fresh); err != nil {
			return nil, err
		}
		cfg.KeyURL = (&url.URL{Scheme: "localkey", Path: filepath.Join(s.DataDir, server.KeyFile)}).String()
		s.Running = append(s.Running, fmt.Sprintf("store: mysql at %s, database %s; key in %s", hostOf(o.MySQLURL), database, s.DataDir))
	case "dynamodb":
		aws, err := awsdev.Start(ctx, filepath.Join(s.DataDir, "aws"))
		if err != nil {
			return nil, fmt.Errorf("start dynalite and the local KMS: %w", err)
		}
		s.closers = append(s.closers, aws.Close)
		for k, v := range aws.Env {
			env[k] = v
		}
		cfg.StoreURL, cfg.KeyURL = aws.StoreURL, aws.KeyURL
		s.Running = append(s.Running,
			fmt.Sprintf("store: dynamodb, dynalite at %s (table %s, data in %s)", aws.Dynalite.Endpoint(), awsdev.Table, filepath.Join(s.DataDir, "aws")),
			fmt.Sprintf("key: local KMS at %s (%s)", aws.KMS.URL(), awsdev.KeyAlias))
	}

	if o.Values != "none" {
		cfg.Deployment = Deployment
		if err := s.startValues(o.Values, cfg, env); err != nil {
			return nil, err
		}
	}
	if env["AWS_REGION"] != "" {
		// Only the placeholders: a profile or session token inherited from
		// the shell must not send a request to a real account.
		env["AWS_CONFIG_FILE"] = os.DevNull
		env["AWS_SHARED_CREDENTIALS_FILE"] = os.DevNull
		env["AWS_PROFILE"] = ""
		env["AWS_SESSION_TOKEN"] = ""
	}
	for k, v := range env {
		if err := setenv(k, v); err != nil {
			return nil, err
		}
	}
	s.Deployment = cfg
	return s, nil
}

// startValues starts the value-store stand-in, sets cfg.ValuesURL and adds
// the variables that point the store's SDK at it to env.
func (s *stack) startValues(which string, cfg *config.Config, env map[string]string) error {
	const memory = "entries in memory only: cleared at every start"
	switch which {
	case "awssecretsmanager":
		endpoint, stop, err := awssecretsmanager.New().Listen("127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start the local Secrets Manager: %w", err)
		}
		s.closers = append(s.closers, stop)
		env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = endpoint
		if env["AWS_REGION"] == "" {
			// Placeholders: the SDK signs with them, the stand-in checks none.
			env["AWS_REGION"] = awssecretsmanager.DefaultRegion
			env["AWS_ACCESS_KEY_ID"] = "local-dev"
			env["AWS_SECRET_ACCESS_KEY"] = "local-dev"
			env["AWS_EC2_METADATA_DISABLED"] = "true"
		}
		cfg.ValuesURL = "awssecretsmanager://?force_delete=true"
		s.Running = append(s.Running, fmt.Sprintf("values: local AWS Secrets Manager at %s (%s)", endpoint, memory))
	case "gcpsecretmanager":
		srv, err := gcpsecretmanager.Start()
		if err != nil {
			return fmt.Errorf("start the local Secret Manager: %w", err)
		}
		s.closers = append(s.closers, func() error { srv.Close(); return nil })
		env["LOCKWELL_GCP_SECRETMANAGER_ENDPOINT"] = srv.Addr()
		cfg.ValuesURL = "gcpsecretmanager://projects/" + Deployment
		s.Running = append(s.Running, fmt.Sprintf("values: local GCP Secret Manager (gRPC) at %s (%s)", srv.Addr(), memory))
	case "azurekeyvault":
		srv, err := azurekeyvault.Start(azurekeyvault.Config{StrictTokens: true})
		if err != nil {
			return fmt.Errorf("start the local Key Vault: %w", err)
		}
		s.closers = append(s.closers, func() error { srv.Close(); return nil })
		ca := filepath.Join(s.DataDir, "keyvault-ca.pem")
		if err := srv.WriteCACert(ca); err != nil {
			return fmt.Errorf("write the local Key Vault's certificate: %w", err)
		}
		env["LOCKWELL_AZURE_KEYVAULT_ENDPOINT"] = srv.URL()
		env["LOCKWELL_AZURE_KEYVAULT_CA_FILE"] = ca
		// DefaultAzureCredential takes a managed-identity token from the
		// stand-in's token endpoint; the header is a secret shared between
		// this process and the stand-in, not a cloud credential.
		env["AZURE_TOKEN_CREDENTIALS"] = "ManagedIdentityCredential"
		env["IDENTITY_ENDPOINT"] = srv.IdentityEndpoint()
		env["IDENTITY_HEADER"] = srv.IdentityHeader()
		for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_FEDERATED_TOKEN_FILE", "MSI_ENDPOINT"} {
			env[k] = "" // unset: the stand-in's managed identity only
		}
		cfg.ValuesURL = "azurekeyvault://" + Deployment
		s.Running = append(s.Running, fmt.Sprintf("values: local Azure Key Vault at %s, managed-identity tokens at %s (%s)", srv.URL(), srv.IdentityEndpoint(), memory))
	case "hashivault":
		srv := vault.New()
		address, stop, err := srv.Listen("127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("start the local Vault: %w", err)
		}
		s.closers = append(s.closers, stop)
		// The stand-in's own root token: it opens nothing but this
		// in-memory server.
		env["VAULT_TOKEN"] = srv.RootToken
		env["VAULT_NAMESPACE"] = ""
		env["VAULT_CACERT"] = ""
		env["VAULT_CAPATH"] = ""
		cfg.ValuesURL = "hashivault://" + strings.TrimPrefix(address, "http://") + "/secret?tls=false"
		s.Running = append(s.Running, fmt.Sprintf("values: local HashiCorp Vault at %s, KV v2 mount secret (%s)", address, memory))
	}
	return nil
}

// Close stops the stand-ins, last started first; calling it again does nothing.
func (s *stack) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// prepareSubfolder creates dir (0700) with the marker that lets stack clear
// it; with fresh, it empties it first, but only if stack made it.
func prepareSubfolder(dir string, fresh bool) error {
	if _, err := os.Stat(dir); err == nil && fresh {
		if _, err := os.Stat(filepath.Join(dir, markerFile)); err != nil {
			return fmt.Errorf("refusing to clear %s: it was not made by localdev/stack (no %s); move it away", dir, markerFile)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, markerFile), []byte("made by localdev/stack; cleared at start when a value store is in memory\n"), 0o600)
}

// preparePostgres creates the schema (dropping it first with fresh) in the
// database rawURL names and returns the store URL that puts the tables
// there. A URL that already names a search_path is used as it is.
func preparePostgres(ctx context.Context, rawURL, schema string, fresh bool) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", errors.New("--postgres-url must look like postgres://127.0.0.1:55432/lockwell_test?sslmode=disable")
	}
	if u.User != nil {
		return "", errors.New("--postgres-url must not contain credentials; set PGUSER (and PGPASSWORD or PGPASSFILE)")
	}
	u.Scheme = "postgres"
	q := u.Query()
	if q.Get("search_path") != "" {
		return u.String(), nil
	}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return "", fmt.Errorf("connect to postgres at %s: %w", u.Host, err)
	}
	defer conn.Close(context.Background())
	ident := pgx.Identifier{schema}.Sanitize()
	if fresh {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+ident+" CASCADE"); err != nil {
			return "", fmt.Errorf("clear schema %s: %w", schema, err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident); err != nil {
		return "", fmt.Errorf("create schema %s: %w", schema, err)
	}
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// prepareMySQL creates the database (dropping it first with fresh) on the
// server rawURL names and returns the store URL that names it. The user
// needs the right to create it (mariadb.sh grants lockwell% databases).
func prepareMySQL(ctx context.Context, rawURL, database string, fresh bool) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "mysql" {
		return "", errors.New("--mysql-url must look like mysql://127.0.0.1:53306/lockwell_test?tls=false")
	}
	db, err := mysqlconn.Open(u)
	if err != nil {
		return "", fmt.Errorf("--mysql-url: %w", err)
	}
	defer db.Close()
	if fresh {
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+database); err != nil {
			return "", fmt.Errorf("clear database %s at %s: %w", database, u.Host, err)
		}
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+database+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return "", fmt.Errorf("create database %s at %s: %w", database, u.Host, err)
	}
	u.Path = "/" + database
	return u.String(), nil
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.Host
	}
	return "?"
}

// run starts the stack, serves the API until ctx ends and stops everything.
// ready, if set, is called with the API address once it accepts connections.
func run(ctx context.Context, o options, stdout io.Writer, logger *slog.Logger, setenv func(key, value string) error, ready func(addr string)) error {
	s, err := start(ctx, o, setenv)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.serve(ctx, o.Addr, stdout, logger, ready)
}

// serve runs the local server over s until ctx ends.
func (s *stack) serve(ctx context.Context, addr string, stdout io.Writer, logger *slog.Logger, ready func(addr string)) error {
	cfg := server.Config{Addr: addr, DataDir: s.DataDir, Logger: logger, Deployment: s.Deployment}
	cfg.Ready = func(addr string) {
		token := filepath.Join(s.DataDir, server.AdminTokenFile)
		fmt.Fprintln(stdout, "Lockwell dev stack (stop with Ctrl-C):")
		for _, line := range s.Running {
			fmt.Fprintln(stdout, "  "+line)
		}
		fmt.Fprintf(stdout, "  API: http://%s\n", addr)
		fmt.Fprintf(stdout, "  admin token file: %s\n", token)
		fmt.Fprintf(stdout, "Log in with:\n  lockwell login --url http://%s --token-stdin < %s\n", addr, token)
		if ready != nil {
			ready(addr)
		}
	}
	err := server.Run(ctx, cfg)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("stop the stand-ins: %w", cerr)
	}
	return err
}

// setenv sets a variable of this process, or unsets it when value is "".
func setenv(key, value string) error {
	if value == "" {
		return os.Unsetenv(key)
	}
	return os.Setenv(key, value)
}

func main() {
	var o options
	flag.StringVar(&o.Store, "store", "sqlite", "the store: "+strings.Join(stores, ", "))
	flag.StringVar(&o.Values, "values", "none", "the external value store: "+strings.Join(values, ", "))
	flag.StringVar(&o.Addr, "addr", server.DefaultAddr, "the API's loopback host:port")
	flag.StringVar(&o.DataDir, "data-dir", server.DefaultDataDir, "the data directory; each combination but sqlite/none uses a subfolder STORE[-VALUES]")
	flag.StringVar(&o.PostgresURL, "postgres-url", os.Getenv("LOCKWELL_TEST_POSTGRES_URL"), "the PostgreSQL database for --store postgres (user from PGUSER; default LOCKWELL_TEST_POSTGRES_URL)")
	flag.StringVar(&o.MySQLURL, "mysql-url", os.Getenv("LOCKWELL_TEST_MYSQL_URL"), "the MySQL server for --store mysql (user from MYSQL_USER, password from MYSQL_PWD or MYSQL_PWD_FILE; default LOCKWELL_TEST_MYSQL_URL)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "stack: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, o, os.Stdout, logger, setenv, nil); err != nil {
		fmt.Fprintf(os.Stderr, "stack: %v\n", err)
		os.Exit(1)
	}
}
