package gcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/functions/gcp"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/dashboard"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
	"github.com/lockwell/lockwell/shared/store"
)

// gatewayToken stands for the ID token API Gateway mints for the backend
// and puts in Authorization; no Lockwell authenticator accepts it.
const gatewayToken = "Bearer eyJhbGciOiJSUzI1NiJ9.gateway-id-token.sig"

// bearerDeployment is a LOCKWELL_AUTH=bearer deployment with one member
// token, served by a Server built by newServer.
func bearerDeployment(t *testing.T, newServer func(gcp.Opener) *gcp.Server) (*gcp.Server, string) {
	t.Helper()
	tokens := memtokens.New()
	token, hash, err := identity.NewToken()
	require.NoError(t, err)
	require.NoError(t, tokens.SaveToken(context.Background(), hash, identity.Principal{Name: "bob", Role: identity.Member}))
	api := httpapi.New(store.New(memstore.New()), httpapi.BearerAuthenticator{Tokens: tokens}, httpapi.Options{Tokens: tokens})
	return newServer(func(context.Context) (gcp.Operations, error) { return api.Operation, nil }), token
}

func listSecrets(t *testing.T) gcp.Function {
	for _, f := range gcp.Functions {
		if f.Name == "ListSecrets" {
			return f
		}
	}
	t.Fatal("no ListSecrets function")
	return gcp.Function{}
}

// TestBehindGatewayTheCallerCredentialIsForwarded: behind API Gateway the
// function reads the caller's Lockwell token from X-Forwarded-Authorization
// and ignores the gateway's own token in Authorization, for the API and
// for the dashboard's sign-in and session, whose CSRF checks then apply.
func TestBehindGatewayTheCallerCredentialIsForwarded(t *testing.T) {
	srv, token := bearerDeployment(t, func(o gcp.Opener) *gcp.Server { return gcp.NewServer(o, nil).BehindGateway() })
	list := srv.Handler(listSecrets(t))
	dash := srv.DashboardHandler()
	send := func(h http.HandlerFunc, method, path string, header http.Header, body string) *httptest.ResponseRecorder {
		// The gateway calls the function at the function's own host.
		r := httptest.NewRequest(method, "https://lockwell-dashboard-abc-ew.a.run.app"+path, strings.NewReader(body))
		for k, v := range header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h(w, r)
		return w
	}

	// The API: the caller's token, forwarded, authenticates; the gateway's
	// own token alone does not.
	w := send(list, "GET", "/api/v1/secrets", http.Header{"Authorization": {gatewayToken}, "X-Forwarded-Authorization": {"Bearer " + token}}, "")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = send(list, "GET", "/api/v1/secrets", http.Header{"Authorization": {gatewayToken}}, "")
	assert.Equal(t, http.StatusUnauthorized, w.Code, "the gateway's token is not the caller's")
	assert.NotContains(t, w.Body.String(), "gateway-id-token")
	w = send(list, "GET", "/api/v1/secrets", http.Header{"Authorization": {gatewayToken}, "X-Forwarded-Authorization": {"Bearer lw_not-a-token"}}, "")
	assert.Equal(t, http.StatusUnauthorized, w.Code, "a forwarded credential is still verified")

	// whoami through the dashboard function.
	w = send(dash, "GET", "/api/v1/whoami", http.Header{"Authorization": {gatewayToken}, "X-Forwarded-Authorization": {"Bearer " + token}}, "")
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"bob"`)

	// Sign in from the dashboard, loaded from the gateway's host (the
	// browser sends no Authorization; the gateway adds its own), then use
	// the session cookie.
	browser := http.Header{"Authorization": {gatewayToken}, "Origin": {"https://gw.example"}, "Sec-Fetch-Site": {"same-origin"}, "Content-Type": {"application/json"}}
	signIn := browser.Clone()
	signIn.Set(dashboard.CSRFHeader, "1")
	body, _ := json.Marshal(map[string]string{"token": token})
	// A browser that does not say the request is same-origin cannot be
	// told from a cross-origin one: its Origin is not the function's host.
	noFetchSite := signIn.Clone()
	noFetchSite.Del("Sec-Fetch-Site")
	w = send(dash, "POST", dashboard.SessionPath, noFetchSite, string(body))
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	w = send(dash, "POST", dashboard.SessionPath, signIn, string(body))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	require.Equal(t, dashboard.CookieName, cookies[0].Name)
	assert.True(t, cookies[0].Secure)

	withCookie := browser.Clone()
	withCookie.Set("Cookie", cookies[0].Name+"="+cookies[0].Value)
	w = send(list, "GET", "/api/v1/secrets", withCookie, "")
	assert.Equal(t, http.StatusOK, w.Code, "the session cookie stands for the token behind the gateway: %s", w.Body.String())

	// The gateway's Authorization does not exempt a cookie request from
	// the CSRF checks: without the header a state change is refused, and so
	// is a request from another site.
	create := srv.Handler(gcp.Function{Name: "CreateSecret", Operation: "create"})
	w = send(create, "POST", "/api/v1/secrets", withCookie, `{"name":"db","values":{"k":"v"}}`)
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), dashboard.CSRFHeader)
	crossSite := withCookie.Clone()
	crossSite.Set("Sec-Fetch-Site", "cross-site")
	crossSite.Set(dashboard.CSRFHeader, "1")
	w = send(create, "POST", "/api/v1/secrets", crossSite, `{"name":"db","values":{"k":"v"}}`)
	assert.Equal(t, http.StatusForbidden, w.Code, w.Body.String())
	withCSRF := withCookie.Clone()
	withCSRF.Set(dashboard.CSRFHeader, "1")
	w = send(create, "POST", "/api/v1/secrets", withCSRF, `{"name":"db","values":{"k":"v"}}`)
	assert.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), `"owner":"bob"`)
}

// TestNotBehindGatewayTheForwardedHeaderIsIgnored: by default a function
// reads Authorization only, so a caller who sets X-Forwarded-Authorization
// cannot make the function read it.
func TestNotBehindGatewayTheForwardedHeaderIsIgnored(t *testing.T) {
	srv, token := bearerDeployment(t, func(o gcp.Opener) *gcp.Server { return gcp.NewServer(o, nil) })
	list := srv.Handler(listSecrets(t))
	call := func(auth, forwarded string) int {
		r := httptest.NewRequest("GET", "/api/v1/secrets", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if forwarded != "" {
			r.Header.Set("X-Forwarded-Authorization", forwarded)
		}
		w := httptest.NewRecorder()
		list(w, r)
		return w.Code
	}
	assert.Equal(t, http.StatusOK, call("Bearer "+token, ""))
	assert.Equal(t, http.StatusUnauthorized, call("", "Bearer "+token), "the forwarded header is not read by default")
	assert.Equal(t, http.StatusUnauthorized, call(gatewayToken, "Bearer "+token))
}

func TestParseGateway(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "true": true} {
		got, err := gcp.ParseGateway(v)
		require.NoError(t, err, v)
		assert.Equal(t, want, got, v)
	}
	for _, v := range []string{"yes", "1", "TRUE", " true"} {
		_, err := gcp.ParseGateway(v)
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), v)
		assert.Contains(t, err.Error(), gcp.GatewayEnv)
	}
}

// TestOpenFromEnvRefusesAnUnreadableGatewaySetting: a typo in the setting
// fails the opening instead of leaving the deployment unable to sign in.
func TestOpenFromEnvRefusesAnUnreadableGatewaySetting(t *testing.T) {
	t.Setenv(gcp.GatewayEnv, "yes")
	_, err := gcp.OpenFromEnv(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), gcp.GatewayEnv)
}
