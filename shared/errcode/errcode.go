// Package errcode classifies every error Lockwell returns by a small set of
// codes. Each layer that first sees a failure classifies it once, with New or
// Wrap; the layers above only read the code with Of. The HTTP handlers map
// codes to statuses in one table (see package httpapi).
//
// An Error's Message is shown to API clients. It must never contain a secret
// value, a token or a credential: say which key or which limit, never what was
// stored. The wrapped cause (Err) is for logs and is never sent to clients, so
// it must obey the same rule.
package errcode

import (
	"context"
	"errors"
	"fmt"
)

// Code is the class of a failure. Its string form is the API's error code.
type Code string

// The codes, with the HTTP status the API gives each.
const (
	InvalidArgument      Code = "invalid_argument"       // 400: bad input; nothing was stored
	Unauthenticated      Code = "unauthenticated"        // 401: no or unknown credentials
	PermissionDenied     Code = "permission_denied"      // 403: known caller, not allowed
	NotFound             Code = "not_found"              // 404: no such secret, or not visible to the caller
	AlreadyExists        Code = "already_exists"         // 409: a secret with that name already exists in that scope
	FailedPrecondition   Code = "failed_precondition"    // 412: the expected version is stale
	TooLarge             Code = "too_large"              // 413: over a size or count limit
	UnsupportedMediaType Code = "unsupported_media_type" // 415: the body is not application/json in UTF-8
	Unavailable          Code = "unavailable"            // 503: a dependency is down or throttling; retry later
	Internal             Code = "internal"               // 500: a bug or an unexpected failure
)

// Error is a classified error.
type Error struct {
	Code    Code
	Message string // safe to show to clients: never a value, token or credential
	Err     error  // the cause, for logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an Error with the code and a formatted client-safe message.
func New(code Code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap classifies err with code and a client-safe message. The cause stays
// reachable through errors.Unwrap for logs.
func Wrap(code Code, err error, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Of returns the code of err: the code of the first *Error in its chain,
// Unavailable for a deadline that ran out, and Internal for anything
// unclassified. Of(nil) is "".
func Of(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return Unavailable
	}
	return Internal
}

// Message returns the client-safe message of err. Unclassified errors get a
// generic message, because their text may carry anything.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	switch Of(err) {
	case Unavailable:
		return "the request did not finish in time; retry later"
	default:
		return "internal error"
	}
}

// Is reports whether err has the code.
func Is(err error, code Code) bool { return err != nil && Of(err) == code }
