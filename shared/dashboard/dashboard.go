// Package dashboard is Lockwell's web dashboard: static assets embedded in
// the binary (one HTML page, a few ES modules and one CSS file; no build
// step) and the session layer that lets a browser use the HTTP API without
// ever holding a token in script-readable storage.
//
// Handler(api) is what a process serving both mounts at "/":
//
//	/api/v1/session   POST signs in (exchanges an API token for a cookie), DELETE signs out
//	/api/..., /healthz the API, behind the session layer (Sessions)
//	/assets/<file>    the embedded scripts, styles and icon
//	any other path    index.html (GET and HEAD), so the dashboard's own URLs reload
//
// Every dashboard response carries a strict Content-Security-Policy
// (ContentSecurityPolicy: scripts, styles and connections only from the
// same origin, no inline script or style, no framing), nosniff,
// X-Frame-Options DENY, Referrer-Policy no-referrer and
// Cross-Origin-Opener-Policy same-origin. The assets never contain a value
// or a token; the dashboard fetches values only when the user reveals or
// copies one.
package dashboard

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed assets
var embedded embed.FS

// assets is the embedded assets directory.
var assets = func() fs.FS {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}()

// ContentSecurityPolicy is the policy of every dashboard page: nothing
// inline, nothing from another origin, no framing, no plugins, forms and
// base URLs pinned to this origin.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'"

// pageHeaders go on every asset and page response. The slices are shared
// and never modified.
var pageHeaders = http.Header{
	"Content-Security-Policy":      {ContentSecurityPolicy},
	"X-Content-Type-Options":       {"nosniff"},
	"X-Frame-Options":              {"DENY"},
	"Referrer-Policy":              {"no-referrer"},
	"Cross-Origin-Opener-Policy":   {"same-origin"},
	"Cross-Origin-Resource-Policy": {"same-origin"},
	"Permissions-Policy":           {"camera=(), microphone=(), geolocation=()"},
	// Revalidate on every load so a new binary's assets are used at once;
	// the assets are small and served from memory.
	"Cache-Control": {"no-cache"},
}

// apiAtRoot are the paths outside /api/ that belong to the API, never to a
// page: the probes, and /metrics, which the API port does not serve (it is
// on its own address) and so answers 404 rather than the dashboard's page.
var apiAtRoot = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// Handler returns the dashboard and the API in one handler: requests for
// /api/ and /healthz go to api behind Sessions, every other path to Assets.
func Handler(api http.Handler) http.Handler {
	apiWithSessions := Sessions(api)
	pages := Assets()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Paths that are not canonical (//x, /./, /a/../b, escaped forms) go
		// to the API too, which refuses them in its own error format: no
		// page is ever served, nor a redirect made, for such a path.
		p := r.URL.Path
		if apiAtRoot[p] || strings.HasPrefix(p, "/api/") || p == "/api" || path.Clean(p) != p || r.URL.RawPath != "" {
			apiWithSessions.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r)
	})
}

// Assets returns the handler of the dashboard's pages without the API: the
// files under /assets/ and index.html for every other path that does not
// name a file. It answers GET and HEAD; other methods get 405. It is what a
// function that serves only the dashboard mounts next to the API's routes.
func Assets() http.Handler {
	return http.HandlerFunc(serveAsset)
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	for k, v := range pageHeaders {
		h[k] = v
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := "index.html"
	if file, ok := strings.CutPrefix(r.URL.Path, "/assets/"); ok {
		name = file
	} else if strings.Contains(path.Base(r.URL.Path), ".") {
		// A file outside /assets/ (favicon.ico, robots.txt): there is none.
		http.NotFound(w, r)
		return
	}
	if name == "" || strings.Contains(name, "/") || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(assets, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".html":
		ct = "text/html; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
