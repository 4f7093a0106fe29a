package local_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	_ "github.com/lockwell/lockwell/migrate/legacy/local"
	"github.com/lockwell/lockwell/shared/errcode"
)

// referenceFixture is the reference document's local fixture, verbatim.
const referenceFixture = `aws_creds:
  aws_access_key_id: QUtJQUlPU0ZPRE5ON0VYQU1QTEU=        # AKIAIOSFODNN7EXAMPLE
  aws_secret_access_key: d0phbHJYVXRuRkVNSS9LN01ERU5HL2JQeFJmaUNZRVhBTVBMRUtFWQ==
  zenml_schema_name: aws
mlflow_basic:
  password: czNjcjN0IQ==                                  # s3cr3t!
  username: YWRtaW4=                                      # admin
  zenml_schema_name: basic_auth
openai:
  api_key: c2stYWJjMTIz                                   # sk-abc123
  zenml_schema_name: arbitrary
`

var writeFixture = legacytest.WriteLocal

func TestReferenceFixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	require.NoError(t, os.WriteFile(path, []byte(referenceFixture), 0o600))
	src, err := legacy.Open(context.Background(), "zenml-local://"+path)
	require.NoError(t, err)
	legacytest.CheckSource(t, src, legacytest.Reference())
	require.Equal(t, legacy.ScopeNone, src.Describe().Scope)
	require.Equal(t, "zenml-local://"+path+"#none/openai", src.Describe().Origin("openai"))
}

func TestEdgeCasesAndSkips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	secrets := append(legacytest.All(), legacytest.Typed())
	writeFixture(t, path, secrets, map[string]map[string]string{"not_zenml": {"x": "eQ=="}})
	src, err := legacy.Open(context.Background(), "zenml-local://"+path)
	require.NoError(t, err)
	legacytest.CheckSource(t, src, secrets, "not_zenml")

	e, err := src.Read(context.Background(), "mysql_old")
	require.NoError(t, err)
	require.True(t, e.Values["ssl_verify_server_cert"] == "False", "a Python bool becomes its str()")

	_, err = src.Read(context.Background(), "not_zenml")
	require.Equal(t, errcode.FailedPrecondition, errcode.Of(err))
	_, err = src.Read(context.Background(), "missing")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
}

func TestDeleteKeepsOthers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	writeFixture(t, path, legacytest.Reference(), nil)
	src, err := legacy.Open(ctx, "zenml-local://"+path)
	require.NoError(t, err)
	require.NoError(t, src.Delete(ctx, "openai"))
	require.Equal(t, errcode.NotFound, errcode.Of(src.Delete(ctx, "openai")))
	legacytest.CheckSource(t, src, legacytest.Reference()[:2])
	require.NoError(t, src.Delete(ctx, "aws_creds"))
	require.NoError(t, src.Delete(ctx, "mlflow_basic"))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "{}\n", string(b), "an emptied file is {} as ZenML writes it")
}

func TestMissingFileIsEmpty(t *testing.T) {
	src, err := legacy.Open(context.Background(), "zenml-local://"+filepath.Join(t.TempDir(), "none.yaml"))
	require.NoError(t, err)
	items, err := src.List(context.Background())
	require.NoError(t, err)
	require.Empty(t, items)
}

func TestURLs(t *testing.T) {
	for _, bad := range []string{
		"zenml-local://host/secrets.yaml",
		"zenml-local:///x.yaml?scope=global",
		"zenml-local:///x.yaml?color=red",
		"zenml-local:///x.yaml?component_uuid=5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
		"zenml-nope:///x.yaml",
	} {
		_, err := legacy.Open(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
}

func TestFromComponent(t *testing.T) {
	t.Setenv("ZENML_LOCAL_STORES_PATH", "/stores")
	u, err := legacy.FromComponent("local", []byte(`{}`), "5d4c3b2a1f0e4d9c8b7a6f5e4d3c2b1a")
	require.NoError(t, err)
	require.Equal(t, "zenml-local:///stores/5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a/secrets.yaml", u)
	cfg := base64.StdEncoding.EncodeToString([]byte(`{"secrets_file": "/tmp/s.yaml"}`))
	u, err = legacy.FromComponent("local", []byte(cfg), "")
	require.NoError(t, err)
	require.Equal(t, "zenml-local:///tmp/s.yaml", u)
	_, err = legacy.FromComponent("nope", []byte(`{}`), "")
	require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}
