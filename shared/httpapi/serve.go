package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// record collects what the request log line says about one request.
type record struct {
	principal identity.Principal // set once authenticated
	secretID  string
	tokenFor  string // the user a minted token is for
	tokenID   string // the token a revocation names (an id, never the token)
	err       error
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SetSecurityHeaders sets on h the headers every response of the API
// carries, Cache-Control: no-store and X-Content-Type-Options: nosniff among
// them: every response may carry a value or a token, so none may be cached
// or sniffed. An adapter that answers on its own, before the API runs (the
// Lambda adapter's 400 and 401), sets them too.
func SetSecurityHeaders(h http.Header) {
	for k, v := range securityHeaders {
		h[k] = slices.Clone(v)
	}
}

// securityHeaders are the headers of SetSecurityHeaders.
var securityHeaders = http.Header{
	"Cache-Control":           {"no-store"},
	"X-Content-Type-Options":  {"nosniff"},
	"X-Frame-Options":         {"DENY"},
	"Content-Security-Policy": {"default-src 'none'; frame-ancestors 'none'"},
	"Referrer-Policy":         {"no-referrer"},
}

// serve wraps a route's handler: security headers, authentication, error
// answers, panic recovery and the request log line.
func (a *API) serve(rt route) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		rec := &record{}
		SetSecurityHeaders(w.Header())
		r, obs := a.startObservation(r, rt) // metrics and the request's span (observe.go)
		r = withRequestFacts(w, r)          // for the audit records (audit.go)
		defer a.finishObservation(obs, rt, w, rec)
		defer a.logRequest(r.Context(), rt.op, w, rec, start)
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			// The panic value may hold anything, values included: log only
			// its type and the stack (addresses, never string contents).
			rec.err = errcode.New(errcode.Internal, "panic of type %T in handler: %s", v, debug.Stack())
			if w.status == 0 {
				a.writeError(w, rec.err)
			}
		}()
		if id := r.PathValue("id"); id != "" && secret.ValidateID(id) == nil {
			rec.secretID = id
		}
		err := a.authenticateAndHandle(rt, w, r, rec)
		err = a.auditAfter(w, r, rt.op, rec, err) // token operations and refusals (audit.go)
		if err != nil {
			rec.err = err
			a.writeError(w, err)
		}
	})
}

func (a *API) authenticateAndHandle(rt route, w http.ResponseWriter, r *http.Request, rec *record) error {
	if rt.authed {
		p, err := a.auth.Authenticate(r)
		if err != nil {
			return err
		}
		rec.principal = p
	}
	if err := checkParams(r, rt); err != nil {
		return err
	}
	if err := a.auditBefore(r, rt.op, rec); err != nil {
		return err
	}
	return rt.handler(a, w, r, rec)
}

// checkParams refuses a query string that does not parse or names a
// parameter the route does not take (route.params): a misspelt or
// unsupported parameter is an error, never silently ignored.
func checkParams(r *http.Request, rt route) error {
	if r.URL.RawQuery == "" || rt.path == "" {
		return nil // no query, or no route: the handler answers (404, 405)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errcode.New(errcode.InvalidArgument, "the query string is malformed")
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names) // report the first problem deterministically
	for _, name := range names {
		if slices.Contains(rt.params, name) {
			continue
		}
		if len(rt.params) == 0 {
			return errcode.New(errcode.InvalidArgument, "unknown query parameter %s; %s %s takes no query parameters", quote(name), rt.method, rt.path)
		}
		return errcode.New(errcode.InvalidArgument, "unknown query parameter %s; known are %s", quote(name), strings.Join(rt.params, ", "))
	}
	return nil
}

// logRequest writes the request's one log line: never a value, a token, a
// header value, a query or a body. The cause of an internal error is logged
// here and nowhere else.
func (a *API) logRequest(ctx context.Context, op string, w *statusWriter, rec *record, start time.Time) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := []slog.Attr{
		slog.String("op", op),
		slog.Int("status", status),
		slog.Duration("latency", time.Since(start)),
		slog.String("principal", rec.principal.Name),
	}
	if rec.secretID != "" {
		attrs = append(attrs, slog.String("secret_id", rec.secretID))
	}
	if rec.tokenFor != "" {
		attrs = append(attrs, slog.String("token_for", rec.tokenFor))
	}
	if rec.tokenID != "" {
		attrs = append(attrs, slog.String("token_id", rec.tokenID))
	}
	level := slog.LevelInfo
	if rec.err != nil {
		_, body := statusAndBody(rec.err)
		attrs = append(attrs, slog.String("code", string(body.Error.Code)))
		if status >= 500 {
			level = slog.LevelError
			attrs = append(attrs, slog.String("cause", causeOf(rec.err)))
		}
	}
	a.log.LogAttrs(ctx, level, "request", attrs...)
}

// causeOf is the text of err for the log. By errcode's contract causes never
// carry values; errors that are not classified are logged by type and text
// as well, since only Lockwell's own code and libraries produce them.
func causeOf(err error) string {
	var e *errcode.Error
	if errors.As(err, &e) {
		return err.Error()
	}
	return fmt.Sprintf("%T: %v", err, err)
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		// The response types always encode; this is a bug.
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error; the server log has the details"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
