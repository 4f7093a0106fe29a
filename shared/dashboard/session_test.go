package dashboard_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/dashboard"
	"github.com/lockwell/lockwell/shared/identity"
)

// rawRequest sends a request to the server with the given headers and
// returns the response with its body read.
func (l *lockwell) rawRequest(t *testing.T, method, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, l.URL+path, rd)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestPagesCarryTheSecurityHeaders(t *testing.T) {
	srv := startServer(t)
	for _, tc := range []struct {
		path, contentType string
	}{
		{"/", "text/html; charset=utf-8"},
		{"/secret?id=x&name=y", "text/html; charset=utf-8"},
		{"/tokens", "text/html; charset=utf-8"},
		{"/assets/app.js", "text/javascript; charset=utf-8"},
		{"/assets/style.css", "text/css; charset=utf-8"},
	} {
		res, body := srv.rawRequest(t, http.MethodGet, tc.path, "", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, tc.path)
		require.Equal(t, tc.contentType, res.Header.Get("Content-Type"), tc.path)
		require.Equal(t, dashboard.ContentSecurityPolicy, res.Header.Get("Content-Security-Policy"), tc.path)
		require.Contains(t, dashboard.ContentSecurityPolicy, "frame-ancestors 'none'")
		require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), tc.path)
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), tc.path)
		require.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"), tc.path)
		require.NotEmpty(t, body)
		if strings.HasSuffix(tc.contentType, "html; charset=utf-8") {
			require.NotContains(t, body, "<script>", "no inline script")
			require.NotContains(t, body, "style=", "no inline style")
		}
	}
	for _, path := range []string{"/assets/nope.js", "/favicon.ico", "/assets/"} {
		res, _ := srv.rawRequest(t, http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusNotFound, res.StatusCode, path)
	}
	// A path that is not canonical is refused by the API, in its format:
	// never a page, a file or a redirect.
	for _, path := range []string{"/assets/../dashboard.go", "//assets/app.js", "/./"} {
		res, body := srv.rawRequest(t, http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusBadRequest, res.StatusCode, path)
		require.Contains(t, body, `"code":"invalid_argument"`, path)
	}
	res, _ := srv.rawRequest(t, http.MethodPost, "/", "x", nil)
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	// The API keeps its own answers under /api/v1.
	res, body := srv.rawRequest(t, http.MethodGet, "/api/v1/secrets", "", nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Contains(t, body, `"code":"unauthenticated"`)
	res, body = srv.rawRequest(t, http.MethodGet, "/api/v1/nothing", "", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, body, `"code":"not_found"`)
}

func sessionCookie(t *testing.T, res *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == dashboard.CookieName {
			return c
		}
	}
	return nil
}

func TestSessionSignInUseAndSignOut(t *testing.T) {
	srv := startServer(t)
	csrf := map[string]string{"Content-Type": "application/json", dashboard.CSRFHeader: "1"}
	signIn := `{"token": "` + srv.admin + `"}`

	// Sign-in itself needs the CSRF header (no login CSRF) from a browser,
	// which sends Origin with it.
	res, body := srv.rawRequest(t, http.MethodPost, dashboard.SessionPath, signIn, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, body, `"code":"permission_denied"`)
	require.Nil(t, sessionCookie(t, res))

	res, body = srv.rawRequest(t, http.MethodPost, dashboard.SessionPath, `{"token": "lw_wrong"}`, csrf)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Contains(t, body, `"code":"unauthenticated"`)
	require.Nil(t, sessionCookie(t, res))

	for _, bad := range []string{`{"token": ""}`, `{"token": "x", "more": 1}`, `[]`, `{"token": "a"} {}`} {
		res, body = srv.rawRequest(t, http.MethodPost, dashboard.SessionPath, bad, csrf)
		require.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
		require.Contains(t, body, `"code":"invalid_argument"`)
	}

	res, body = srv.rawRequest(t, http.MethodPost, dashboard.SessionPath, signIn, csrf)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.JSONEq(t, `{"user": "admin", "role": "admin"}`, body)
	c := sessionCookie(t, res)
	require.NotNil(t, c)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/api/", c.Path)
	require.False(t, c.Secure, "plain HTTP to loopback")
	require.Equal(t, int(dashboard.SessionMaxAge.Seconds()), c.MaxAge)
	require.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	cookie := c.Name + "=" + c.Value

	// The cookie authenticates reads; writes also need the CSRF header.
	res, body = srv.rawRequest(t, http.MethodGet, "/api/v1/whoami", "", map[string]string{"Cookie": cookie})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, body, `"user":"admin"`)
	create := `{"name": "from-cookie", "values": {"k": "v"}}`
	res, body = srv.rawRequest(t, http.MethodPost, "/api/v1/secrets", create, map[string]string{"Cookie": cookie, "Content-Type": "application/json"})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	require.Contains(t, body, dashboard.CSRFHeader)
	res, _ = srv.rawRequest(t, http.MethodPost, "/api/v1/secrets", create, map[string]string{"Cookie": cookie, "Content-Type": "application/json", dashboard.CSRFHeader: "1"})
	require.Equal(t, http.StatusCreated, res.StatusCode)
	// A cross-site request is refused even for a read.
	res, _ = srv.rawRequest(t, http.MethodGet, "/api/v1/secrets", "", map[string]string{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	// So is a write from another origin by a browser that sends no
	// Sec-Fetch-Site, even with the CSRF header; the same origin passes.
	res, _ = srv.rawRequest(t, http.MethodPost, "/api/v1/secrets", create, map[string]string{"Cookie": cookie, "Content-Type": "application/json", dashboard.CSRFHeader: "1", "Origin": "http://evil.example"})
	require.Equal(t, http.StatusForbidden, res.StatusCode)
	sameOrigin := `{"name": "from-same-origin", "values": {"k": "v"}}`
	res, _ = srv.rawRequest(t, http.MethodPost, "/api/v1/secrets", sameOrigin, map[string]string{"Cookie": cookie, "Content-Type": "application/json", dashboard.CSRFHeader: "1", "Origin": srv.URL})
	require.Equal(t, http.StatusCreated, res.StatusCode)
	// A caller's own Authorization header wins over the cookie, and needs no
	// CSRF header (the CLI's requests).
	res, _ = srv.rawRequest(t, http.MethodGet, "/api/v1/whoami", "", map[string]string{"Cookie": cookie, "Authorization": "Bearer lw_wrong"})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = srv.rawRequest(t, http.MethodDelete, "/api/v1/secrets/00000000-0000-0000-0000-000000000000", "", map[string]string{"Authorization": "Bearer " + srv.admin})
	require.Equal(t, http.StatusNotFound, res.StatusCode)

	// A client that is no browser (no cookie, Origin or Sec-Fetch-Site)
	// reaches the API unchanged: 401 for a missing token, not 403.
	res, body = srv.rawRequest(t, http.MethodPost, "/api/v1/secrets", create, map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Contains(t, body, `"code":"unauthenticated"`)

	// Sign-out clears the cookie; the token stays valid.
	res, _ = srv.rawRequest(t, http.MethodDelete, dashboard.SessionPath, "", map[string]string{"Cookie": cookie, dashboard.CSRFHeader: "1"})
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	c = sessionCookie(t, res)
	require.NotNil(t, c)
	require.Equal(t, "", c.Value)
	require.Negative(t, c.MaxAge)
	res, _ = srv.rawRequest(t, http.MethodGet, "/api/v1/whoami", "", map[string]string{"Authorization": "Bearer " + srv.admin})
	require.Equal(t, http.StatusOK, res.StatusCode)

	res, _ = srv.rawRequest(t, http.MethodGet, dashboard.SessionPath, "", nil)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Equal(t, "POST, DELETE", res.Header.Get("Allow"))

	require.NotContains(t, srv.log.String(), srv.admin, "the token is in the server log")
}

// TestSessionTokenID checks that sign-in and a whoami authenticated by the
// session cookie name the session's token by its id (what the tokens list
// shows), never the token, and that other requests do not carry it.
func TestSessionTokenID(t *testing.T) {
	srv := startServer(t)
	want := identity.TokenIDOf(srv.admin)
	res, body := srv.rawRequest(t, http.MethodPost, dashboard.SessionPath, `{"token":"`+srv.admin+`"}`,
		map[string]string{"Content-Type": "application/json", dashboard.CSRFHeader: "1"})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, want, res.Header.Get(dashboard.SessionTokenHeader))
	cookie := res.Cookies()[0]

	res, _ = srv.rawRequest(t, http.MethodGet, "/api/v1/whoami", "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, want, res.Header.Get(dashboard.SessionTokenHeader))

	res, _ = srv.rawRequest(t, http.MethodGet, "/api/v1/whoami", "", map[string]string{"Authorization": "Bearer " + srv.admin})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Empty(t, res.Header.Get(dashboard.SessionTokenHeader), "a bearer caller knows its token already")

	res, _ = srv.rawRequest(t, http.MethodGet, "/api/v1/secrets", "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Empty(t, res.Header.Get(dashboard.SessionTokenHeader), "only whoami and sign-in carry it")

	res, _ = srv.rawRequest(t, http.MethodPost, dashboard.SessionPath, `{"token":"lw_not-a-real-token"}`,
		map[string]string{"Content-Type": "application/json", dashboard.CSRFHeader: "1"})
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	require.Empty(t, res.Header.Get(dashboard.SessionTokenHeader), "a refused sign-in names no token")
}
