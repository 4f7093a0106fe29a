// Package client is the Go client of Lockwell's HTTP API (/api/v1). The CLI
// uses it, and so can any Go program that needs secrets:
//
//	c, err := client.New("https://lockwell.example.com", client.BearerToken(token))
//	s, err := c.GetSecretByName(ctx, "db")      // private first, then public
//	password := s.Values["password"]
//
// Every error a method returns is classified with package errcode, so
// errcode.Of(err) gives the API's error code (not_found, already_exists,
// failed_precondition, ...); errors.As(err, &*client.APIError) gives the HTTP
// status too. Transport failures are unavailable.
//
// Requests that are safe to repeat are retried with jittered backoff through
// package retry when they fail unavailable (a 503, 429, 502 or 504, or a
// network error): reads, deletes, and creates and updates, which always carry
// an Idempotency-Key so that the server applies them once. Token creation is
// never retried. The caller's context bounds every call, retries included.
//
// The client never logs, and never puts a value, token or credential into an
// error. A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/retry"
)

// APIPrefix is the path every API route starts with.
const APIPrefix = "/api/v1"

// maxResponseBytes bounds a response body: a secret is at most 64 KiB of
// keys and values, a list page at most 1,000 items of metadata.
const maxResponseBytes = 16 << 20

// Client calls one Lockwell server.
type Client struct {
	base      *url.URL // scheme, host and any path prefix (an API Gateway stage), without APIPrefix
	auth      Authenticator
	http      *http.Client
	retry     retry.Policy
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the http.Client (timeouts, proxies, TLS). The default
// is a client with a 30-second timeout per attempt.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetryPolicy sets the retry policy; retry.Policy{Attempts: 1} disables
// retries.
func WithRetryPolicy(p retry.Policy) Option { return func(c *Client) { c.retry = p } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a Client for the server at baseURL ("https://host",
// "https://id.execute-api.eu-west-1.amazonaws.com/prod"; a trailing /api/v1
// is accepted). auth may be nil for a server without authentication.
// Errors (invalid_argument): a URL that is not http(s), or that carries a
// user name, password, query or fragment (credentials never go in URLs).
func New(baseURL string, auth Authenticator, opts ...Option) (*Client, error) {
	u, err := ParseServerURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      u,
		auth:      auth,
		http:      &http.Client{Timeout: 30 * time.Second},
		retry:     retry.Default,
		userAgent: "lockwell-go-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// ParseServerURL checks and normalises a server URL as New does.
func ParseServerURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errcode.New(errcode.InvalidArgument, "no server URL: set --url, LOCKWELL_URL or run lockwell login")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, errcode.New(errcode.InvalidArgument, "server URL must look like https://host[:port][/path]")
	}
	if u.User != nil {
		return nil, errcode.New(errcode.InvalidArgument, "server URL must not contain a user name or password; pass credentials separately")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errcode.New(errcode.InvalidArgument, "server URL must not have a query or fragment")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), APIPrefix)
	u.RawPath = ""
	return u, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// APIError is an error response of the API.
type APIError struct {
	Status  int          // HTTP status
	Code    errcode.Code // the API's error code
	Message string       // the server's message; never holds a value
}

func (e *APIError) Error() string { return e.Message }

// Unwrap makes errcode.Of and errcode.Message see the API's code and message.
func (e *APIError) Unwrap() error { return &errcode.Error{Code: e.Code, Message: e.Message} }

// statusCodes maps statuses to codes for responses that are not Lockwell's
// (an API gateway's or a proxy's).
var statusCodes = map[int]errcode.Code{
	http.StatusBadRequest:            errcode.InvalidArgument,
	http.StatusUnauthorized:          errcode.Unauthenticated,
	http.StatusForbidden:             errcode.PermissionDenied,
	http.StatusNotFound:              errcode.NotFound,
	http.StatusConflict:              errcode.AlreadyExists,
	http.StatusPreconditionFailed:    errcode.FailedPrecondition,
	http.StatusRequestEntityTooLarge: errcode.TooLarge,
	http.StatusUnsupportedMediaType:  errcode.UnsupportedMediaType,
	http.StatusTooManyRequests:       errcode.Unavailable,
	http.StatusBadGateway:            errcode.Unavailable,
	http.StatusServiceUnavailable:    errcode.Unavailable,
	http.StatusGatewayTimeout:        errcode.Unavailable,
}

// request is one API call.
type request struct {
	method string
	path   string // after APIPrefix
	query  url.Values
	body   any
	header http.Header

	retry           bool // safe to repeat
	idempotencyKey  bool // send an Idempotency-Key (which also makes it safe to repeat)
	deleteSemantics bool // a not_found after an attempt with an unknown outcome means done
}

// do performs r, retrying as the package comment says, and decodes a 2xx
// body into out when out is not nil. It returns the response headers.
func (c *Client) do(ctx context.Context, r request, out any) (http.Header, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot encode the request")
		}
	}
	header := r.header.Clone()
	if header == nil {
		header = http.Header{}
	}
	if r.idempotencyKey {
		header.Set("Idempotency-Key", uuid.NewString())
		r.retry = true
	}
	policy := c.retry
	if !r.retry {
		policy = retry.Policy{Attempts: 1}
	}
	var respHeader http.Header
	uncertain := false // an earlier attempt may have taken effect
	err := retry.Do(ctx, policy, func(ctx context.Context) error {
		h, err := c.attempt(ctx, r, header, body, out)
		if err == nil {
			respHeader = h
			return nil
		}
		if r.deleteSemantics && uncertain && errcode.Is(err, errcode.NotFound) {
			return nil // the earlier attempt deleted it
		}
		if errcode.Is(err, errcode.Unavailable) {
			uncertain = true
		}
		return err
	})
	return respHeader, err
}

func (c *Client) attempt(ctx context.Context, r request, header http.Header, body []byte, out any) (http.Header, error) {
	u := *c.base
	u.Path = c.base.Path + APIPrefix + r.path
	u.RawQuery = r.query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), rd)
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "cannot build the request")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.auth != nil {
		if err := c.auth.Authenticate(ctx, req, body); err != nil {
			return nil, err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, c.base.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, transportError(ctx, c.base.Host, err)
	}
	if len(data) > maxResponseBytes {
		return nil, errcode.New(errcode.Internal, "the response of %s %s is larger than %d bytes", r.method, r.path, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp, data)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, errcode.New(errcode.Internal, "the server's response to %s %s is not the expected JSON", r.method, r.path)
		}
	}
	return resp.Header, nil
}

// transportError classifies a failure to get a response. Its message names
// the host and the network error, which hold no credentials (URLs never do).
func transportError(ctx context.Context, host string, err error) error {
	if ctx.Err() != nil {
		return errcode.Wrap(errcode.Unavailable, ctx.Err(), "no response from %s in time", host)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errcode.Wrap(errcode.Unavailable, err, "no response from %s in time", host)
	}
	return errcode.Wrap(errcode.Unavailable, err, "cannot reach %s: %s", host, err.Error())
}

// decodeError turns an error response into an *APIError. Lockwell's body is
// {"error": {"code", "message"}}; any other body (a gateway's) is not
// echoed, because it may quote request headers, credentials included.
func decodeError(resp *http.Response, data []byte) error {
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error != nil && body.Error.Code != "" {
		return &APIError{Status: resp.StatusCode, Code: errcode.Code(body.Error.Code), Message: body.Error.Message}
	}
	code, ok := statusCodes[resp.StatusCode]
	if !ok {
		code = errcode.Internal
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode) + " (not a Lockwell error response: check the server URL"
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		msg += " and the credentials"
	}
	return &APIError{Status: resp.StatusCode, Code: code, Message: msg + ")"}
}

// IsValidID reports whether s is a secret id: a UUID in canonical form.
func IsValidID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

func idPath(id string) (string, error) {
	if !IsValidID(id) {
		return "", errcode.New(errcode.InvalidArgument, "%q is not a secret id (a UUID)", shorten(id))
	}
	return "/secrets/" + url.PathEscape(id), nil
}

func shorten(s string) string {
	if len(s) > 64 {
		return string([]rune(s[:64])) + "…"
	}
	return s
}

// etagVersion reads the version from an ETag: "<version>".
func etagVersion(h http.Header) (int64, bool) {
	tag := strings.TrimPrefix(h.Get("ETag"), "W/")
	v, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64)
	return v, err == nil
}

func ifMatch(version int64) string { return fmt.Sprintf("%q", strconv.FormatInt(version, 10)) }
