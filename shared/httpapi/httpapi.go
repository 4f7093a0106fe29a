// Package httpapi is Lockwell's HTTP API on net/http: the handlers that the
// local server, the Lambda functions and the Cloud Functions all serve.
//
// Routes (JSON, under /api/v1, authenticated by an Authenticator):
//
//	POST   /api/v1/secrets        create: 201 with metadata and keys, no values
//	GET    /api/v1/secrets        list:   200 {"items": [...], "next_page_token": "..."}
//	GET    /api/v1/secrets/{id}   get:    200 with values, ETag "<version>"
//	PATCH  /api/v1/secrets/{id}   update: 200 with metadata; If-Match, merge of values
//	DELETE /api/v1/secrets/{id}   delete: 204; If-Match
//	POST   /api/v1/tokens         create_token (admins): 201 {"token": "..."}
//	GET    /api/v1/tokens         list_tokens (admins): 200 {"items": [{"id", "user", "role", "created"}]}
//	DELETE /api/v1/tokens/{id}    revoke_token (admins): 204; 404 for an unknown id
//	DELETE /api/v1/tokens/self    revoke_own_token (any bearer caller): 204, revokes the token it sent (logout)
//	GET    /api/v1/whoami         whoami: 200 {"user": "...", "role": "admin|member"}, the caller
//	GET    /healthz               200 without authentication (also /api/v1/healthz)
//
// A create body is {"name", "private"?, "values"?, "origin"?}; an update
// body is {"name"?, "private"?, "values"?, "replace_values"?, "origin"?}.
// In an update, values are merged (a null removes a key) unless
// replace_values is true: then values is required and its entries are the
// complete new set of values, and a null in it is invalid_argument. origin
// (at most store.MaxOriginLength bytes) records where a migrated secret came
// from; it is returned in the metadata and never holds a value.
//
// The handlers parse and check HTTP (methods, headers, strict JSON bodies of
// at most 1 MiB, query parameters) and leave everything about secrets
// (validation, visibility, versions, idempotency) to the portable store.
// Every failure is answered with {"error": {"code", "message"}}, the status
// coming from one table (statusOf) keyed by errcode code; the message is
// errcode.Message, which never carries a value, and internal errors get a
// generic message while their cause goes to the log. Two failures of HTTP
// itself have statuses beyond the table, with code invalid_argument: 405 (with
// Allow) for a method the path does not serve and 415 for a body that is not
// application/json.
//
// Bodies are decoded strictly: one JSON object, no unknown or repeated
// fields, no data after it, values that are strings (or, in an update, null
// to remove a key). Every response carries Cache-Control: no-store and
// X-Content-Type-Options: nosniff.
//
// Each request is logged as one line (operation, status, latency, principal,
// secret id, error code); never a value, a token, a header value or a body.
// An API is safe for concurrent use.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// Options configure an API.
type Options struct {
	// Logger receives one line per request. Nil discards.
	Logger *slog.Logger
	// Tokens stores the tokens that POST /api/v1/tokens mints. Nil means this
	// deployment does not mint tokens: the route answers not_found.
	Tokens identity.TokenStore
}

// API serves the HTTP API over a store. Create one with New.
type API struct {
	st     *store.Store
	auth   Authenticator
	tokens identity.TokenStore
	log    *slog.Logger
}

// New returns the API over st, authenticating requests with auth.
func New(st *store.Store, auth Authenticator, opts Options) *API {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &API{st: st, auth: auth, tokens: opts.Tokens, log: l}
}

// The operation names of Operation and of the request log.
const (
	OpCreate      = "create"
	OpGet         = "get"
	OpList        = "list"
	OpUpdate      = "update"
	OpDelete      = "delete"
	OpCreateToken = "create_token"
	OpListTokens  = "list_tokens"
	OpRevokeToken = "revoke_token"
	OpRevokeOwn   = "revoke_own_token"
	OpWhoAmI      = "whoami"
	OpHealth      = "healthz"
)

// route is one method and path pattern of the API.
type route struct {
	op      string
	method  string
	path    string
	authed  bool
	handler func(a *API, w http.ResponseWriter, r *http.Request, rec *record) error
}

// paths of the API.
const (
	pathSecrets = "/api/v1/secrets"
	pathSecret  = "/api/v1/secrets/{id}"
	pathTokens  = "/api/v1/tokens"
	pathToken   = "/api/v1/tokens/{id}"
	pathOwn     = "/api/v1/tokens/self"
	pathWhoAmI  = "/api/v1/whoami"
	pathHealth  = "/healthz"
)

var routes = []route{
	{OpCreate, http.MethodPost, pathSecrets, true, (*API).create},
	{OpList, http.MethodGet, pathSecrets, true, (*API).list},
	{OpGet, http.MethodGet, pathSecret, true, (*API).get},
	{OpUpdate, http.MethodPatch, pathSecret, true, (*API).update},
	{OpDelete, http.MethodDelete, pathSecret, true, (*API).delete},
	{OpCreateToken, http.MethodPost, pathTokens, true, (*API).createToken},
	{OpListTokens, http.MethodGet, pathTokens, true, (*API).listTokens},
	{OpRevokeToken, http.MethodDelete, pathToken, true, (*API).revokeToken},
	{OpRevokeOwn, http.MethodDelete, pathOwn, true, (*API).revokeOwnToken},
	{OpWhoAmI, http.MethodGet, pathWhoAmI, true, (*API).whoami},
	{OpHealth, http.MethodGet, pathHealth, false, (*API).health},
	{OpHealth, http.MethodGet, "/api/v1" + pathHealth, false, (*API).health}, // the same check under the API prefix
}

// Handler returns a handler serving every route. A known path with another
// method gets 405 with an Allow header; an unknown path gets 404; both in the
// API's error format.
func (a *API) Handler() http.Handler {
	return a.mux(func(route) bool { return true }, true)
}

// Operation returns a handler serving only the routes of one operation:
// "create", "get", "list", "update" or "delete" (and "create_token",
// "list_tokens", "revoke_token" and "revoke_own_token" for the token routes,
// "whoami" for the caller's identity). Every other request gets 404 in the API's error format. It is
// what a function deployed per operation serves. Operation panics on an
// unknown name, a programming error.
func (a *API) Operation(name string) http.Handler {
	known := false
	for _, rt := range routes {
		known = known || rt.op == name
	}
	if !known || name == OpHealth {
		panic(fmt.Sprintf("httpapi: unknown operation %q", name))
	}
	return a.mux(func(rt route) bool { return rt.op == name }, false)
}

func (a *API) mux(include func(route) bool, allowHeaders bool) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		if !include(rt) {
			continue
		}
		mux.Handle(rt.method+" "+rt.path, a.serve(rt))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	if allowHeaders {
		for path, methods := range allowed {
			if path == pathOwn {
				// Its methods are those of pathToken, whose 405 handler
				// answers for it (a second one would conflict in the mux).
				continue
			}
			mux.Handle(path, a.serve(methodNotAllowed(methods)))
		}
	}
	mux.Handle("/", a.serve(route{op: "unknown", handler: func(_ *API, _ http.ResponseWriter, _ *http.Request, _ *record) error {
		return errNoRoute
	}}))
	return mux
}

func (a *API) health(w http.ResponseWriter, _ *http.Request, _ *record) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
