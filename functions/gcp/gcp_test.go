package gcp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/lockwell/lockwell/functions/gcp"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

func TestRESTPath(t *testing.T) {
	cases := []struct{ function, in, want string }{
		{"GetSecret", "/abc", "/api/v1/secrets/abc"},
		{"GetSecret", "/GetSecret/abc", "/api/v1/secrets/abc"},
		{"GetSecret", "/api/v1/secrets/abc", "/api/v1/secrets/abc"},
		{"GetSecret", "/GetSecret/api/v1/secrets/abc", "/api/v1/secrets/abc"},
		{"GetSecret", "/prefix/api/v1/secrets/abc", "/api/v1/secrets/abc"},
		{"ListSecrets", "/", "/api/v1/secrets"},
		{"ListSecrets", "", "/api/v1/secrets"},
		{"ListSecrets", "/ListSecrets", "/api/v1/secrets"},
		{"ListSecrets", "/ListSecrets/", "/api/v1/secrets"},
		{"CreateSecret", "/CreateSecret", "/api/v1/secrets"},
		{"CreateSecret", "/api/v1/secrets", "/api/v1/secrets"},
		{"GetSecret", "/GetSecretX", "/api/v1/secrets/GetSecretX"},
		{"GetSecret", "/lockwell-getsecret/abc", "/api/v1/secrets/abc"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, gcp.RESTPath(tc.in, tc.function, "lockwell-getsecret"), "%s %q", tc.function, tc.in)
	}
}

// google is a stand-in for Google's key endpoints: it serves the JWKS of
// an RSA key (ID tokens) and an EC key (IAP assertions) to the real
// idtoken validator, and signs tokens with them.
type google struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
}

func newGoogle(t *testing.T) *google {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return &google{rsa: r, ec: e}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (g *google) RoundTrip(r *http.Request) (*http.Response, error) {
	var body any
	switch r.URL.String() {
	case "https://www.googleapis.com/oauth2/v3/certs":
		body = map[string]any{"keys": []map[string]string{{"kid": "rsa1", "kty": "RSA", "alg": "RS256", "use": "sig",
			"n": b64(g.rsa.N.Bytes()), "e": b64(big.NewInt(int64(g.rsa.E)).Bytes())}}}
	case "https://www.gstatic.com/iap/verify/public_key-jwk":
		body = map[string]any{"keys": []map[string]string{{"kid": "ec1", "kty": "EC", "alg": "ES256", "crv": "P-256",
			"x": b64(g.ec.X.FillBytes(make([]byte, 32))), "y": b64(g.ec.Y.FillBytes(make([]byte, 32)))}}}
	default:
		return nil, errors.New("unexpected fetch of " + r.URL.String())
	}
	b, _ := json.Marshal(body)
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(string(b))), Request: r}, nil
}

func (g *google) validator(t *testing.T) *idtoken.Validator {
	v, err := idtoken.NewValidator(context.Background(), option.WithHTTPClient(&http.Client{Transport: g}))
	require.NoError(t, err)
	return v
}

// idToken signs claims with the RSA key (RS256), as Google signs ID tokens.
func (g *google) idToken(t *testing.T, claims map[string]any) string {
	signing := g.signingInput(t, map[string]any{"alg": "RS256", "kid": "rsa1", "typ": "JWT"}, claims)
	h := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, g.rsa, crypto.SHA256, h[:])
	require.NoError(t, err)
	return signing + "." + b64(sig)
}

// iapAssertion signs claims with the EC key (ES256), as IAP does.
func (g *google) iapAssertion(t *testing.T, claims map[string]any) string {
	signing := g.signingInput(t, map[string]any{"alg": "ES256", "kid": "ec1", "typ": "JWT"}, claims)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, g.ec, h[:])
	require.NoError(t, err)
	return signing + "." + b64(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

func (g *google) signingInput(t *testing.T, header, claims map[string]any) string {
	hb, err := json.Marshal(header)
	require.NoError(t, err)
	cb, err := json.Marshal(claims)
	require.NoError(t, err)
	return b64(hb) + "." + b64(cb)
}

const audience = "https://region-project.cloudfunctions.net/GetSecret"

func claims(over map[string]any) map[string]any {
	c := map[string]any{"iss": "https://accounts.google.com", "aud": audience, "sub": "1234567890",
		"email": "alice@example.com", "email_verified": true,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	for k, v := range over {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func TestIDTokenIdentity(t *testing.T) {
	g := newGoogle(t)
	a, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIDToken, Audience: audience, Admins: []string{"alice@example.com"}, Validator: g.validator(t)})
	require.NoError(t, err)
	cases := []struct {
		name   string
		header string
		want   identity.Principal // zero: unauthenticated
	}{
		{"valid token, admin", "Bearer " + g.idToken(t, claims(nil)), identity.Principal{Name: "alice@example.com", Role: identity.Admin}},
		{"valid token, member", "Bearer " + g.idToken(t, claims(map[string]any{"email": "bob@example.com"})), identity.Principal{Name: "bob@example.com", Role: identity.Member}},
		{"issuer without scheme", "bearer " + g.idToken(t, claims(map[string]any{"iss": "accounts.google.com"})), identity.Principal{Name: "alice@example.com", Role: identity.Admin}},
		{"no header", "", identity.Principal{}},
		{"not bearer", "Basic abc", identity.Principal{}},
		{"garbage", "Bearer not.a.jwt", identity.Principal{}},
		{"other audience", "Bearer " + g.idToken(t, claims(map[string]any{"aud": "https://elsewhere"})), identity.Principal{}},
		{"expired", "Bearer " + g.idToken(t, claims(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()})), identity.Principal{}},
		{"other issuer", "Bearer " + g.idToken(t, claims(map[string]any{"iss": "https://evil.example"})), identity.Principal{}},
		{"unverified email", "Bearer " + g.idToken(t, claims(map[string]any{"email_verified": false})), identity.Principal{}},
		{"no email", "Bearer " + g.idToken(t, claims(map[string]any{"email": nil})), identity.Principal{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			p, err := a.Authenticate(r)
			if tc.want == (identity.Principal{}) {
				require.Error(t, err)
				assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
				if tc.header != "" {
					assert.NotContains(t, err.Error(), strings.TrimPrefix(tc.header, "Bearer "), "errors never carry the token")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p)
		})
	}
}

func TestIDTokenModeNeedsAudience(t *testing.T) {
	_, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIDToken})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

func TestIAPIdentity(t *testing.T) {
	g := newGoogle(t)
	const iapAud = "/projects/123/global/backendServices/456"
	iap := func(over map[string]any) map[string]any {
		return claims(map[string]any{"iss": "https://cloud.google.com/iap", "aud": iapAud, "email_verified": nil, "hd": "example.com"})
	}
	verifying, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIAP, Audience: iapAud, Validator: g.validator(t)})
	require.NoError(t, err)
	cases := []struct {
		name      string
		a         *gcp.GoogleAuthenticator
		email     string
		assertion string
		ok        bool
	}{
		{"no header", verifying, "", g.iapAssertion(t, iap(nil)), false},
		{"header without IAP prefix", verifying, "alice@example.com", g.iapAssertion(t, iap(nil)), false},
		{"verified assertion", verifying, "accounts.google.com:alice@example.com", g.iapAssertion(t, iap(nil)), true},
		{"missing assertion", verifying, "accounts.google.com:alice@example.com", "", false},
		{"assertion for another user", verifying, "accounts.google.com:mallory@example.com", g.iapAssertion(t, iap(nil)), false},
		{"assertion for another audience", verifying, "accounts.google.com:alice@example.com", g.iapAssertion(t, claims(map[string]any{"iss": "https://cloud.google.com/iap"})), false},
		{"ID token instead of assertion", verifying, "accounts.google.com:alice@example.com", g.idToken(t, claims(map[string]any{"aud": iapAud})), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.email != "" {
				r.Header.Set("X-Goog-Authenticated-User-Email", tc.email)
			}
			if tc.assertion != "" {
				r.Header.Set("X-Goog-Iap-Jwt-Assertion", tc.assertion)
			}
			p, err := tc.a.Authenticate(r)
			if !tc.ok {
				assert.Equal(t, errcode.Unauthenticated, errcode.Of(err), "err: %v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "alice@example.com", p.Name)
		})
	}
}

// unreachableKeys is a transport to Google's key endpoints that fails, as
// during an outage or without egress, or answers with an error status.
type unreachableKeys struct{ status int }

func (u unreachableKeys) RoundTrip(r *http.Request) (*http.Response, error) {
	if u.status == 0 {
		return nil, errors.New("dial tcp: connection refused")
	}
	return &http.Response{StatusCode: u.status, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// TestUnfetchableKeysAreUnavailableNot401: a server that cannot fetch the keys
// must not tell callers their credentials are wrong (401 makes clients drop
// their token or re-prompt); it is a 503 they can retry.
func TestUnfetchableKeysAreUnavailableNot401(t *testing.T) {
	g := newGoogle(t)
	const iapAud = "/projects/123/global/backendServices/456"
	for _, transport := range []unreachableKeys{{}, {status: http.StatusServiceUnavailable}} {
		v, err := idtoken.NewValidator(context.Background(), option.WithHTTPClient(&http.Client{Transport: transport}))
		require.NoError(t, err)
		idt, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIDToken, Audience: audience, Validator: v})
		require.NoError(t, err)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+g.idToken(t, claims(nil)))
		_, err = idt.Authenticate(r)
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "ID token, status %d: %v", transport.status, err)

		iap, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIAP, Audience: iapAud, Validator: v})
		require.NoError(t, err)
		r = httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Goog-Authenticated-User-Email", "accounts.google.com:alice@example.com")
		r.Header.Set("X-Goog-Iap-Jwt-Assertion", g.iapAssertion(t, claims(map[string]any{"iss": "https://cloud.google.com/iap", "aud": iapAud})))
		_, err = iap.Authenticate(r)
		assert.Equal(t, errcode.Unavailable, errcode.Of(err), "IAP, status %d: %v", transport.status, err)
	}
}

// TestIAPModeNeedsAudience: without IAP's audience the assertion cannot be
// verified, and the forwarded email header alone is what any caller who
// reaches the function some other way can set.
func TestIAPModeNeedsAudience(t *testing.T) {
	for _, aud := range []string{"", " ", ","} {
		_, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIAP, Audience: aud})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "audience %q", aud)
	}
}

func TestAPIGatewayIdentity(t *testing.T) {
	a, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthAPIGateway})
	require.NoError(t, err)
	info := func(c map[string]any, enc *base64.Encoding) string {
		b, _ := json.Marshal(c)
		return enc.EncodeToString(b)
	}
	cases := []struct {
		name, header, want string
	}{
		{"verified email", info(map[string]any{"email": "carol@example.com", "email_verified": true, "sub": "s1"}, base64.RawURLEncoding), "carol@example.com"},
		{"padded", info(map[string]any{"email": "carol@example.com", "email_verified": "true"}, base64.URLEncoding), "carol@example.com"},
		{"unverified email falls back to sub", info(map[string]any{"email": "x@example.com", "sub": "auth0|42"}, base64.RawURLEncoding), "auth0|42"},
		{"missing", "", ""},
		{"not base64", "%%%", ""},
		{"not JSON", base64.RawURLEncoding.EncodeToString([]byte("nope")), ""},
		{"no identity", info(map[string]any{"aud": "x"}, base64.RawURLEncoding), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tc.header != "" {
				r.Header.Set("X-Apigateway-Api-Userinfo", tc.header)
			}
			p, err := a.Authenticate(r)
			if tc.want == "" {
				assert.Equal(t, errcode.Unauthenticated, errcode.Of(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, p.Name)
		})
	}
}

// TestFunctionsServeTheirRoutes drives every registered function through
// the real HTTP API on the in-memory backend, with ID-token identity.
func TestFunctionsServeTheirRoutes(t *testing.T) {
	g := newGoogle(t)
	auth, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIDToken, Audience: audience, Validator: g.validator(t)})
	require.NoError(t, err)
	api := httpapi.New(store.New(memstore.New()), auth, httpapi.Options{})
	opens := 0
	srv := gcp.NewServer(func(context.Context) (gcp.Operations, error) {
		opens++
		if opens == 1 {
			return nil, errors.New("store down")
		}
		return api.Operation, nil
	}, nil)
	fn := map[string]http.HandlerFunc{}
	for _, f := range gcp.Functions {
		fn[f.Name] = srv.Handler(f)
	}
	token := "Bearer " + g.idToken(t, claims(nil))
	call := func(name, method, path, body string) (int, map[string]any) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", token)
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		fn[name](w, r)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", token)
	w := httptest.NewRecorder()
	fn["ListSecrets"](w, r)
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "a store that does not open is a 503")
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"), "the function's own answer carries the API's headers")
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))

	code, _ := call("ListSecrets", "GET", "/", "")
	assert.Equal(t, http.StatusOK, code, "the store opens on a later request")

	code, created := call("CreateSecret", "POST", "/", `{"name":"db","values":{"k":"v"}}`)
	require.Equal(t, http.StatusCreated, code, "%v", created)
	id := created["id"].(string)
	assert.Equal(t, "alice@example.com", created["owner"])

	code, got := call("GetSecret", "GET", "/"+id, "")
	assert.Equal(t, http.StatusOK, code, "%v", got)
	code, _ = call("GetSecret", "GET", "/GetSecret/api/v1/secrets/"+id, "")
	assert.Equal(t, http.StatusOK, code)
	code, got = call("GetSecret", "GET", "/by-name/db", "")
	assert.Equal(t, http.StatusOK, code, "%v", got)
	assert.Equal(t, id, got["id"], "the get function serves reads by name too")
	code, _ = call("GetSecret", "GET", "/GetSecret/api/v1/secrets/by-name/no-such", "")
	assert.Equal(t, http.StatusNotFound, code)

	code, list := call("ListSecrets", "GET", "/api/v1/secrets?name=db", "")
	assert.Equal(t, http.StatusOK, code)
	assert.Len(t, list["items"], 1)

	code, _ = call("UpdateSecret", "PATCH", "/"+id, `{"values":{"k2":"v2"}}`)
	assert.Equal(t, http.StatusOK, code)

	// A function serves only its own operation.
	code, _ = call("GetSecret", "DELETE", "/"+id, "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = call("ListSecrets", "POST", "/", `{"name":"x","values":{}}`)
	assert.Equal(t, http.StatusNotFound, code)

	code, _ = call("DeleteSecret", "DELETE", "/"+id, "")
	assert.Equal(t, http.StatusOK, code, "moved into the recovery window")
	code, _ = call("GetSecret", "GET", "/"+id, "")
	assert.Equal(t, http.StatusNotFound, code)

	// The scheduled purge is for admins (Cloud Scheduler's account) only.
	code, _ = call("PurgeExpired", "POST", "/api/v1/admin/purge", "")
	assert.Equal(t, http.StatusForbidden, code, "a member cannot purge")
	code, _ = call("UpdateSecret", "POST", "/api/v1/admin/purge", "")
	assert.Equal(t, http.StatusNotFound, code, "only PurgeExpired serves the purge")

	r = httptest.NewRequest("GET", "/", nil)
	w = httptest.NewRecorder()
	fn["ListSecrets"](w, r)
	assert.Equal(t, http.StatusUnauthorized, w.Code, "no token")
}

func TestIDTokenAcceptsAnyConfiguredAudience(t *testing.T) {
	g := newGoogle(t)
	a, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIDToken,
		Audience: "https://region-project.cloudfunctions.net/ListSecrets, " + audience, Validator: g.validator(t)})
	require.NoError(t, err)
	for aud, ok := range map[string]bool{audience: true, "https://region-project.cloudfunctions.net/ListSecrets": true, "https://elsewhere": false} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+g.idToken(t, claims(map[string]any{"aud": aud})))
		_, err := a.Authenticate(r)
		assert.Equal(t, ok, err == nil, "audience %s: %v", aud, err)
	}
}

func TestDashboardFunction(t *testing.T) {
	g := newGoogle(t)
	auth, err := gcp.NewGoogleAuthenticator(context.Background(), gcp.AuthConfig{Mode: gcp.AuthIDToken, Audience: audience, Validator: g.validator(t)})
	require.NoError(t, err)
	api := httpapi.New(store.New(memstore.New()), auth, httpapi.Options{})
	srv := gcp.NewServer(func(context.Context) (gcp.Operations, error) { return api.Operation, nil }, nil)
	fn := srv.DashboardHandler()
	token := "Bearer " + g.idToken(t, claims(nil))
	call := func(path string, authed bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		if authed {
			r.Header.Set("Authorization", token)
		}
		w := httptest.NewRecorder()
		fn(w, r)
		return w
	}
	for _, path := range []string{"/", "/Dashboard", "/Dashboard/", "/secret", "/Dashboard/assets/app.js", "/assets/style.css"} {
		w := call(path, false)
		assert.Equal(t, http.StatusOK, w.Code, path)
		assert.Contains(t, w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'", path)
	}
	w := call("/api/v1/whoami", true)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), "alice@example.com")
	assert.Equal(t, http.StatusUnauthorized, call("/Dashboard/api/v1/whoami", false).Code)
	assert.Equal(t, http.StatusNotFound, call("/api/v1/secrets", true).Code, "the list function serves the secrets")
}
