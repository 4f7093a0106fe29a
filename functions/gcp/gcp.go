// Package gcp registers Lockwell's Google Cloud Functions (gen2) with the
// Functions Framework: CreateSecret, GetSecret, ListSecrets, UpdateSecret,
// DeleteSecret and PurgeExpired (the scheduled purge of deleted secrets past
// their recovery window), HTTP functions that each serve one operation of
// the REST API (package httpapi), and Dashboard, which serves the web dashboard. It is the only product package that imports the
// framework; the Cloud Functions build links it through a root-level stub
// package (see infra/gcp/README.md), and localdev/functions serves it locally.
//
// # Paths
//
// Every function accepts the same REST-shaped requests, so one client serves
// every platform:
//
//   - A path containing /api/v1/ is used from there on: the full REST path,
//     as API Gateway forwards it (path_translation APPEND_PATH_TO_ADDRESS) or
//     as a client appends it to the function's URL.
//   - Otherwise the path is taken relative to the secrets collection, after
//     dropping a leading segment that names the function (its entry point,
//     as the local framework server keeps it, or its deployed name, K_SERVICE,
//     as cloudfunctions.net URLs may): "/" is /api/v1/secrets and "/<id>" is
//     /api/v1/secrets/<id>.
//
// So GET https://…/GetSecret/<id>, GET https://…/GetSecret/api/v1/secrets/<id>
// and GET https://gateway/api/v1/secrets/<id> all reach the same handler.
// A request for another operation's route gets the API's 404.
//
// # Identity
//
// With LOCKWELL_AUTH=platform (the default), LOCKWELL_GCP_IDENTITY selects
// where the verified identity comes from (see AuthMode): a Google ID token
// (idtoken, the default; LOCKWELL_AUDIENCE is its audience), IAP (iap) or
// API Gateway (apigateway). LOCKWELL_ADMINS names the admins by email. With
// LOCKWELL_AUTH=bearer the functions authenticate Lockwell API tokens instead.
//
// # Behind API Gateway
//
// API Gateway calls a private function with an ID token of its own in
// Authorization (x-google-backend without disable_auth), and moves the
// caller's Authorization header, if it sent one, to X-Forwarded-Authorization.
// With LOCKWELL_GCP_GATEWAY=true (GatewayEnv; see BehindGateway) the
// functions take the caller's credential from X-Forwarded-Authorization and
// drop the gateway's token (Cloud Run has already checked it to let the
// gateway invoke the function): so a Lockwell API token (LOCKWELL_AUTH=bearer)
// or a caller's own Google ID token reaches the authenticator, and a browser
// request carrying the dashboard's session cookie and no Authorization of
// its own gets the session layer's CSRF checks, against the gateway's host
// (the Origin of a request the browser marks same-origin; see
// callerRequest). It is off by default: a function called directly reads
// Authorization only, and X-Forwarded-Authorization is ignored, so a caller
// cannot put a credential there that the deployment does not expect. Turn it
// on only where every request comes through the gateway (infra/gcp does when
// gateway = true); a direct call then authenticates with what it puts in
// X-Forwarded-Authorization, never with its Authorization header.
//
// # The store
//
// The deployment (store, tokens) is opened from the environment on the first
// request of an instance and shared by every function in it; if opening
// fails, the request gets 503 and the next request tries again.
package gcp

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/lockwell/lockwell/shared/dashboard"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
)

// Function is one Cloud Function: its name (the entry point and
// FUNCTION_TARGET) and the httpapi operation it serves.
type Function struct {
	Name      string
	Operation string
}

// Functions lists the HTTP functions this package registers.
var Functions = []Function{
	{"CreateSecret", "create"},
	{"GetSecret", "get"},
	{"ListSecrets", "list"},
	{"UpdateSecret", "update"},
	{"DeleteSecret", "delete"},
	// Called by Cloud Scheduler (infra/gcp) as an admin identity.
	{"PurgeExpired", "purge_expired"},
}

// Operations returns the handler serving one httpapi operation (as
// (*httpapi.API).Operation does).
type Operations func(op string) http.Handler

// Opener opens the deployment and returns its operations. It is called once
// per instance, again after a failure.
type Opener func(ctx context.Context) (Operations, error)

// Server serves the functions from one lazily opened deployment. It is safe
// for concurrent use.
type Server struct {
	open    Opener
	log     *slog.Logger
	gateway bool // see BehindGateway

	mu  sync.Mutex
	ops Operations
}

// NewServer returns a Server that opens its deployment with open on first
// use. log may be nil.
func NewServer(open Opener, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{open: open, log: log}
}

// BehindGateway makes s take each caller's credential from
// X-Forwarded-Authorization, where API Gateway forwards it (see the package
// doc), and returns s. Call it before s serves.
func (s *Server) BehindGateway() *Server {
	s.gateway = true
	return s
}

// GatewayEnv is the variable that says the functions sit behind API
// Gateway: "true", or "false" or empty (the default).
const GatewayEnv = "LOCKWELL_GCP_GATEWAY"

// ParseGateway reads GatewayEnv's value. Errors: invalid_argument for
// anything but true, false or empty.
func ParseGateway(v string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, errcode.New(errcode.InvalidArgument, "%s must be true or false, got %q", GatewayEnv, v)
}

// Default is the server the registered functions use: it opens the
// deployment from the environment (LOCKWELL_* variables). A GatewayEnv it
// cannot read fails the opening (OpenFromEnv checks it), so every request
// answers 503 and the log says why.
var Default = newDefault()

func newDefault() *Server {
	s := NewServer(OpenFromEnv, slog.Default())
	if on, _ := ParseGateway(os.Getenv(GatewayEnv)); on {
		s.BehindGateway()
	}
	return s
}

// callerRequest returns the request the API sees: r's clone, and behind
// the gateway with the caller's credential in Authorization (X-Forwarded-
// Authorization's value, or none) in place of the gateway's own token.
//
// Behind the gateway it also fixes the host the session layer compares a
// browser's Origin with: the gateway calls the function at the function's
// own host, so Host never names the gateway the page was loaded from, and
// every state-changing request from the dashboard (sign-in included) would
// look cross-origin. When the browser itself says the request is
// same-origin (Sec-Fetch-Site, a header no page can set), the Origin's host
// is the host the page is served on, and becomes Host; an X-Forwarded-Host,
// whose sender is unknown, is dropped. A browser request without
// Sec-Fetch-Site keeps the function's host and is refused when it carries
// an Origin, as a cross-origin one would be.
func (s *Server) callerRequest(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	if s.gateway {
		if fwd := r2.Header.Get(forwardedAuthorization); fwd != "" {
			r2.Header.Set("Authorization", fwd)
		} else {
			r2.Header.Del("Authorization")
		}
		r2.Header.Del(forwardedAuthorization)
		r2.Header.Del("X-Forwarded-Host")
		if r2.Header.Get("Sec-Fetch-Site") == "same-origin" {
			if u, err := url.Parse(r2.Header.Get("Origin")); err == nil && u.Host != "" {
				r2.Host = u.Host
			}
		}
	}
	return r2
}

// forwardedAuthorization is where API Gateway puts the caller's
// Authorization header when it sends its own to the backend.
const forwardedAuthorization = "X-Forwarded-Authorization"

// DashboardName is the entry point of the function that serves the web
// dashboard (package shared/dashboard); see (*Server).DashboardHandler.
const DashboardName = "Dashboard"

func init() {
	for _, f := range Functions {
		functions.HTTP(f.Name, Default.Handler(f))
	}
	functions.HTTP(DashboardName, Default.DashboardHandler())
}

// DashboardHandler returns the HTTP function serving the web dashboard: its
// embedded assets, the session routes and GET /api/v1/whoami (see
// dashboard.Handler). It belongs at the root of the host that routes
// /api/v1/* to the other functions (a load balancer with IAP, or API
// Gateway), so the pages reach the API on their own origin. A path
// containing /api/v1/ is used from there on; otherwise a leading segment
// naming the function is dropped, as for the API functions.
func (s *Server) DashboardHandler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ops, err := s.operations(r.Context())
		if err != nil {
			s.log.Error("open the deployment", "function", DashboardName, "err", err)
			writeError(w, http.StatusServiceUnavailable, errcode.Unavailable, "the secrets store is not available; retry later")
			return
		}
		r2 := s.callerRequest(r)
		r2.URL.Path = dashboardPath(r.URL.Path, DashboardName, os.Getenv("K_SERVICE"))
		r2.URL.RawPath = ""
		r2.RequestURI = r2.URL.RequestURI()
		dashboard.Handler(ops(httpapi.OpWhoAmI)).ServeHTTP(w, r2)
	}
}

// dashboardPath maps the path the dashboard function receives to the
// dashboard's own path.
func dashboardPath(path string, names ...string) string {
	if i := strings.Index(path, apiPrefix); i >= 0 {
		return path[i:]
	}
	for _, name := range names {
		if rest, ok := strings.CutPrefix(path, "/"+name); name != "" && ok && (rest == "" || rest[0] == '/') {
			path = rest
			break
		}
	}
	if path == "" {
		return "/"
	}
	return path
}

// Handler returns the HTTP function serving f.
func (s *Server) Handler(f Function) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ops, err := s.operations(r.Context())
		if err != nil {
			s.log.Error("open the deployment", "function", f.Name, "err", err)
			writeError(w, http.StatusServiceUnavailable, errcode.Unavailable, "the secrets store is not available; retry later")
			return
		}
		names := []string{f.Name, os.Getenv("K_SERVICE")}
		r2 := s.callerRequest(r)
		r2.URL.Path = RESTPath(r.URL.Path, names...)
		r2.URL.RawPath = ""
		if raw := r.URL.EscapedPath(); raw != r.URL.Path {
			r2.URL.RawPath = RESTPath(raw, names...)
		}
		r2.RequestURI = r2.URL.RequestURI()
		// The session layer lets the dashboard's cookie (bearer mode) stand
		// for the token, and refuses cross-site browser requests.
		dashboard.Sessions(ops(f.Operation)).ServeHTTP(w, r2)
		flushSpans(r.Context())
	}
}

func (s *Server) operations(ctx context.Context) (Operations, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops != nil {
		return s.ops, nil
	}
	ops, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.ops = ops
	return ops, nil
}

// apiPrefix starts every REST path of the API.
const apiPrefix = "/api/v1/"

// RESTPath maps the path a Cloud Function receives to the REST path (see
// the package doc); names are the function's names, of which a leading
// segment is dropped.
func RESTPath(path string, names ...string) string {
	if i := strings.Index(path, apiPrefix); i >= 0 {
		return path[i:]
	}
	for _, name := range names {
		if name == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(path, "/"+name); ok && (rest == "" || rest[0] == '/') {
			path = rest
			break
		}
	}
	path = strings.TrimRight(path, "/")
	if path == "" {
		return apiPrefix + "secrets"
	}
	if path[0] != '/' {
		path = "/" + path
	}
	return apiPrefix + "secrets" + path
}

// writeError answers in the API's error format, with the headers every
// response of the API carries.
func writeError(w http.ResponseWriter, status int, code errcode.Code, msg string) {
	httpapi.SetSecurityHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}
