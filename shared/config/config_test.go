package config_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
	_ "github.com/lockwell/lockwell/shared/valuestore/example"
)

var opened []backend.Options

func init() {
	backend.Register("configtest", func(_ context.Context, _ *url.URL, o backend.Options) (backend.Backend, error) {
		opened = append(opened, o)
		return memstore.New(), nil
	})
}

func TestFromEnv(t *testing.T) {
	t.Setenv("LOCKWELL_STORE", "configtest://x")
	t.Setenv("LOCKWELL_KEY", "localkey://"+filepath.Join(t.TempDir(), "k"))
	t.Setenv("LOCKWELL_ADMINS", " ops@example.com , arn:aws:iam::1:role/admin ")
	c, err := config.FromEnv()
	require.NoError(t, err)
	assert.Equal(t, []string{"ops@example.com", "arn:aws:iam::1:role/admin"}, c.Admins)
	assert.Equal(t, config.AuthPlatform, c.Auth)

	d, err := c.Open(context.Background(), nil)
	require.NoError(t, err)
	defer d.Close()
	assert.NotNil(t, opened[len(opened)-1].Sealer, "the backend gets a sealer")
	assert.Equal(t, identity.Admin, d.Principal("ops@example.com").Role)
	assert.Equal(t, identity.Member, d.Principal("someone").Role)
}

func TestConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		c    config.Config
		msg  string
	}{
		{"no store", config.Config{KeyURL: "localkey:///k"}, "LOCKWELL_STORE"},
		{"no key", config.Config{StoreURL: "configtest://x"}, "LOCKWELL_KEY"},
		{"values without deployment", config.Config{StoreURL: "configtest://x", KeyURL: "localkey:///k", ValuesURL: "filevalues:///tmp/x"}, "LOCKWELL_DEPLOYMENT"},
		{"bad auth", config.Config{StoreURL: "configtest://x", KeyURL: "localkey:///k", Auth: "none"}, "LOCKWELL_AUTH"},
		{"bad admin", config.Config{StoreURL: "configtest://x", KeyURL: "localkey:///k", Admins: []string{"a b"}}, "LOCKWELL_ADMINS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	_, err := config.Config{StoreURL: "nosuch://x", KeyURL: "localkey://" + filepath.Join(t.TempDir(), "k")}.Open(context.Background(), nil)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "an unknown scheme")
}

func TestValuesGoToTheExternalStore(t *testing.T) {
	dir := t.TempDir()
	c := config.Config{StoreURL: "configtest://x", ValuesURL: "filevalues://" + dir, Deployment: "dep-1"}
	d, err := c.Open(context.Background(), nil)
	require.NoError(t, err)
	defer d.Close()
	require.NotNil(t, d.Values)
	p := identity.Principal{Name: "alice", Role: identity.Member}
	s, err := d.Store.Create(context.Background(), p, store.CreateRequest{Name: "x", Values: map[string]string{"k": "v"}})
	require.NoError(t, err)
	n := 0
	require.NoError(t, d.Values.Entries(context.Background(), func(id string) error {
		assert.Equal(t, s.ID, id)
		n++
		return nil
	}))
	assert.Equal(t, 1, n)
}

func TestHistoryFromEnv(t *testing.T) {
	env := map[string]string{"LOCKWELL_KEEP_VERSIONS": "5", "LOCKWELL_KEEP_DAYS": "30", "LOCKWELL_RECOVERY_DAYS": "0"}
	h, err := config.HistoryFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, 5, h.KeepVersions)
	assert.Equal(t, 30, h.KeepDays)
	require.NotNil(t, h.RecoveryDays)
	assert.Equal(t, 0, *h.RecoveryDays, "0 is a setting (destroy at once), not the default")

	h, err = config.HistoryFromEnv(func(string) string { return "" })
	require.NoError(t, err)
	assert.Nil(t, h.RecoveryDays, "unset keeps the store's default")
	assert.Empty(t, h.Options())

	for name, bad := range map[string]string{"LOCKWELL_KEEP_VERSIONS": "0", "LOCKWELL_KEEP_DAYS": "x", "LOCKWELL_RECOVERY_DAYS": "-1"} {
		_, err := config.HistoryFromEnv(func(k string) string {
			if k == name {
				return bad
			}
			return ""
		})
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), name)
	}
}
