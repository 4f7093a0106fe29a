package vault_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	localvault "github.com/lockwell/lockwell/localdev/vault"
)

// These answers were compared with the real Vault 1.21.4 by
// localdev/realvault's differential test; they pin what it found.

func rawCall(t *testing.T, addr, token, method, path string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, addr+"/v1/"+path, rd)
	require.NoError(t, err)
	req.Header.Set("X-Vault-Token", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out))
	}
	return resp.StatusCode, resp.Header, out
}

func TestAnswersMatchTheRealVault(t *testing.T) {
	srv, addr := localvault.Start(t)
	tok := srv.RootToken
	status, _, _ := rawCall(t, addr, tok, "POST", "secret/data/p", map[string]any{"data": map[string]any{"k": "v"}})
	require.Equal(t, http.StatusOK, status)

	t.Run("204 answers carry the JSON content type", func(t *testing.T) {
		status, h, _ := rawCall(t, addr, tok, "POST", "secret/delete/p", map[string]any{"versions": []int{1}})
		assert.Equal(t, http.StatusNoContent, status)
		assert.Equal(t, "application/json", h.Get("Content-Type"))
	})
	t.Run("error texts", func(t *testing.T) {
		cases := []struct {
			path string
			body any
			want string
		}{
			{"secret/data/p", map[string]any{"data": map[string]any{"k": "v"}, "options": map[string]any{"cas": "three"}}, "error parsing check-and-set parameter"},
			{"secret/delete/p", map[string]any{}, "No version number provided"},
			{"secret/undelete/p", map[string]any{}, "No version number provided"},
			{"secret/destroy/p", map[string]any{}, "no version number provided"},
		}
		for _, tc := range cases {
			status, _, body := rawCall(t, addr, tok, "POST", tc.path, tc.body)
			assert.Equal(t, http.StatusBadRequest, status, tc.path)
			assert.Equal(t, []any{tc.want}, body["errors"], tc.path)
		}
	})
	t.Run("a refused metadata write changes nothing", func(t *testing.T) {
		status, _, _ := rawCall(t, addr, tok, "POST", "secret/metadata/p", map[string]any{"custom_metadata": map[string]any{"owner": "a"}})
		require.Equal(t, http.StatusNoContent, status)
		status, _, _ = rawCall(t, addr, tok, "POST", "secret/metadata/p", map[string]any{"custom_metadata": map[string]any{"n": 1}, "cas_required": true})
		assert.Equal(t, http.StatusBadRequest, status)
		_, _, body := rawCall(t, addr, tok, "GET", "secret/metadata/p", nil)
		data, _ := body["data"].(map[string]any)
		assert.Equal(t, map[string]any{"owner": "a"}, data["custom_metadata"])
		assert.Equal(t, false, data["cas_required"])

		status, _, _ = rawCall(t, addr, tok, "POST", "secret/metadata/fresh", map[string]any{"max_versions": -1})
		assert.Equal(t, http.StatusBadRequest, status)
		status, _, _ = rawCall(t, addr, tok, "GET", "secret/metadata/fresh", nil)
		assert.Equal(t, http.StatusNotFound, status, "a refused write creates no entry")
	})
}
