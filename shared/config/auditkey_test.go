package config_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that makes a schema per test
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/localdev/kms"
	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/config"
	_ "github.com/lockwell/lockwell/shared/dynamostore"
	"github.com/lockwell/lockwell/shared/envelope"
	_ "github.com/lockwell/lockwell/shared/envelope/awskms"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// localKMS starts the local KMS with the key alias/lockwell and points the
// SDK's default chain at it through the standard variables only.
func localKMS(t *testing.T) *kms.Server {
	t.Helper()
	srv, err := kms.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	_, err = srv.CreateKey("lockwell test", "alias/lockwell")
	require.NoError(t, err)
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_KMS": srv.URL(), "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local-only",
		"AWS_REGION": kms.Region, "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return srv
}

// postgresSchema makes an empty schema for one test and returns the store
// URL that selects it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := testenv.PostgresURL(t)
	db, err := sql.Open("pgx", base)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	b := make([]byte, 6)
	_, err = rand.Read(b)
	require.NoError(t, err)
	schema := "lockwell_test_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// lockedBuffer is a log destination two goroutines may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKMSDeploymentsKeepAnAuditLog opens deployments whose store key is a
// KMS key (the local KMS), on each backend that keeps the wrapped chain
// key: two processes start at once and must agree on the chain key, so
// that a chain one writes verifies with the other; a later process finds
// the key and costs one Decrypt.
func TestKMSDeploymentsKeepAnAuditLog(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "lockwell.db") },
		"postgres": postgresSchema,
		"dynamodb": func(t *testing.T) string {
			dyn := dynalite.ForTest(t)
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", dyn.Endpoint())
			// The table exists before the functions start, as
			// template.yaml makes it.
			const table = "dynamodb://lockwell-audit-key"
			d, err := config.Config{StoreURL: table + "?create_table=true", KeyURL: "localkey://" + filepath.Join(t.TempDir(), "k"), Auth: config.AuthBearer}.Open(context.Background(), nil)
			require.NoError(t, err)
			require.NoError(t, d.Close())
			return table
		},
	}
	for name, storeURL := range backends {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			keys := localKMS(t)
			c := config.Config{StoreURL: storeURL(t), KeyURL: "awskms://alias/lockwell?cache_size=0", Auth: config.AuthBearer}
			var logs lockedBuffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))

			var deps [2]*config.Deployment
			var errs [2]error
			var wg sync.WaitGroup
			for i := range deps {
				wg.Go(func() { deps[i], errs[i] = c.Open(ctx, logger) })
			}
			wg.Wait()
			for i := range deps {
				require.NoError(t, errs[i], "opener %d", i)
				require.NotNil(t, deps[i].Store.AuditLog(), "a KMS deployment keeps an audit log")
				t.Cleanup(func() { _ = deps[i].Close() })
			}
			// Both may make a key when they race; one is stored, and the
			// other opener unwraps that one.
			assert.Contains(t, []int{1, 2}, keys.Calls("GenerateDataKey"))
			assert.Equal(t, 1, strings.Count(logs.String(), "made this deployment's audit chain key"), "one opener stored the chain key")

			alice := identity.Principal{Name: "alice", Role: identity.Member}
			sec, err := deps[0].Store.Create(ctx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"k": "the-value"}})
			require.NoError(t, err)
			_, err = deps[0].Store.Get(ctx, alice, sec.ID)
			require.NoError(t, err)
			rep, err := deps[1].Store.AuditLog().Verify(ctx, false)
			require.NoError(t, err)
			assert.Nil(t, rep.Broken, "the other process verifies the chain: same key")
			assert.Equal(t, int64(3), rep.Checked, "create request and response, get")
			_, err = deps[1].Store.Get(ctx, alice, sec.ID)
			require.NoError(t, err, "and appends to it")

			// A later cold start: it finds the key (one Decrypt, nothing made).
			gen, dec := keys.Calls("GenerateDataKey"), keys.Calls("Decrypt")
			later, err := c.Open(ctx, logger)
			require.NoError(t, err)
			defer later.Close()
			assert.Equal(t, gen, keys.Calls("GenerateDataKey"))
			assert.Equal(t, dec+1, keys.Calls("Decrypt"))
			rep, err = later.Store.AuditLog().Verify(ctx, false)
			require.NoError(t, err)
			assert.Nil(t, rep.Broken)
			assert.Equal(t, int64(4), rep.Checked)

			// The key itself appears in no log line.
			w, err := envelope.OpenWrapper(ctx, c.KeyURL)
			require.NoError(t, err)
			key, created, err := audit.LoadKey(ctx, later.Index.(audit.KeyStorage), w)
			require.NoError(t, err)
			require.False(t, created)
			out := logs.String()
			for _, enc := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
				assert.False(t, bytes.Contains([]byte(out), []byte(enc)), "the chain key is in the log")
			}
			assert.NotContains(t, out, "the-value")
		})
	}
}

// TestAuditKeyOverridesTheStoreKey: LOCKWELL_AUDIT_KEY (a local key) is
// where the chain key comes from even when the store key is KMS: derived,
// nothing stored, and a process with only that key verifies the chain.
func TestAuditKeyOverridesTheStoreKey(t *testing.T) {
	ctx := context.Background()
	keys := localKMS(t)
	dir := t.TempDir()
	auditKey := make([]byte, envelope.KeySize)
	auditKey[0] = 42
	t.Setenv("LOCKWELL_TEST_AUDIT_KEY", base64.StdEncoding.EncodeToString(auditKey))
	storeURL := "sqlite://" + filepath.Join(dir, "lockwell.db")
	c := config.Config{StoreURL: storeURL, KeyURL: "awskms://alias/lockwell", AuditKeyURL: "envkey://LOCKWELL_TEST_AUDIT_KEY", Auth: config.AuthBearer}
	d, err := c.Open(ctx, nil)
	require.NoError(t, err)
	defer d.Close()
	assert.Zero(t, keys.Calls("GenerateDataKey")+keys.Calls("Decrypt"), "no KMS call for the audit key")
	wrapped, err := d.Index.(audit.KeyStorage).WrappedAuditKey(ctx)
	require.NoError(t, err)
	assert.Nil(t, wrapped, "a derived chain key is stored nowhere")
	_, err = d.Store.Create(ctx, identity.Principal{Name: "alice", Role: identity.Member}, store.CreateRequest{Name: "x"})
	require.NoError(t, err)

	derived, err := audit.DeriveKey(auditKey)
	require.NoError(t, err)
	l, err := audit.New(d.Index.(audit.Storage), derived)
	require.NoError(t, err)
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
	assert.Equal(t, int64(2), rep.Checked)
}

// TestIndexWithKMSAuditKey is the AWS deployment with values in Secrets
// Manager: the table holds no values and has no store key, and
// LOCKWELL_AUDIT_KEY names the KMS key that wraps the chain key.
func TestIndexWithKMSAuditKey(t *testing.T) {
	ctx := context.Background()
	localKMS(t)
	dir := t.TempDir()
	c := config.Config{
		StoreURL: "sqlite://" + filepath.Join(dir, "lockwell.db"), ValuesURL: "filevalues://" + filepath.Join(dir, "values"),
		Deployment: "dep-1", AuditKeyURL: "awskms://alias/lockwell", Auth: config.AuthBearer,
	}
	d, err := c.Open(ctx, nil)
	require.NoError(t, err)
	defer d.Close()
	require.NotNil(t, d.Store.AuditLog())
	_, err = d.Store.Create(ctx, identity.Principal{Name: "alice", Role: identity.Member}, store.CreateRequest{Name: "x", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	wrapped, err := d.Index.(audit.KeyStorage).WrappedAuditKey(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, wrapped)

	// Without any key there is nothing to key the chain with: no log.
	c.AuditKeyURL = ""
	var logs bytes.Buffer
	bare, err := c.Open(ctx, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	defer bare.Close()
	assert.Nil(t, bare.Store.AuditLog())
	assert.Contains(t, logs.String(), "LOCKWELL_AUDIT_KEY")
}
