package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/secret"
)

// canaryValues returns values no file or column may hold in plaintext: a
// distinctive ASCII marker, a long one that spans pages, and a UTF-8 one.
func canaryValues(i int) map[string]string {
	return map[string]string{
		"password": fmt.Sprintf("CANARY-PLAINTEXT-%04d-zq7", i),
		"long":     strings.Repeat(fmt.Sprintf("CANARY-LONG-%04d|", i), 1000),
		"unicode":  fmt.Sprintf("CANARY-ключ-鍵-%04d", i),
	}
}

// canaryNeedles are byte strings that would show up if any canary value
// were stored in plaintext, whole or in part.
var canaryNeedles = [][]byte{[]byte("CANARY-PLAINTEXT-"), []byte("CANARY-LONG-"), []byte("CANARY-ключ")}

// writeCanaries creates, updates (keeping the replaced version, so past
// versions hold canaries too) and deletes secrets holding canary values
// and returns the names of those left (names are metadata, stored in
// plaintext: the scans look for one to prove they can see the data).
func writeCanaries(t *testing.T, s backend.Backend) []string {
	t.Helper()
	ctx := context.Background()
	var names []string
	for i := range 20 {
		sec := backendtest.New(fmt.Sprintf("canary-secret-%02d", i), "alice", i%2 == 0, canaryValues(i))
		require.NoError(t, s.Create(ctx, sec))
		switch i % 4 {
		case 1:
			require.NoError(t, s.Update(ctx, backendtest.WithHistory(sec, &secret.Retention{Versions: 5}, secret.OpUpdate,
				func(n *secret.Secret) { n.Values = canaryValues(100 + i) }), 1))
		case 3:
			require.NoError(t, s.Delete(ctx, sec.ID, 0))
			continue
		}
		names = append(names, sec.Name)
	}
	return names
}

func TestSQLiteFilesHoldNoPlaintextValues(t *testing.T) {
	s, path := openSQLite(t)
	names := writeCanaries(t, s)
	dir := filepath.Dir(path)

	scan := func(when string) {
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		all := []byte{}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			for _, needle := range canaryNeedles {
				assert.False(t, bytes.Contains(b, needle), "%s: file %s holds a value in plaintext", when, e.Name())
			}
			all = append(all, b...)
		}
		assert.True(t, bytes.Contains(all, []byte(names[0])), "%s: the scan sees no stored data at all", when)
	}
	scan("while open (database and WAL)")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the database file is private")
	require.NoError(t, s.Close())
	scan("after close")
}

func TestPostgresColumnsHoldNoPlaintextValues(t *testing.T) {
	s, schema := openPostgres(t, testSealer(t))
	names := writeCanaries(t, s)
	rows, err := adminDB(t).Query("SELECT t::text, t.sealed FROM " + schema + ".secrets t" +
		" UNION ALL SELECT v::text, v.sealed FROM " + schema + ".secret_versions v")
	require.NoError(t, err)
	defer rows.Close()
	all := []byte{}
	for rows.Next() {
		var text string
		var sealed []byte
		require.NoError(t, rows.Scan(&text, &sealed))
		require.NotEmpty(t, sealed, "every secret with values has sealed values")
		for _, needle := range canaryNeedles {
			assert.False(t, bytes.Contains([]byte(text), needle), "a row's text holds a value in plaintext")
			assert.False(t, bytes.Contains(sealed, needle), "a sealed column holds a value in plaintext")
		}
		all = append(all, text...)
	}
	require.NoError(t, rows.Err())
	assert.True(t, bytes.Contains(all, []byte(names[0])), "the scan sees no stored data at all")
}

// TestSealedValuesAreBoundToTheirRow moves one secret's sealed values onto
// another row: opening them must fail rather than return the wrong values.
func TestSealedValuesAreBoundToTheirRow(t *testing.T) {
	sealer := testSealer(t)
	path := filepath.Join(t.TempDir(), "lockwell.db")
	s := openSQLiteAt(t, path, sealer)
	ctx := context.Background()
	a := backendtest.New("a", "alice", false, map[string]string{"k": "A"})
	b := backendtest.New("b", "alice", false, map[string]string{"k": "B"})
	require.NoError(t, s.Create(ctx, a))
	require.NoError(t, s.Create(ctx, b))
	require.NoError(t, s.Close())

	raw := rawSQLite(t, path)
	_, err := raw.Exec("UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE id = ?) WHERE id = ?", a.ID, b.ID)
	require.NoError(t, err)
	raw.Close()

	s2 := openSQLiteAt(t, path, sealer)
	_, err = s2.Get(ctx, b.ID)
	require.Error(t, err, "values sealed for another secret must not open")
	_, err = s2.Get(ctx, a.ID)
	require.NoError(t, err)

	// A past version's values are bound to that version: moved onto the
	// current row, they do not open as the current version.
	a2 := backendtest.WithHistory(a, &secret.Retention{Versions: 5}, secret.OpUpdate, func(x *secret.Secret) { x.Values["k"] = "A2" })
	require.NoError(t, s2.Update(ctx, a2, 1))
	require.NoError(t, s2.Close())
	raw = rawSQLite(t, path)
	_, err = raw.Exec("UPDATE secrets SET sealed = (SELECT sealed FROM secret_versions WHERE id = ? AND version = 1) WHERE id = ?", a.ID, a.ID)
	require.NoError(t, err)
	raw.Close()
	s3 := openSQLiteAt(t, path, sealer)
	_, err = s3.Get(ctx, a.ID)
	require.Error(t, err, "values sealed for another version must not open")
	old, err := s3.GetVersion(ctx, a.ID, 1)
	require.NoError(t, err, "the past version still opens as itself")
	backendtest.SameValues(t, a.Values, old.Values)
}

func TestMySQLColumnsHoldNoPlaintextValues(t *testing.T) {
	s, storeURL := openMySQL(t, testSealer(t))
	names := writeCanaries(t, s)
	rows, err := mysqlDB(t, storeURL).Query(`SELECT CONCAT_WS('|', id, name, private, owner, "keys", values_ref, version,
		created, updated, origin, change_key, "change", COALESCE(public_name, ''), COALESCE(private_owner, '')), sealed FROM secrets
		UNION ALL SELECT CONCAT_WS('|', id, name, private, owner, "keys", values_ref, version,
		created, updated, origin, change_key, "change"), sealed FROM secret_versions`)
	require.NoError(t, err)
	defer rows.Close()
	all := []byte{}
	for rows.Next() {
		var text string
		var sealed []byte
		require.NoError(t, rows.Scan(&text, &sealed))
		require.NotEmpty(t, sealed, "every secret with values has sealed values")
		for _, needle := range canaryNeedles {
			assert.False(t, bytes.Contains([]byte(text), needle), "a row's text holds a value in plaintext")
			assert.False(t, bytes.Contains(sealed, needle), "a sealed column holds a value in plaintext")
		}
		all = append(all, text...)
	}
	require.NoError(t, rows.Err())
	assert.True(t, bytes.Contains(all, []byte(names[0])), "the scan sees no stored data at all")
}

// TestMySQLFilesHoldNoPlaintextValues scans the server's files for the
// canaries: the test database's tablespace and the redo log and system
// tablespace, which every commit reaches first (the tablespace's pages may
// still be only in the buffer pool). It needs the data directory readable,
// as it is for the server localdev/scripts/mariadb.sh starts.
func TestMySQLFilesHoldNoPlaintextValues(t *testing.T) {
	s, storeURL := openMySQL(t, testSealer(t))
	names := writeCanaries(t, s)
	raw := mysqlDB(t, storeURL)
	var dir, db string
	require.NoError(t, raw.QueryRow("SELECT @@datadir, DATABASE()").Scan(&dir, &db))
	if _, err := os.ReadDir(filepath.Join(dir, db)); err != nil {
		testenv.Missing(t, "the MySQL data directory is not readable here (%v); start the server with localdev/scripts/mariadb.sh", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, db, "*"))
	require.NoError(t, err)
	for _, f := range []string{"ib_logfile0", "ibdata1"} {
		files = append(files, filepath.Join(dir, f))
	}
	all := []byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, needle := range canaryNeedles {
			assert.False(t, bytes.Contains(b, needle), "file %s holds a value in plaintext", filepath.Base(f))
		}
		all = append(all, b...)
	}
	assert.True(t, bytes.Contains(all, []byte(names[0])), "the scan sees no stored data at all")
}
