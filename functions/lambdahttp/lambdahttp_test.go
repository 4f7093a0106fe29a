package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/functions/lambdahttp"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// echo is the handler under the adapter: it reports what request it saw.
type seen struct {
	Method, Path, Query, Host, RemoteAddr string
	Cookie, ContentType, RequestID        string
	Body                                  string
	Principal                             *identity.Principal
}

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, RemoteAddr: r.RemoteAddr,
		Cookie: r.Header.Get("Cookie"), ContentType: r.Header.Get("Content-Type"), RequestID: r.Header.Get("X-Request-Id"), Body: string(b)}
	if p, ok := identity.FromContext(r.Context()); ok {
		s.Principal = &p
	}
	switch r.URL.Path {
	case "/panic":
		panic("boom")
	case "/binary":
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte{0xff, 0xfe, 0x00})
		return
	case "/cookies":
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("X-Multi", "x")
		w.Header().Add("X-Multi", "y")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(s)
})

const admin = "arn:aws:iam::123456789012:user/alice"

func iamEvent(method, path string) map[string]any {
	return map[string]any{
		"version": "2.0", "routeKey": method + " " + path, "rawPath": path, "rawQueryString": "",
		"headers": map[string]any{"host": "api.example.com", "content-type": "application/json"},
		"requestContext": map[string]any{
			"stage": "$default", "requestId": "req-1", "domainName": "api.example.com",
			"http":       map[string]any{"method": method, "path": path, "sourceIp": "192.0.2.1"},
			"authorizer": map[string]any{"iam": map[string]any{"userArn": admin}},
		},
		"isBase64Encoded": false,
	}
}

func invoke(t *testing.T, a *lambdahttp.Adapter, ev any) events.APIGatewayV2HTTPResponse {
	t.Helper()
	var payload []byte
	if raw, ok := ev.([]byte); ok {
		payload = raw
	} else {
		var err error
		payload, err = json.Marshal(ev)
		require.NoError(t, err)
	}
	out, err := a.Invoke(context.Background(), payload)
	require.NoError(t, err)
	var resp events.APIGatewayV2HTTPResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	return resp
}

func decodeSeen(t *testing.T, resp events.APIGatewayV2HTTPResponse) seen {
	t.Helper()
	require.Equal(t, http.StatusCreated, resp.StatusCode, "body: %s", resp.Body)
	var s seen
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &s))
	return s
}

func TestRequestTranslation(t *testing.T) {
	a := lambdahttp.New(echo, lambdahttp.Options{Admins: []string{admin}})
	ev := iamEvent("POST", "/api/v1/secrets")
	ev["rawQueryString"] = "name_prefix=db&page_size=2"
	ev["cookies"] = []string{"c1=v1", "c2=v2"}
	ev["body"] = `{"name":"db"}`
	s := decodeSeen(t, invoke(t, a, ev))
	assert.Equal(t, "POST", s.Method)
	assert.Equal(t, "/api/v1/secrets", s.Path)
	assert.Equal(t, "name_prefix=db&page_size=2", s.Query)
	assert.Equal(t, "api.example.com", s.Host)
	assert.Equal(t, "192.0.2.1", s.RemoteAddr)
	assert.Equal(t, "c1=v1; c2=v2", s.Cookie)
	assert.Equal(t, "application/json", s.ContentType)
	assert.Equal(t, "req-1", s.RequestID)
	assert.Equal(t, `{"name":"db"}`, s.Body)
	require.NotNil(t, s.Principal)
	assert.Equal(t, identity.Principal{Name: admin, Role: identity.Admin}, *s.Principal)
}

func TestBase64BodyIsDecoded(t *testing.T) {
	a := lambdahttp.New(echo, lambdahttp.Options{})
	ev := iamEvent("POST", "/api/v1/secrets")
	ev["body"] = base64.StdEncoding.EncodeToString([]byte(`{"name":"b64"}`))
	ev["isBase64Encoded"] = true
	assert.Equal(t, `{"name":"b64"}`, decodeSeen(t, invoke(t, a, ev)).Body)
}

func TestNamedStageIsStripped(t *testing.T) {
	a := lambdahttp.New(echo, lambdahttp.Options{})
	ev := iamEvent("GET", "/prod/api/v1/secrets/x")
	ev["requestContext"].(map[string]any)["stage"] = "prod"
	assert.Equal(t, "/api/v1/secrets/x", decodeSeen(t, invoke(t, a, ev)).Path)
}

func TestQueryFromParametersWhenRawIsMissing(t *testing.T) {
	a := lambdahttp.New(echo, lambdahttp.Options{})
	ev := iamEvent("GET", "/api/v1/secrets")
	ev["queryStringParameters"] = map[string]string{"sort": "-name"}
	assert.Equal(t, "sort=-name", decodeSeen(t, invoke(t, a, ev)).Query)
}

func TestIdentity(t *testing.T) {
	jwt := func(claims map[string]any) map[string]any {
		return map[string]any{"jwt": map[string]any{"claims": claims, "scopes": nil}}
	}
	cases := []struct {
		name       string
		authorizer any // nil: no authorizer key at all
		bearer     bool
		anonymous  bool
		want       *identity.Principal
		status     int
	}{
		{"iam admin", map[string]any{"iam": map[string]any{"userArn": admin}}, false, false, &identity.Principal{Name: admin, Role: identity.Admin}, 201},
		{"iam member", map[string]any{"iam": map[string]any{"userArn": "arn:aws:sts::1:assumed-role/r/s"}}, false, false, &identity.Principal{Name: "arn:aws:sts::1:assumed-role/r/s", Role: identity.Member}, 201},
		{"jwt sub with non-string claims", jwt(map[string]any{"sub": "user-7", "exp": 1700000000, "groups": []string{"a"}}), false, false, &identity.Principal{Name: "user-7", Role: identity.Member}, 201},
		{"jwt without sub", jwt(map[string]any{"email": "a@example.com"}), false, false, nil, 401},
		{"no authorizer", nil, false, false, nil, 401},
		{"empty authorizer", map[string]any{}, false, false, nil, 401},
		{"identity with spaces", map[string]any{"iam": map[string]any{"userArn": "not a name"}}, false, false, nil, 401},
		{"bearer mode passes through without identity", nil, true, false, nil, 201},
		{"bearer mode ignores the authorizer", map[string]any{"iam": map[string]any{"userArn": admin}}, true, false, nil, 201},
		{"anonymous passes through without identity", nil, false, true, nil, 201},
		{"anonymous keeps an identity", map[string]any{"iam": map[string]any{"userArn": admin}}, false, true, &identity.Principal{Name: admin, Role: identity.Admin}, 201},
		{"anonymous still refuses a bad identity", map[string]any{"iam": map[string]any{"userArn": "not a name"}}, false, true, nil, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := lambdahttp.New(echo, lambdahttp.Options{Admins: []string{admin}, Bearer: tc.bearer, Anonymous: tc.anonymous})
			ev := iamEvent("GET", "/api/v1/secrets")
			rc := ev["requestContext"].(map[string]any)
			delete(rc, "authorizer")
			if tc.authorizer != nil {
				rc["authorizer"] = tc.authorizer
			}
			resp := invoke(t, a, ev)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", resp.Body)
			if tc.status != 201 {
				assert.JSONEq(t, `"unauthenticated"`, errorCode(t, resp))
				return
			}
			assert.Equal(t, tc.want, decodeSeen(t, resp).Principal)
		})
	}
}

func errorCode(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	var body struct {
		Error struct {
			Code    json.RawMessage `json:"code"`
			Message string          `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), "body: %s", resp.Body)
	assert.NotEmpty(t, body.Error.Message)
	return string(body.Error.Code)
}

func TestMalformedEventsGet4xx(t *testing.T) {
	noContext := iamEvent("GET", "/api/v1/secrets")
	delete(noContext, "requestContext")
	badBase64 := iamEvent("POST", "/api/v1/secrets")
	badBase64["body"] = `{"name":"x"}`
	badBase64["isBase64Encoded"] = true
	noMethod := iamEvent("GET", "/api/v1/secrets")
	noMethod["requestContext"].(map[string]any)["http"] = map[string]any{}
	badPath := iamEvent("GET", "api/v1/secrets")
	v1 := iamEvent("GET", "/api/v1/secrets")
	v1["version"] = "1.0"
	badHeaders := iamEvent("GET", "/api/v1/secrets")
	badHeaders["headers"] = map[string]any{"x": 1}
	cases := []struct {
		name  string
		event any
	}{
		{"not JSON", []byte("this is not json")},
		{"JSON array", []byte(`[1,2]`)},
		{"empty object", []byte(`{}`)},
		{"null", []byte(`null`)},
		{"no requestContext", noContext},
		{"isBase64Encoded but not base64", badBase64},
		{"no method", noMethod},
		{"relative path", badPath},
		{"payload version 1.0", v1},
		{"header value not a string", badHeaders},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := invoke(t, lambdahttp.New(echo, lambdahttp.Options{Admins: []string{admin}}), tc.event)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", resp.Body)
			assert.Equal(t, `"invalid_argument"`, errorCode(t, resp))
		})
	}
}

func TestResponseTranslation(t *testing.T) {
	a := lambdahttp.New(echo, lambdahttp.Options{})
	resp := invoke(t, a, iamEvent("GET", "/cookies"))
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, []string{"a=1", "b=2"}, resp.Cookies)
	assert.Equal(t, "x,y", resp.Headers["X-Multi"])

	resp = invoke(t, a, iamEvent("GET", "/binary"))
	assert.True(t, resp.IsBase64Encoded)
	b, err := base64.StdEncoding.DecodeString(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xff, 0xfe, 0x00}, b)
}

func TestHandlerPanicIs500WithoutDetail(t *testing.T) {
	resp := invoke(t, lambdahttp.New(echo, lambdahttp.Options{}), iamEvent("GET", "/panic"))
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.NotContains(t, resp.Body, "boom")
}

func TestRejectionLogsCarryNoEventContent(t *testing.T) {
	var logs bytes.Buffer
	a := lambdahttp.New(echo, lambdahttp.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	wrongType := iamEvent("GET", "/api/v1/secrets")
	wrongType["headers"] = map[string]any{"x-token": []string{"s3cr3t-in-header"}}
	for _, payload := range [][]byte{
		[]byte(`{"body": "s3cr3t-in-body", "requestContext": s3cr3t}`),
		[]byte(`s3cr3t-at-start`),
	} {
		resp := invoke(t, a, payload)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	}
	resp := invoke(t, a, wrongType)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.NotContains(t, logs.String(), "s3cr3t")
	assert.Contains(t, logs.String(), "rejected event")
}

// assertSecurityHeaders checks the headers every response carries.
func assertSecurityHeaders(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	assert.Equal(t, "no-store", resp.Headers["Cache-Control"], "Cache-Control")
	assert.Equal(t, "nosniff", resp.Headers["X-Content-Type-Options"], "X-Content-Type-Options")
}

// TestEveryAnswerCarriesTheSecurityHeaders: the adapter's own 400, 401 and
// 500 answers lacked Cache-Control: no-store and X-Content-Type-Options:
// nosniff, which every response of the API carries.
func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	noAuthorizer := iamEvent("GET", "/api/v1/secrets")
	delete(noAuthorizer["requestContext"].(map[string]any), "authorizer")
	noContext := iamEvent("GET", "/api/v1/secrets")
	delete(noContext, "requestContext")
	badBase64 := iamEvent("POST", "/api/v1/secrets")
	badBase64["body"] = "%%%"
	badBase64["isBase64Encoded"] = true
	cases := []struct {
		name   string
		event  any
		status int
	}{
		{"no authorizer", noAuthorizer, 401},
		{"no requestContext", noContext, 400},
		{"JSON array payload", []byte(`[]`), 400},
		{"not JSON", []byte(`nope`), 400},
		{"null", []byte(`null`), 400},
		{"body not base64", badBase64, 400},
		{"handler panic", iamEvent("GET", "/panic"), 500},
		{"handler that sets none", iamEvent("GET", "/api/v1/secrets"), 201},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := invoke(t, lambdahttp.New(echo, lambdahttp.Options{}), tc.event)
			require.Equal(t, tc.status, resp.StatusCode, "body: %s", resp.Body)
			assertSecurityHeaders(t, resp)
			if tc.status != 201 {
				assert.Equal(t, "application/json; charset=utf-8", resp.Headers["Content-Type"])
				errorCode(t, resp)
			}
		})
	}
	t.Run("a handler's own header wins", func(t *testing.T) {
		own := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "private, no-store")
		})
		resp := invoke(t, lambdahttp.New(own, lambdahttp.Options{}), iamEvent("GET", "/x"))
		assert.Equal(t, "private, no-store", resp.Headers["Cache-Control"])
		assert.Equal(t, "nosniff", resp.Headers["X-Content-Type-Options"])
	})
}

// TestNonCanonicalPathsThroughTheAdapter: a function URL passes the path as
// sent; the API answers 400 in its error format with its headers, where the
// standard router answered a 307 redirect in HTML.
func TestNonCanonicalPathsThroughTheAdapter(t *testing.T) {
	api := httpapi.New(store.New(memstore.New()), httpapi.ContextAuthenticator{}, httpapi.Options{})
	adapters := map[string]*lambdahttp.Adapter{
		"all routes":    lambdahttp.New(api.Handler(), lambdahttp.Options{}),
		"one operation": lambdahttp.New(api.Operation(httpapi.OpGet), lambdahttp.Options{}),
	}
	for name, a := range adapters {
		for _, path := range []string{"/api/v1//secrets", "/api/v1/secrets/../tokens", "/./", "/api/v1/secrets/%2e%2e/tokens", "//api/v1/secrets"} {
			t.Run(name+" "+path, func(t *testing.T) {
				resp := invoke(t, a, iamEvent("GET", path))
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", resp.Body)
				assert.Empty(t, resp.Headers["Location"])
				assert.Equal(t, `"invalid_argument"`, errorCode(t, resp))
				assertSecurityHeaders(t, resp)
			})
		}
	}
}
