package config_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/audit"
	"github.com/lockwell/lockwell/shared/config"
	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	_ "github.com/lockwell/lockwell/shared/sqlstore"
	"github.com/lockwell/lockwell/shared/store"
)

func TestDeploymentWritesAuditRecords(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := make([]byte, envelope.KeySize)
	key[0] = 9
	t.Setenv("LOCKWELL_TEST_AUDIT_STORE_KEY", base64.StdEncoding.EncodeToString(key))
	file := filepath.Join(dir, "audit.jsonl")
	c := config.Config{
		StoreURL: "sqlite://" + filepath.Join(dir, "lockwell.db"), KeyURL: "envkey://LOCKWELL_TEST_AUDIT_STORE_KEY",
		Auth: config.AuthBearer, AuditFile: file,
	}
	d, err := c.Open(ctx, nil)
	require.NoError(t, err)
	l := d.Store.AuditLog()
	require.NotNil(t, l, "a SQL deployment with a local store key keeps an audit log")
	alice := identity.Principal{Name: "alice", Role: identity.Member}
	sec, err := d.Store.Create(ctx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"k": "the-value"}})
	require.NoError(t, err)
	_, err = d.Store.Get(ctx, alice, sec.ID)
	require.NoError(t, err)
	rep, err := l.Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
	assert.Equal(t, int64(3), rep.Checked, "create request and response, get")
	require.NoError(t, d.Close())

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "the-value")
	var first audit.Record
	require.NoError(t, json.Unmarshal(data[:bytes.IndexByte(data, '\n')], &first))
	assert.Equal(t, "create", first.Operation)

	// The same store key gives the same chain key: a second process verifies.
	d, err = c.Open(ctx, nil)
	require.NoError(t, err)
	defer d.Close()
	rep, err = d.Store.AuditLog().Verify(ctx, false)
	require.NoError(t, err)
	assert.Nil(t, rep.Broken)
}

func TestAuditKeyThatDoesNotOpen(t *testing.T) {
	dir := t.TempDir()
	c := config.Config{
		StoreURL: "sqlite://" + filepath.Join(dir, "lockwell.db"), KeyURL: "localkey://" + filepath.Join(dir, "store.key"),
		Auth: config.AuthBearer, AuditKeyURL: "envkey://LOCKWELL_TEST_UNSET_AUDIT_KEY",
	}
	_, err := c.Open(context.Background(), nil)
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}
