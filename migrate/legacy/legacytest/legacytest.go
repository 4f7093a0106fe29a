// Package legacytest holds the legacy fixtures every flavor's tests write in
// that flavor's own format (from the rules in
// shared/reference/zenml-legacy-secrets-managers.md), and the comparisons
// that never print a secret value.
package legacytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/lockwell/lockwell/localdev/testenv"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

// Secret is one ZenML secret as a legacy manager held it.
type Secret struct {
	Name   string
	Schema string
	Values map[string]any // JSON values; strings except where a test needs otherwise
}

// Want returns the values the migration must produce.
func (s Secret) Want() map[string]string {
	_, v, _ := legacy.Decode(s.Payload())
	return v
}

// Payload returns content plus zenml_schema_name, as ZenML serialized it.
func (s Secret) Payload() map[string]any {
	p := map[string]any{legacy.SchemaKey: s.Schema}
	for k, v := range s.Values {
		p[k] = v
	}
	return p
}

// PayloadJSON returns Payload as Python's json.dumps wrote it (", " and ": "
// separators, ensure_ascii).
func (s Secret) PayloadJSON() string {
	keys := make([]string, 0, len(s.Values))
	for k := range s.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	keys = append(keys, legacy.SchemaKey)
	p := s.Payload()
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, asciiJSON(k)+": "+asciiJSON(p[k]))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func asciiJSON(v any) string {
	b, _ := json.Marshal(v)
	var out strings.Builder
	for _, r := range string(b) {
		if r < 0x80 {
			out.WriteRune(r)
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
			continue
		}
		fmt.Fprintf(&out, `\u%04x`, r)
	}
	return out.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// Reference returns the reference document's own fixture secrets.
func Reference() []Secret {
	return []Secret{
		{Name: "mlflow_basic", Schema: "basic_auth", Values: map[string]any{"username": "admin", "password": "s3cr3t!"}},
		{Name: "aws_creds", Schema: "aws", Values: map[string]any{"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}},
		{Name: "openai", Schema: "arbitrary", Values: map[string]any{"api_key": "sk-abc123"}},
	}
}

// EdgeCases returns secrets that exercise the corners: non-ASCII and empty
// values, names with . @ + =, keys starting with _ or containing -, a typed
// (non-string) value.
func EdgeCases() []Secret {
	return []Secret{
		{Name: "db.main@prod+v2=x", Schema: "basic_auth", Values: map[string]any{"username": "zenml-user", "password": "päss wörd ✓ 日本 🔑"}},
		{Name: "empty_values", Schema: "arbitrary", Values: map[string]any{"blank": "", "_hidden": "under"}},
		{Name: "azure-ish", Schema: "azure", Values: map[string]any{"client-id": "11111111-2222-3333-4444-555555555555", "tenant-id": "t"}},
	}
}

// Typed is a historic mysql secret with a boolean, which must become "False".
func Typed() Secret {
	return Secret{Name: "mysql_old", Schema: "mysql", Values: map[string]any{"user": "root", "ssl_verify_server_cert": false}}
}

// All returns Reference plus EdgeCases.
func All() []Secret { return append(Reference(), EdgeCases()...) }

// RequireSameValues fails the test naming the keys whose values differ,
// never the values.
func RequireSameValues(t testing.TB, want, got map[string]string, what string) {
	t.Helper()
	secrettest.RequireSameValues(t, want, got, what)
}

// CheckSource lists src, requires exactly the migratable names in want
// (plus the skipped entries in skipped, by name), and reads each wanted
// secret back with its values. Migratable entries of ZenML's centralized
// store are left to package migrate/centraltest.
func CheckSource(t testing.TB, src legacy.Source, want []Secret, skipped ...string) {
	t.Helper()
	ctx := context.Background()
	items, err := src.List(ctx)
	require.NoError(t, err)
	var gotMigratable, gotSkipped []string
	for _, it := range items {
		switch {
		case it.Owned != nil && it.Status == legacy.Migratable:
			continue
		case it.Status == legacy.Migratable:
			gotMigratable = append(gotMigratable, it.Name)
		default:
			require.NotEmpty(t, it.Reason, "entry %s has no reason", it.Name)
			gotSkipped = append(gotSkipped, it.Name)
		}
	}
	var wantNames []string
	for _, s := range want {
		wantNames = append(wantNames, s.Name)
	}
	require.ElementsMatch(t, wantNames, gotMigratable)
	require.ElementsMatch(t, skipped, gotSkipped)
	for _, s := range want {
		e, err := src.Read(ctx, s.Name)
		require.NoError(t, err, "read %s", s.Name)
		require.Equal(t, s.Schema, e.Schema, "schema of %s", s.Name)
		RequireSameValues(t, s.Want(), e.Values, s.Name)
		for _, it := range items {
			if it.Name == s.Name && it.Status == legacy.Migratable {
				require.Equal(t, legacy.SortedKeys(s.Want()), it.Keys, "keys of %s", s.Name)
			}
		}
	}
}

// RequireEmulator skips the test when the emulator is missing (err is not
// nil) outside CI and fails it in CI (see testenv.Missing).
func RequireEmulator(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		testenv.Missing(t, "%s not available: %v", what, err)
	}
}

// WriteLocal writes secrets to path as ZenML's local manager does: base64
// values, zenml_schema_name plain, keys sorted (as PyYAML's dump), plus
// extra raw entries.
func WriteLocal(t testing.TB, path string, secrets []Secret, extra map[string]map[string]string) {
	t.Helper()
	doc := map[string]map[string]string{}
	for _, s := range secrets {
		m := map[string]string{legacy.SchemaKey: s.Schema}
		for k, v := range s.Values {
			m[k] = base64.StdEncoding.EncodeToString([]byte(legacy.Stringify(v)))
		}
		doc[s.Name] = m
	}
	for k, v := range extra {
		doc[k] = v
	}
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
}
