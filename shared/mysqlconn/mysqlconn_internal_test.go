package mysqlconn

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
)

func parse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

func TestConfigReadsTheURL(t *testing.T) {
	t.Setenv(UserVar, "app")
	t.Setenv(PasswordVar, "pw-from-env")
	t.Setenv(PasswordFileVar, "")

	cfg, maxConns, err := config(parse(t, "mysql://db.example:3307/lockwell?max_conns=4&connect_timeout=3"), nil)
	require.NoError(t, err)
	assert.Equal(t, "db.example:3307", cfg.Addr)
	assert.Equal(t, "lockwell", cfg.DBName)
	assert.Equal(t, 4, maxConns)
	assert.Equal(t, 3*time.Second, cfg.Timeout)
	require.NotNil(t, cfg.TLS, "TLS is on by default")
	assert.False(t, cfg.TLS.InsecureSkipVerify, "and verifies the server")
	assert.Equal(t, "db.example", cfg.TLS.ServerName)
	assert.Equal(t, "app", cfg.User)
	assert.Equal(t, "pw-from-env", cfg.Passwd)
	assert.Equal(t, "utf8mb4_bin", cfg.Collation)
	assert.True(t, cfg.ParseTime)
	assert.True(t, cfg.ClientFoundRows)
	assert.Equal(t, time.UTC, cfg.Loc)
	assert.Equal(t, "'TRADITIONAL,ANSI_QUOTES'", cfg.Params["sql_mode"])

	cfg, maxConns, err = config(parse(t, "mysql://127.0.0.1/lockwell?tls=skip-verify"), nil)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:3306", cfg.Addr, "the default port")
	assert.Equal(t, 10, maxConns)
	assert.True(t, cfg.TLS.InsecureSkipVerify)

	cfg, _, err = config(parse(t, "mysql://[::1]:3306/lockwell?tls=false"), nil)
	require.NoError(t, err)
	assert.Equal(t, "[::1]:3306", cfg.Addr)
	assert.Nil(t, cfg.TLS)

	_, _, err = config(parse(t, "mysql://127.0.0.1/lockwell?search_path=x"), []string{"search_path"})
	assert.NoError(t, err, "a caller's own parameters are let through")
}

func TestConfigReadsThePasswordFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(file, []byte("pw-from-file\n"), 0o600))
	t.Setenv(UserVar, "app")
	t.Setenv(PasswordFileVar, file)
	os.Unsetenv(PasswordVar)
	cfg, _, err := config(parse(t, "mysql://127.0.0.1/lockwell"), nil)
	require.NoError(t, err)
	assert.Equal(t, "pw-from-file", cfg.Passwd, "without the final newline")
}

func TestConfigRefuses(t *testing.T) {
	t.Setenv(UserVar, "app")
	t.Setenv(PasswordVar, "")
	t.Setenv(PasswordFileVar, "")
	for _, raw := range []string{
		"postgres://127.0.0.1/lockwell",
		"mysql://app:secret-pw@127.0.0.1/lockwell",
		"mysql://127.0.0.1/lockwell?user=app",
		"mysql://127.0.0.1/lockwell?tls=yes",
		"mysql://127.0.0.1/lockwell?max_conns=-1",
		"mysql://127.0.0.1/lockwell?connect_timeout=0",
		"mysql://127.0.0.1",
		"mysql://127.0.0.1/",
		"mysql://127.0.0.1/db/extra",
		"mysql://127.0.0.1/db;drop",
		"mysql:///lockwell",
		"mysql:lockwell",
	} {
		_, _, err := config(parse(t, raw), nil)
		require.Error(t, err, raw)
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%s: %v", raw, err)
		assert.NotContains(t, err.Error(), "secret-pw")
	}
}
