package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/PaesslerAG/jsonpath"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// This file replays, against a real server, the requests External Secrets
// Operator's generic webhook provider sends and the JSONPath extraction it
// applies to the answers, for the SecretStore the README documents. The
// replay follows ESO's source (providers/v1/webhook/webhook.go and
// providers/v1/webhook/pkg/webhook/webhook.go, external-secrets v1 API):
//
//   - template data is {"remoteRef": {"key", "version", "property",
//     "namespace"}} plus, per spec.secrets entry, its Kubernetes Secret's
//     data under its name; the URL is rendered with url.QueryEscape'd
//     remoteRef values, headers and body with the raw ones (text/template);
//   - the request is http.NewRequestWithContext(method (default GET), url,
//     bytes.NewReader(body)), each header added with Header.Add;
//   - 404 is esv1.NoSecretError (the secret is gone: ESO deletes or keeps
//     the Kubernetes Secret by its deletionPolicy), 304 NotModified, any
//     other status outside 2xx an error;
//   - data[].remoteRef (GetSecret): result.jsonPath rendered with the raw
//     data, applied with github.com/PaesslerAG/jsonpath (the library and
//     version ESO uses) to the decoded body, and the result turned into
//     bytes by extractSecretData;
//   - dataFrom.extract (GetSecretMap): the same path; a string result is
//     decoded as JSON again; the result must be an object, each member
//     turned into bytes by esutils.GetByteValue.
//
// ESO renders templates with its own function map (sprig-like); the
// templates below use none of its functions, so text/template without them
// renders them the same.

// esoStore is the webhook provider spec of the README's SecretStore.
type esoStore struct {
	URL      string
	Headers  map[string]string
	JSONPath string
	Secrets  map[string]map[string]string // spec.secrets: name -> the Kubernetes Secret's data
}

// readmeStore returns the README's SecretStore for a Lockwell at base, with
// the Kubernetes Secret lockwell-eso-token holding token.
func readmeStore(base, token string) esoStore {
	return esoStore{
		URL:      base + "/api/v1/secrets/by-name/{{ .remoteRef.key }}",
		Headers:  map[string]string{"Authorization": "Bearer {{ .auth.token }}"},
		JSONPath: `{{ if .remoteRef.property }}$.values["{{ .remoteRef.property }}"]{{ else }}$.values{{ end }}`,
		Secrets:  map[string]map[string]string{"auth": {"token": token}},
	}
}

// esoRef is an ExternalSecretDataRemoteRef.
type esoRef struct{ Key, Version, Property string }

var errNoSecret = errors.New("esv1.NoSecretError: secret does not exist")

func (s esoStore) templateData(ref esoRef, escape bool) map[string]map[string]string {
	q := func(v string) string { return v }
	if escape {
		q = url.QueryEscape
	}
	data := map[string]map[string]string{"remoteRef": {
		"key": q(ref.Key), "version": q(ref.Version), "property": q(ref.Property), "namespace": "apps",
	}}
	for name, d := range s.Secrets {
		data[name] = d
	}
	return data
}

func render(t *testing.T, tmpl string, data map[string]map[string]string) string {
	t.Helper()
	if tmpl == "" {
		return ""
	}
	tp, err := template.New("webhooktemplate").Parse(tmpl)
	require.NoError(t, err)
	var b bytes.Buffer
	require.NoError(t, tp.Execute(&b, data))
	return b.String()
}

// webhookData is Webhook.GetWebhookData and executeRequest.
func (s esoStore) webhookData(t *testing.T, ref esoRef) ([]byte, error) {
	t.Helper()
	u := render(t, s.URL, s.templateData(ref, true))
	body := render(t, "", s.templateData(ref, false)) // spec.body is empty
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	for k, v := range s.Headers {
		req.Header.Add(k, render(t, v, s.templateData(ref, false)))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errNoSecret
	case resp.StatusCode == http.StatusNotModified:
		return nil, errors.New("esv1.NotModifiedError")
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return nil, fmt.Errorf("endpoint gave error %s", resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// getSecret is WebHook.GetSecret (data[].remoteRef).
func (s esoStore) getSecret(t *testing.T, ref esoRef) ([]byte, error) {
	t.Helper()
	result, err := s.webhookData(t, ref)
	if err != nil {
		return nil, err
	}
	path := render(t, s.JSONPath, s.templateData(ref, false))
	if path == "" {
		return result, nil
	}
	var doc any
	if err := json.Unmarshal(result, &doc); err != nil {
		return nil, fmt.Errorf("failed to parse response json: %w", err)
	}
	got, err := jsonpath.Get(path, doc)
	if err != nil {
		return nil, fmt.Errorf("failed to get response path %s: %w", path, err)
	}
	return extractSecretData(got)
}

// extractSecretData is ESO's function of that name.
func extractSecretData(v any) ([]byte, error) {
	switch val := v.(type) {
	case bool:
		return []byte(strconv.FormatBool(val)), nil
	case nil:
		return []byte{}, nil
	case float64:
		return []byte(strconv.FormatFloat(val, 'f', 0, 64)), nil
	case string:
		return []byte(val), nil
	case []any:
		if len(val) == 0 {
			return nil, errors.New("filter worked but didn't get any result")
		}
		return extractSecretData(val[0])
	case map[string]any:
		return json.Marshal(val)
	default:
		return nil, fmt.Errorf("failed to get response (wrong type: %T)", v)
	}
}

// getSecretMap is WebHook.GetSecretMap and Webhook.GetSecretMap
// (dataFrom.extract).
func (s esoStore) getSecretMap(t *testing.T, ref esoRef) (map[string][]byte, error) {
	t.Helper()
	path := render(t, s.JSONPath, s.templateData(ref, false))
	result, err := s.webhookData(t, ref)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(result, &doc); err != nil {
		return nil, fmt.Errorf("failed to parse response json: %w", err)
	}
	if path != "" {
		if doc, err = jsonpath.Get(path, doc); err != nil {
			return nil, fmt.Errorf("failed to get response path %s: %w", path, err)
		}
	}
	if str, ok := doc.(string); ok {
		if err := json.Unmarshal([]byte(str), &doc); err != nil {
			return nil, fmt.Errorf("failed to parse response json from jsonpath: %w", err)
		}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("failed to get response (wrong type: %T)", doc)
	}
	out := map[string][]byte{}
	for k, v := range obj {
		s, ok := v.(string) // esutils.GetByteValue; Lockwell's values are strings
		if !ok {
			return nil, fmt.Errorf("key %s: unexpected type %T", k, v)
		}
		out[k] = []byte(s)
	}
	return out, nil
}

func TestExternalSecretsOperatorWebhookProvider(t *testing.T) {
	dir := t.TempDir()
	srv := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	admin := &running{Running: srv, token: servertest.AdminToken(t, dir), client: &http.Client{Timeout: 10 * time.Second}}

	// The operator gets a member token of its own (kept in the Kubernetes
	// Secret lockwell-eso-token).
	status, body := admin.call(t, "POST", "/api/v1/tokens", `{"user":"external-secrets","role":"member"}`)
	require.Equal(t, http.StatusCreated, status, string(body))
	var tok struct{ Token string }
	require.NoError(t, json.Unmarshal(body, &tok))
	eso := &running{Running: srv, token: tok.Token, client: admin.client}
	store := readmeStore(srv.URL, tok.Token)

	values := map[string]string{"username": "app", "password": "pw-eso-1", "tls.crt": "-----BEGIN-----", "db-host": "db.internal:5432"}
	vb, _ := json.Marshal(values)
	status, body = admin.call(t, "POST", "/api/v1/secrets", `{"name":"app-db","values":`+string(vb)+`}`)
	require.Equal(t, http.StatusCreated, status, string(body))

	t.Run("dataFrom.extract maps the secret to one Kubernetes Secret", func(t *testing.T) {
		got, err := store.getSecretMap(t, esoRef{Key: "app-db"})
		require.NoError(t, err)
		want := map[string][]byte{}
		for k, v := range values {
			want[k] = []byte(v)
		}
		assert.Equal(t, want, got)
	})

	t.Run("data[].remoteRef.property picks one key", func(t *testing.T) {
		for _, key := range []string{"password", "tls.crt", "db-host"} {
			got, err := store.getSecret(t, esoRef{Key: "app-db", Property: key})
			require.NoError(t, err, key)
			assert.Equal(t, values[key], string(got), key)
		}
		_, err := store.getSecret(t, esoRef{Key: "app-db", Property: "no-such-key"})
		require.Error(t, err, "a missing key is an error, not an empty value")
		assert.NotErrorIs(t, err, errNoSecret)
	})

	t.Run("a missing secret is 404, which ESO treats as deleted", func(t *testing.T) {
		_, err := store.getSecretMap(t, esoRef{Key: "no-such-secret"})
		assert.ErrorIs(t, err, errNoSecret)
		_, err = store.getSecret(t, esoRef{Key: "no-such-secret", Property: "password"})
		assert.ErrorIs(t, err, errNoSecret)
		res, err := http.Get(srv.URL + "/api/v1/secrets/by-name/no-such-secret") // no token
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "without the token it is 401, never 404")
	})

	t.Run("names with reserved characters survive the query escaping of the URL", func(t *testing.T) {
		name := "team@eu+prod=1"
		status, body := admin.call(t, "POST", "/api/v1/secrets", `{"name":"`+name+`","values":{"k":"v-reserved"}}`)
		require.Equal(t, http.StatusCreated, status, string(body))
		got, err := store.getSecret(t, esoRef{Key: name, Property: "k"})
		require.NoError(t, err)
		assert.Equal(t, "v-reserved", string(got))
	})

	t.Run("the caller's private secret comes before the public one", func(t *testing.T) {
		status, body := eso.call(t, "POST", "/api/v1/secrets", `{"name":"app-db","private":true,"values":{"password":"pw-private"}}`)
		require.Equal(t, http.StatusCreated, status, string(body))
		got, err := store.getSecretMap(t, esoRef{Key: "app-db"})
		require.NoError(t, err)
		assert.Equal(t, map[string][]byte{"password": []byte("pw-private")}, got)
		var sec secretBody
		require.NoError(t, json.Unmarshal(body, &sec))
		status, _ = eso.call(t, "DELETE", "/api/v1/secrets/"+sec.ID, "") // into the recovery window: gone for ESO
		require.Equal(t, http.StatusOK, status)
		got, err = store.getSecretMap(t, esoRef{Key: "app-db"})
		require.NoError(t, err)
		assert.Equal(t, []byte("pw-eso-1"), got["password"], "the public one again")
	})

	t.Run("a deleted secret becomes 404", func(t *testing.T) {
		status, body := admin.call(t, "GET", "/api/v1/secrets/by-name/app-db", "")
		require.Equal(t, http.StatusOK, status)
		var sec secretBody
		require.NoError(t, json.Unmarshal(body, &sec))
		status, _ = admin.call(t, "DELETE", "/api/v1/secrets/"+sec.ID, "")
		require.Equal(t, http.StatusOK, status)
		_, err := store.getSecretMap(t, esoRef{Key: "app-db"})
		assert.ErrorIs(t, err, errNoSecret)
	})

	t.Run("the 404 answer is in the API's error format", func(t *testing.T) {
		status, body := eso.call(t, "GET", "/api/v1/secrets/by-name/app-db", "")
		require.Equal(t, http.StatusNotFound, status)
		var e struct {
			Error struct{ Code, Message string }
		}
		require.NoError(t, json.Unmarshal(body, &e))
		assert.Equal(t, "not_found", e.Error.Code)
		assert.True(t, strings.Contains(e.Error.Message, "not found"))
	})
}
