package dashboard

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
)

// The session's names and lifetime.
const (
	// SessionPath is the route that signs in (POST {"token": "..."}) and
	// out (DELETE).
	SessionPath = "/api/v1/session"
	// CookieName is the session cookie. It holds the API token itself,
	// HttpOnly, SameSite=Strict, Path=/api/, and Secure unless the request
	// came over plain HTTP to a loopback host (`make dev`).
	CookieName = "lockwell_session"
	// CSRFHeader must be sent, with the value "1", on every state-changing
	// request that is not authenticated by an Authorization header. A
	// cross-site form cannot set a header, and a cross-site script cannot
	// send one without a CORS preflight, which the API never grants.
	CSRFHeader = "X-Lockwell-CSRF"
	// SessionTokenHeader is set on the answers to sign-in and to whoami
	// authenticated by the session cookie: the id (tok_...) of the token the
	// session holds, as GET /api/v1/tokens lists it, so the tokens page can
	// mark the token revoking which signs this browser out. The id is not
	// the token and cannot be turned back into it.
	SessionTokenHeader = "X-Lockwell-Session-Token-Id"
	// SessionMaxAge is how long the browser keeps the cookie.
	SessionMaxAge = 12 * time.Hour
	// maxSessionBody bounds a sign-in body.
	maxSessionBody = 4 << 10
)

const pathWhoAmI = "/api/v1/whoami"

// Sessions wraps the API handler with the dashboard's session layer:
//
//   - POST SessionPath with {"token": "..."} checks the token by asking api
//     GET /api/v1/whoami with it; on 200 it sets the session cookie and
//     answers whoami's body ({"user", "role"}), otherwise it answers what
//     whoami answered (401 for a bad token). Its answer, and that of every
//     whoami the cookie authenticates, carries SessionTokenHeader. DELETE SessionPath clears the
//     cookie (204); the token itself stays valid (it may be the one in
//     admin.token): revoke it on the tokens page to end it everywhere.
//   - A request without an Authorization header that carries the cookie is
//     passed to api with "Authorization: Bearer <cookie>" and without its
//     Cookie header. A request with an Authorization header is passed as it
//     is, cookie removed: a header the caller chose wins.
//   - A request from a browser (it carries a cookie, Origin or
//     Sec-Fetch-Site) without an Authorization header whose method changes
//     state (anything but GET, HEAD and OPTIONS), sign-in and sign-out
//     included, must carry CSRFHeader: 1, and one whose Sec-Fetch-Site says
//     it comes from another site, or whose Origin is not the host it was
//     sent to, is refused: permission_denied (403). This
//     also guards deployments whose platform identity rides on a cookie
//     (IAP). Other clients (the CLI, SDKs) are not affected.
//
// No server-side state is kept, so any number of processes or functions
// share sessions; a session lasts as long as its token and the cookie's
// SessionMaxAge. The token never appears in a log line, an error or a URL.
func Sessions(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hasAuth := r.Header.Get("Authorization") != ""
		if !hasAuth && fromBrowser(r) {
			if err := checkCSRF(r); err != nil {
				writeAPIError(w, err)
				return
			}
		}
		if r.URL.Path == SessionPath {
			serveSession(api, w, r)
			return
		}
		inner := r
		if c, err := r.Cookie(CookieName); err == nil || r.Header.Get("Cookie") != "" {
			inner = r.Clone(r.Context())
			inner.Header.Del("Cookie")
			if err == nil && !hasAuth && c.Value != "" {
				inner.Header.Set("Authorization", "Bearer "+c.Value)
				if r.URL.Path == pathWhoAmI {
					w.Header().Set(SessionTokenHeader, identity.TokenIDOf(c.Value))
				}
			}
		}
		api.ServeHTTP(w, inner)
	})
}

// fromBrowser reports whether a request may come from a browser, where
// cross-site request forgery happens: it carries a cookie, an Origin or a
// Sec-Fetch-Site header (browsers send Origin with every cross-origin
// state-changing request). Command-line clients send none of them and keep
// working unchanged.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Cookie") != "" || r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != ""
}

// checkCSRF applies the cross-site rules to a request from a browser
// without an Authorization header.
func checkCSRF(r *http.Request) error {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return errcode.New(errcode.PermissionDenied, "cross-site requests are refused; use the dashboard on this origin or send an Authorization header")
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(r, origin) {
		return errcode.New(errcode.PermissionDenied, "requests from another origin are refused; use the dashboard on this origin or send an Authorization header")
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get(CSRFHeader) != "1" {
		return errcode.New(errcode.PermissionDenied, "a request that changes state without an Authorization header must carry the header %s: 1", CSRFHeader)
	}
	return nil
}

// sameOrigin reports whether the Origin header names the host the request
// was sent to (the Host header, or X-Forwarded-Host behind a proxy that sets
// it). Browsers that omit Sec-Fetch-Site still send Origin.
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	host := r.Host
	if fwd := r.Header.Get("X-Forwarded-Host"); fwd != "" {
		host = fwd
	}
	return strings.EqualFold(u.Host, host)
}

func serveSession(api http.Handler, w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		signIn(api, w, r)
	case http.MethodDelete:
		setCookie(w, r, "", -1)
		setAPIHeaders(w)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "POST, DELETE")
		setAPIHeaders(w)
		httpapi.WriteError(w, errcode.New(errcode.InvalidArgument, "method %s is not allowed here; use POST to sign in or DELETE to sign out", r.Method))
	}
}

func signIn(api http.Handler, w http.ResponseWriter, r *http.Request) {
	token, err := readToken(w, r)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	probe, err := http.NewRequestWithContext(r.Context(), http.MethodGet, pathWhoAmI, http.NoBody)
	if err != nil {
		writeAPIError(w, errcode.Wrap(errcode.Internal, err, "build the whoami request"))
		return
	}
	probe.Host, probe.RemoteAddr, probe.TLS = r.Host, r.RemoteAddr, r.TLS
	probe.URL = &url.URL{Path: pathWhoAmI}
	probe.Header.Set("Authorization", "Bearer "+token)
	rec := &recorder{header: http.Header{}}
	api.ServeHTTP(rec, probe)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status == http.StatusOK {
		setCookie(w, r, token, int(SessionMaxAge/time.Second))
		w.Header().Set(SessionTokenHeader, identity.TokenIDOf(token))
	}
	for k, v := range rec.header {
		if k != "Www-Authenticate" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

// readToken reads {"token": "..."} from a sign-in body.
func readToken(w http.ResponseWriter, r *http.Request) (string, error) {
	media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != "application/json" {
		return "", errcode.New(errcode.InvalidArgument, "Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSessionBody))
	if err != nil {
		return "", errcode.New(errcode.InvalidArgument, "the sign-in body is unreadable or larger than %d bytes", maxSessionBody)
	}
	var req struct {
		Token string `json:"token"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		// Never quote the body: it holds a token.
		return "", errcode.New(errcode.InvalidArgument, `the sign-in body must be {"token": "<API token>"}`)
	}
	token := strings.TrimSpace(req.Token)
	if token == "" {
		return "", errcode.New(errcode.InvalidArgument, "token is required: paste an API token (for `make dev`, the one in .lockwell/admin.token)")
	}
	for i := 0; i < len(token); i++ {
		// Cookie-safe: Lockwell's tokens are lw_ and base64url.
		c := token[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return "", errcode.New(errcode.Unauthenticated, "the token is not valid")
		}
	}
	return token, nil
}

func setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    value,
		Path:     "/api/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secureRequest(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// secureRequest reports whether the session cookie must be Secure: always,
// unless the request came over plain HTTP to a loopback host, where browsers
// would refuse a Secure cookie and nothing crosses a network.
func secureRequest(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return false
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip == nil || !ip.IsLoopback()
}

// setAPIHeaders are the API's own response headers, for the answers the
// session layer writes itself.
func setAPIHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

func writeAPIError(w http.ResponseWriter, err error) {
	setAPIHeaders(w)
	httpapi.WriteError(w, err)
}

// recorder captures the whoami answer of a sign-in.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
