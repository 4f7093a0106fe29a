// Package lambdahttp serves a net/http handler from AWS Lambda: it turns an
// API Gateway HTTP API event (payload format 2.0) or a Lambda function URL
// event, which has the same shape, into an *http.Request, runs the handler,
// and turns what the handler wrote into the event's response.
//
// Identity comes from the API Gateway authorizer, which has already verified
// the caller: the IAM authorizer's requestContext.authorizer.iam.userArn, or
// a JWT authorizer's requestContext.authorizer.jwt.claims.sub. The adapter
// maps it to an identity.Principal (admin when the name is in
// Options.Admins) and puts it in the request's context, where
// httpapi.ContextAuthenticator finds it. A request without an authorizer
// identity gets 401, unless Options.Bearer is set: then identity is ignored
// and the handler authenticates the request's own bearer token.
//
// The adapter never panics and never answers a malformed event with a 5xx:
// an event that does not decode, has no requestContext, has a body marked
// base64 that is not, or has an unusable method or path gets a 400 in the API's
// error format. Only the handler itself can produce a 5xx. Every response,
// the adapter's own included, carries the API's security headers
// (httpapi.SetSecurityHeaders: Cache-Control: no-store, X-Content-Type-
// Options: nosniff and others).
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
)

// Options configure an Adapter.
type Options struct {
	// Admins are the principal names (IAM ARNs, JWT subjects) that get the
	// admin role. Everyone else authenticated is a member.
	Admins []string
	// Bearer makes the handler authenticate requests by their own bearer
	// tokens instead of the authorizer identity (LOCKWELL_AUTH=bearer): the
	// adapter then neither requires nor passes on an authorizer identity.
	Bearer bool
	// Anonymous serves a request without an authorizer identity with no
	// principal instead of answering 401, for routes that have no
	// authorizer (the dashboard's assets and sign-in); a request with an
	// identity gets it as usual, and the handler decides what needs one.
	Anonymous bool
	// Logger receives one line per event the adapter rejects or per handler
	// panic; never a body, header value or token. Nil discards.
	Logger *slog.Logger
}

// Adapter is a lambda.Handler serving an http.Handler. It is safe for
// concurrent use.
type Adapter struct {
	h      http.Handler
	opts   Options
	admins map[string]bool
	log    *slog.Logger
}

// New returns an Adapter that serves h.
func New(h http.Handler, opts Options) *Adapter {
	a := &Adapter{h: h, opts: opts, admins: map[string]bool{}, log: opts.Logger}
	for _, name := range opts.Admins {
		if name = strings.TrimSpace(name); name != "" {
			a.admins[name] = true
		}
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// Invoke implements lambda.Handler. payload is the event JSON; the result is
// an events.APIGatewayV2HTTPResponse as JSON. It returns an error only when
// the response cannot be encoded, which does not happen.
func (a *Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return json.Marshal(a.Serve(ctx, payload))
}

// Serve answers one event. Malformed events get a 4xx response.
func (a *Adapter) Serve(ctx context.Context, payload []byte) events.APIGatewayV2HTTPResponse {
	var ev event
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&ev); err != nil {
		return a.reject(http.StatusBadRequest, errcode.InvalidArgument, "event is not an API Gateway HTTP API (payload 2.0) or function URL event: it does not decode", err)
	}
	req, err := a.request(ctx, &ev)
	if err != nil {
		return a.reject(http.StatusBadRequest, errcode.Of(err), errcode.Message(err), err)
	}
	if !a.opts.Bearer {
		p, ok, err := a.principal(ev.RequestContext.Authorizer)
		if err != nil {
			return a.reject(http.StatusUnauthorized, errcode.Unauthenticated, errcode.Message(err), err)
		}
		if !ok && a.opts.Anonymous {
			return a.run(req)
		}
		if !ok {
			return a.reject(http.StatusUnauthorized, errcode.Unauthenticated, "no authorizer identity: the API must use the IAM or a JWT authorizer", nil)
		}
		req = req.WithContext(identity.WithPrincipal(req.Context(), p))
	}
	return a.run(req)
}

// event is the part of an HTTP API payload 2.0 event the adapter reads. It
// is decoded leniently where API Gateway is lenient (JWT claims of any JSON
// type) and strictly where a wrong type means a wrong event.
type event struct {
	Version               string            `json:"version"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	Body                  string            `json:"body"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
	RequestContext        *requestContext   `json:"requestContext"`
}

type requestContext struct {
	Stage      string      `json:"stage"`
	RequestID  string      `json:"requestId"`
	DomainName string      `json:"domainName"`
	Authorizer *authorizer `json:"authorizer"`
	HTTP       struct {
		Method   string `json:"method"`
		Path     string `json:"path"`
		SourceIP string `json:"sourceIp"`
	} `json:"http"`
}

type authorizer struct {
	IAM *struct {
		UserARN string `json:"userArn"`
	} `json:"iam"`
	JWT *struct {
		Claims map[string]any `json:"claims"`
	} `json:"jwt"`
}

// request builds the *http.Request an event describes. Errors are
// invalid_argument.
func (a *Adapter) request(ctx context.Context, ev *event) (*http.Request, error) {
	rc := ev.RequestContext
	if rc == nil {
		return nil, errcode.New(errcode.InvalidArgument, "event has no requestContext: not an API Gateway HTTP API (payload 2.0) or function URL event")
	}
	if ev.Version != "" && ev.Version != "2.0" {
		return nil, errcode.New(errcode.InvalidArgument, "event payload version %q is not supported; configure the integration for payload format 2.0", ev.Version)
	}
	method := rc.HTTP.Method
	if method == "" || strings.ContainsAny(method, " \t\r\n/") {
		return nil, errcode.New(errcode.InvalidArgument, "event has no usable requestContext.http.method")
	}
	path := ev.RawPath
	if path == "" {
		path = rc.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		return nil, errcode.New(errcode.InvalidArgument, "event has no usable rawPath: it must start with /")
	}
	// A named stage's invoke URL carries the stage as the first segment.
	if s := rc.Stage; s != "" && s != "$default" && strings.HasPrefix(path, "/"+s+"/") {
		path = path[len(s)+1:]
	}
	query := ev.RawQueryString
	if query == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			for _, part := range strings.Split(v, ",") {
				q.Add(k, part)
			}
		}
		query = q.Encode()
	}
	target := path
	if query != "" {
		target += "?" + query
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "event rawPath and rawQueryString do not form a valid request URI")
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, errcode.New(errcode.InvalidArgument, "event body is marked isBase64Encoded but is not valid base64")
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "event has no usable requestContext.http.method")
	}
	req.URL = u
	req.RequestURI = target
	req.ContentLength = int64(len(body))
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = rc.DomainName
	}
	req.Header.Del("Host")
	req.RemoteAddr = rc.HTTP.SourceIP
	if rc.RequestID != "" && req.Header.Get("X-Request-Id") == "" {
		req.Header.Set("X-Request-Id", rc.RequestID)
	}
	return req, nil
}

// principal maps the authorizer identity to a principal. ok is false when
// the event carries none. An identity that is not a valid principal name is
// an unauthenticated error.
func (a *Adapter) principal(az *authorizer) (p identity.Principal, ok bool, err error) {
	if az == nil {
		return p, false, nil
	}
	var name string
	switch {
	case az.IAM != nil && az.IAM.UserARN != "":
		name = az.IAM.UserARN
	case az.JWT != nil:
		sub, _ := az.JWT.Claims["sub"].(string)
		name = sub
	}
	if name == "" {
		return p, false, nil
	}
	if err := identity.ValidateName(name); err != nil {
		return p, false, errcode.Wrap(errcode.Unauthenticated, err, "the authorizer identity is not a valid principal name")
	}
	p = identity.Principal{Name: name, Role: identity.Member}
	if a.admins[name] {
		p.Role = identity.Admin
	}
	return p, true, nil
}

// run serves req and converts the result. A handler panic is a 500 that
// says nothing of its cause; the log gets the stack, never the panic value.
func (a *Adapter) run(req *http.Request) (resp events.APIGatewayV2HTTPResponse) {
	w := &responseWriter{header: http.Header{}}
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("handler panicked", "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			resp = errorResponse(http.StatusInternalServerError, errcode.Internal, "internal error")
		}
	}()
	a.h.ServeHTTP(w, req)
	return w.response()
}

func (a *Adapter) reject(status int, code errcode.Code, msg string, cause error) events.APIGatewayV2HTTPResponse {
	attrs := []any{"status", status, "code", string(code), "reason", msg}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(cause, &syntax): // its text quotes a character of the event
		attrs = append(attrs, "cause", fmt.Sprintf("JSON syntax error at offset %d", syntax.Offset))
	case errors.As(cause, &typ):
		attrs = append(attrs, "cause", fmt.Sprintf("JSON %s where %s.%s needs %s", typ.Value, typ.Struct, typ.Field, typ.Type))
	case cause != nil && errcode.Of(cause) != errcode.Internal:
		attrs = append(attrs, "cause", errcode.Message(cause))
	}
	a.log.Warn("rejected event", attrs...)
	return errorResponse(status, code, msg)
}

// errorResponse renders the API's error body.
func errorResponse(status int, code errcode.Code, msg string) events.APIGatewayV2HTTPResponse {
	type body struct {
		Code    errcode.Code `json:"code"`
		Message string       `json:"message"`
	}
	b, _ := json.Marshal(struct {
		Error body `json:"error"`
	}{body{code, msg}})
	h := http.Header{}
	httpapi.SetSecurityHeaders(h)
	h.Set("Content-Type", "application/json; charset=utf-8")
	resp := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: map[string]string{}, Body: string(b)}
	for k, vs := range h {
		resp.Headers[k] = strings.Join(vs, ",")
	}
	return resp
}

// responseWriter records what the handler writes.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// response converts the recorded response. Header values with several
// entries are joined with commas, Set-Cookie goes to Cookies, and a body
// that is not UTF-8 is base64-encoded. The security headers every response
// carries are added where the handler set none of its own.
func (w *responseWriter) response() events.APIGatewayV2HTTPResponse {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	security := http.Header{}
	httpapi.SetSecurityHeaders(security)
	for k, vs := range security {
		if _, set := w.header[k]; !set {
			w.header[k] = vs
		}
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: w.status, Headers: map[string]string{}}
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	if b := w.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b)
		resp.IsBase64Encoded = true
	}
	return resp
}
