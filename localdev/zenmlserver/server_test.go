package zenmlserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/zenmlserver"
)

func login(t *testing.T, base string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(base+"/api/v1/login", form)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func get(t *testing.T, base, path, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// TestShapes checks the stand-in against the shapes ZenML's sources define:
// the login form's grants, OAuthTokenResponse, Page, SecretResponse, the
// error body, paging and private scoping.
func TestShapes(t *testing.T) {
	zen := zenmlserver.New()
	alice := zen.AddUser("alice", "pw-alice", false)
	sa := zen.AddUser("robot", "", true)
	key := zen.AddAPIKey(sa)
	for i := range 5 {
		zen.AddSecret(alice, "s"+string(rune('a'+i)), false, map[string]string{"k": "v"})
	}
	zen.AddSecret(alice, "mine", true, map[string]string{"k": "private"})
	srv := httptest.NewServer(zen)
	defer srv.Close()

	status, body := login(t, srv.URL, url.Values{"username": {"alice"}, "password": {"wrong"}})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "AuthorizationException", body["detail"].([]any)[0])
	status, _ = login(t, srv.URL, url.Values{"grant_type": {"password"}, "username": {"robot"}, "password": {""}})
	require.Equal(t, http.StatusUnauthorized, status, "service accounts log in with API keys only")
	status, body = login(t, srv.URL, url.Values{"password": {key}}) // a lone password is an API key
	require.Equal(t, http.StatusOK, status)
	robotToken := body["access_token"].(string)
	status, body = login(t, srv.URL, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"pw-alice"}})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "bearer", body["token_type"])
	token := body["access_token"].(string)

	status, page := get(t, srv.URL, "/api/v1/secrets?page=2&size=2&hydrate=true", token)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 2, page["index"])
	require.EqualValues(t, 2, page["max_size"])
	require.EqualValues(t, 3, page["total_pages"])
	require.EqualValues(t, 6, page["total"])
	items := page["items"].([]any)
	require.Len(t, items, 2)
	first := items[0].(map[string]any)
	require.Equal(t, "sc", first["name"])
	require.Empty(t, first["body"].(map[string]any)["values"], "lists never carry values")
	require.Equal(t, "alice", first["resources"].(map[string]any)["user"].(map[string]any)["name"])

	_, page = get(t, srv.URL, "/api/v1/secrets?size=100", robotToken)
	require.EqualValues(t, 5, page["total"], "another user's private secret is not listed")
	status, _ = get(t, srv.URL, "/api/v1/secrets?size=10001", token)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	status, _ = get(t, srv.URL, "/api/v1/secrets", "not-a-token")
	require.Equal(t, http.StatusUnauthorized, status)

	_, page = get(t, srv.URL, "/api/v1/secrets?size=100&sort_by=desc:name", token)
	var names []string
	for _, it := range page["items"].([]any) {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	require.Equal(t, "se,sd,sc,sb,sa,mine", strings.Join(names, ","))
	mine := page["items"].([]any)[5].(map[string]any)
	status, detail := get(t, srv.URL, "/api/v1/secrets/"+mine["id"].(string), token)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{"k": "private"}, detail["body"].(map[string]any)["values"])
	require.Equal(t, true, detail["body"].(map[string]any)["private"])
	status, body = get(t, srv.URL, "/api/v1/secrets/"+mine["id"].(string), robotToken)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "KeyError", body["detail"].([]any)[0])
}
