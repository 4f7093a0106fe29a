// Package httpapi is Lockwell's HTTP API on net/http: the handlers that the
// local server, the Lambda functions and the Cloud Functions all serve.
//
// Routes (JSON, under /api/v1, authenticated by an Authenticator):
//
//	POST   /api/v1/secrets        create: 201 with metadata and keys, no values
//	GET    /api/v1/secrets        list:   200 {"items": [...], "next_page_token": "..."}
//	GET    /api/v1/secrets/{id}   get:    200 with values, ETag "<version>"; ?version=N reads a kept version
//	GET    /api/v1/secrets/{id}/versions  versions: 200 {"items": [...]}, the kept versions, newest
//	                              first: who made each, how, which keys changed; never values
//	POST   /api/v1/secrets/{id}/rollback  rollback: 200 with metadata; body {"version": N}; If-Match
//	POST   /api/v1/secrets/{id}/restore   restore: 200 with metadata; body {"name"?}; If-Match;
//	                              409 when its name is taken (restore under a new name)
//	GET    /api/v1/secrets/by-name/{name}  get_by_name: 200 as get, for the secret the caller
//	                              sees under name (private first, then public; see byname.go)
//	PATCH  /api/v1/secrets/{id}   update: 200 with metadata; If-Match, merge of values
//	DELETE /api/v1/secrets/{id}   delete: 200 with metadata (deleted, purge_after): moved into the
//	                              recovery window; ?purge=true (owner or admin) destroys: 204; If-Match
//	POST   /api/v1/admin/purge    purge_expired (admins): 200 {"purged": n}, destroys the deleted
//	                              secrets whose recovery window has ended (Cloud Scheduler calls it)
//	POST   /api/v1/tokens         create_token (admins): 201 {"token": "..."}
//	GET    /api/v1/tokens         list_tokens (admins): 200 {"items": [{"id", "user", "role", "created"}]}
//	DELETE /api/v1/tokens/{id}    revoke_token (admins): 204; 404 for an unknown id
//	DELETE /api/v1/tokens/self    revoke_own_token (any bearer caller): 204, revokes the token it sent (logout)
//	GET    /api/v1/audit      audit (admins): 200 {"items": [...], "next_page_token", "has_more"}; filters
//	                              secret, principal, operation, since, until; page_size, page_token (audit.go)
//	GET    /api/v1/migrations     list_migrations (admins): 200 {"items": [job, ...]}, newest first (migrations.go)
//	GET    /api/v1/migrations/{job}  get_migration (admins): 200 {"job", "entries"}, per-entry outcomes
//	GET    /api/v1/whoami         whoami: 200 {"user": "...", "role": "admin|member"}, the caller
//	GET    /api/v1/events         events: 200 text/event-stream of the change events the caller may
//	                              see, resumable with Last-Event-ID (events.go); 404 without Options.Events
//	GET    /healthz               200 without authentication (liveness: the process serves HTTP; also /api/v1/healthz)
//	GET    /readyz                200 without authentication when the store answers (store.Ready),
//	                              503 unavailable when it does not (readiness)
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
// generic message while their cause goes to the log. A body that is not
// application/json in UTF-8 is unsupported_media_type (415). One failure of
// HTTP itself has a status beyond the table, with code invalid_argument: 405
// (with Allow) for a method the path does not serve.
//
// Each route takes only the query parameters its line in routes lists;
// any other parameter, on any route, is invalid_argument naming it.
//
// Bodies are decoded strictly: one JSON object, no unknown or repeated
// fields, no data after it, values that are strings (or, in an update, null
// to remove a key), and no string with an unpaired surrogate escape such as
// "\ud800", which encoding/json would silently turn into U+FFFD.
//
// A path that is not canonical (an empty, "." or ".." segment, also percent-
// encoded, as in /api/v1//secrets or /api/v1/secrets/%2e%2e/tokens) is
// invalid_argument: the API never redirects. Every response, errors
// included, carries Cache-Control: no-store and X-Content-Type-Options:
// nosniff (SetSecurityHeaders).
//
// Each request is logged as one line (operation, status, latency, principal,
// secret id, error code); never a value, a token, a header value or a body.
// An API is safe for concurrent use.
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
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
	// Events is where GET /api/v1/events reads change events from (the
	// local server's events.Broker). Nil: the route answers not_found.
	Events EventSource
	// MigrationJobs reads the migration jobs that GET /api/v1/migrations
	// serves. Nil means this deployment serves none: the routes answer
	// not_found.
	MigrationJobs MigrationJobs
}

// API serves the HTTP API over a store. Create one with New.
type API struct {
	st     *store.Store
	auth   Authenticator
	tokens identity.TokenStore
	events EventSource
	// migrations reads migration jobs; nil when none are served.
	migrations MigrationJobs
	log        *slog.Logger
	// backend is the metrics label of st's backend (observe.go).
	backend string
}

// New returns the API over st, authenticating requests with auth.
func New(st *store.Store, auth Authenticator, opts Options) *API {
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &API{st: st, auth: auth, tokens: opts.Tokens, events: opts.Events, migrations: opts.MigrationJobs, log: l, backend: backendLabel(st)}
}

// The operation names of Operation and of the request log.
const (
	OpCreate      = "create"
	OpGet         = "get"
	OpList        = "list"
	OpUpdate      = "update"
	OpDelete      = "delete"
	OpVersions    = "versions"
	OpRollback    = "rollback"
	OpRestore     = "restore"
	OpPurge       = "purge_expired"
	OpCreateToken = "create_token"
	OpListTokens  = "list_tokens"
	OpRevokeToken = "revoke_token"
	OpRevokeOwn   = "revoke_own_token"
	OpWhoAmI      = "whoami"
	OpHealth      = "healthz"
	OpReady       = "readyz"
)

// route is one method and path pattern of the API.
type route struct {
	op     string
	method string
	path   string
	authed bool
	// params are the query parameters the route takes; any other is
	// invalid_argument before the handler runs (checkParams). The handler
	// parses and checks the values of its own.
	params  []string
	handler func(a *API, w http.ResponseWriter, r *http.Request, rec *record) error
}

// paths of the API.
const (
	pathSecrets  = "/api/v1/secrets"
	pathSecret   = "/api/v1/secrets/{id}"
	pathVersions = "/api/v1/secrets/{id}/versions"
	pathRollback = "/api/v1/secrets/{id}/rollback"
	pathRestore  = "/api/v1/secrets/{id}/restore"
	pathPurge    = "/api/v1/admin/purge"
	pathTokens   = "/api/v1/tokens"
	pathToken    = "/api/v1/tokens/{id}"
	pathOwn      = "/api/v1/tokens/self"
	pathWhoAmI   = "/api/v1/whoami"
	pathHealth   = "/healthz"
	pathReady    = "/readyz"
)

// routes is the API, one line per route: its operation, method, path,
// whether it needs authentication, the query parameters it takes (nil:
// none), and its handler.
var routes = []route{
	{OpCreate, http.MethodPost, pathSecrets, true, nil, (*API).create},
	{OpList, http.MethodGet, pathSecrets, true, listParams, (*API).list},
	{OpGet, http.MethodGet, pathSecret, true, getParams, (*API).get},
	{OpVersions, http.MethodGet, pathVersions, true, nil, (*API).versions},
	{OpRollback, http.MethodPost, pathRollback, true, nil, (*API).rollback},
	{OpRestore, http.MethodPost, pathRestore, true, nil, (*API).restore},
	{OpGetByName, http.MethodGet, pathByName, true, nil, (*API).getByName},
	{OpUpdate, http.MethodPatch, pathSecret, true, nil, (*API).update},
	{OpDelete, http.MethodDelete, pathSecret, true, deleteParams, (*API).delete},
	{OpPurge, http.MethodPost, pathPurge, true, nil, (*API).purgeExpired},
	{OpCreateToken, http.MethodPost, pathTokens, true, nil, (*API).createToken},
	{OpListTokens, http.MethodGet, pathTokens, true, nil, (*API).listTokens},
	{OpRevokeToken, http.MethodDelete, pathToken, true, nil, (*API).revokeToken},
	{OpRevokeOwn, http.MethodDelete, pathOwn, true, nil, (*API).revokeOwnToken},
	{OpListMigrations, http.MethodGet, pathMigrations, true, listMigrationsParams, (*API).listMigrations},
	{OpGetMigration, http.MethodGet, pathMigration, true, getMigrationParams, (*API).getMigration},
	{OpWhoAmI, http.MethodGet, pathWhoAmI, true, nil, (*API).whoami},
	{OpAudit, http.MethodGet, pathAudit, true, auditParams, (*API).listAudit},
	{OpEvents, http.MethodGet, pathEvents, true, nil, (*API).streamEvents},
	{OpHealth, http.MethodGet, pathHealth, false, nil, (*API).health},
	{OpHealth, http.MethodGet, "/api/v1" + pathHealth, false, nil, (*API).health}, // the same check under the API prefix
	{OpReady, http.MethodGet, pathReady, false, nil, (*API).ready},
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
// "list_migrations" and "get_migration" for the migration jobs,
// "whoami" for the caller's identity); "get" serves "get_by_name" too
// (servedWith). Every other request gets 404 in the API's error format. It is
// what a function deployed per operation serves. Operation panics on an
// unknown name, a programming error.
func (a *API) Operation(name string) http.Handler {
	known := false
	for _, rt := range routes {
		known = known || rt.op == name
	}
	if !known || name == OpHealth || name == OpReady {
		panic(fmt.Sprintf("httpapi: unknown operation %q", name))
	}
	return a.mux(func(rt route) bool { return rt.op == name || servedWith[rt.op] == name }, false)
}

func (a *API) mux(include func(route) bool, allowHeaders bool) http.Handler {
	// A secret's sub-resources (/api/v1/secrets/{id}/versions) and reading
	// by name (/api/v1/secrets/by-name/{name}) overlap in ServeMux's eyes
	// (a secret named "versions"), so sub-resources get a mux of their own
	// and a path goes there only when its third segment is not "by-name".
	main, sub := http.NewServeMux(), http.NewServeMux()
	allowed := map[string][]string{}
	muxOf := func(path string) *http.ServeMux {
		if strings.HasPrefix(path, pathSecret+"/") {
			return sub
		}
		return main
	}
	for _, rt := range routes {
		if !include(rt) {
			continue
		}
		muxOf(rt.path).Handle(rt.method+" "+rt.path, a.serve(rt))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	if allowHeaders {
		for path, methods := range allowed {
			if path == pathOwn {
				// Its methods are those of pathToken, whose 405 handler
				// answers for it (a second one would conflict in the mux).
				continue
			}
			muxOf(path).Handle(path, a.serve(methodNotAllowed(methods)))
		}
	}
	noRoute := a.serve(route{op: "unknown", handler: func(_ *API, _ http.ResponseWriter, _ *http.Request, _ *record) error {
		return errNoRoute
	}})
	main.Handle("/", noRoute)
	sub.Handle("/", noRoute)
	notCanonical := a.serve(route{op: "unknown", handler: func(_ *API, _ http.ResponseWriter, _ *http.Request, _ *record) error {
		return errNotCanonical
	}})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux would answer such a path with a redirect to its cleaned
		// form, in HTML, without the API's headers.
		if !canonicalPath(r.URL) {
			notCanonical.ServeHTTP(w, r)
			return
		}
		if isSubresource(r.URL.Path) {
			sub.ServeHTTP(w, r)
			return
		}
		main.ServeHTTP(w, r)
	})
}

// isSubresource reports whether path names a sub-resource of one secret:
// /api/v1/secrets/{id}/{what}, where id is not "by-name".
func isSubresource(path string) bool {
	rest, ok := strings.CutPrefix(path, pathSecrets+"/")
	if !ok {
		return false
	}
	id, what, ok := strings.Cut(rest, "/")
	return ok && id != "by-name" && what != "" && !strings.Contains(what, "/")
}

var errNotCanonical = errcode.New(errcode.InvalidArgument, `the request path is not canonical: it has an empty, "." or ".." segment`)

// canonicalPath reports whether u's path, decoded and as sent, is absolute
// and has no empty, "." or ".." segment (a trailing slash aside).
func canonicalPath(u *url.URL) bool {
	for _, p := range []string{u.Path, u.EscapedPath()} {
		if p == "" || p[0] != '/' {
			return false
		}
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if clean != p {
			return false
		}
	}
	return true
}

func (a *API) health(w http.ResponseWriter, _ *http.Request, _ *record) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// ready answers the readiness probe: 200 when the store answers a cheap
// read, 503 (unavailable, cause logged) when it does not.
func (a *API) ready(w http.ResponseWriter, r *http.Request, _ *record) error {
	if err := a.st.Ready(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
