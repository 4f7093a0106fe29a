package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// statusOf is the one table that maps error codes to HTTP statuses. A code
// missing here is answered as internal.
var statusOf = map[errcode.Code]int{
	errcode.InvalidArgument:      http.StatusBadRequest,
	errcode.Unauthenticated:      http.StatusUnauthorized,
	errcode.PermissionDenied:     http.StatusForbidden,
	errcode.NotFound:             http.StatusNotFound,
	errcode.AlreadyExists:        http.StatusConflict,
	errcode.FailedPrecondition:   http.StatusPreconditionFailed,
	errcode.TooLarge:             http.StatusRequestEntityTooLarge,
	errcode.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	errcode.Unavailable:          http.StatusServiceUnavailable,
	errcode.Internal:             http.StatusInternalServerError,
}

// protocolError is the one failure of HTTP itself with a status beyond the
// table: 405, with an Allow header; its body code is invalid_argument.
type protocolError struct {
	status int
	msg    string
	allow  []string // for 405
}

func (e *protocolError) Error() string { return e.msg }

var errNoRoute = errcode.New(errcode.NotFound, "no such route; the API is under /api/v1 (see the README)")

func methodNotAllowed(methods []string) route {
	return route{op: "unknown", handler: func(_ *API, _ http.ResponseWriter, r *http.Request, _ *record) error {
		return &protocolError{
			status: http.StatusMethodNotAllowed,
			msg:    "method " + r.Method + " is not allowed here; use " + strings.Join(methods, " or "),
			allow:  methods,
		}
	}}
}

// errorBody is the API's error format.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    errcode.Code `json:"code"`
	Message string       `json:"message"`
}

// statusAndBody returns what the client gets for err. Internal errors get a
// generic message whatever their own says; the cause is logged instead.
func statusAndBody(err error) (int, errorBody) {
	var pe *protocolError
	if errors.As(err, &pe) {
		return pe.status, errorBody{errorDetail{errcode.InvalidArgument, pe.msg}}
	}
	code := errcode.Of(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = errcode.Internal, http.StatusInternalServerError
	}
	msg := errcode.Message(err)
	if code == errcode.Internal {
		msg = "internal error; the server log has the details"
	}
	return status, errorBody{errorDetail{code, msg}}
}

// writeError answers err in the API's error format.
func (a *API) writeError(w http.ResponseWriter, err error) {
	status, body := statusAndBody(err)
	h := w.Header()
	var pe *protocolError
	if errors.As(err, &pe) && pe.allow != nil {
		h.Set("Allow", strings.Join(pe.allow, ", "))
	}
	switch status {
	case http.StatusUnauthorized:
		if c, ok := a.auth.(challenger); ok {
			h.Set("WWW-Authenticate", c.Challenge())
		}
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// WriteError answers err in the API's error format with the status of the
// one table, for handlers in front of the API (the dashboard's session
// routes) that must answer exactly as the API does. It sets no challenge
// header and writes no security headers; the caller does.
func WriteError(w http.ResponseWriter, err error) {
	status, body := statusAndBody(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}
