// Package awsjson serves the AWS JSON 1.0/1.1 wire protocol that the official
// AWS SDK clients speak to services such as Secrets Manager and KMS: every
// call is a POST to "/" with the operation in the X-Amz-Target header
// ("<ServicePrefix>.<Operation>"), a JSON body, and a SigV4 Authorization
// header. Errors are a 4xx/5xx status with {"__type": ..., "message": ...}.
//
// It is the shared skeleton of Lockwell's local protocol servers
// (localdev/awssecretsmanager, localdev/kms); each registers its operations.
// Signatures are required to be present and well-formed SigV4 but are not
// verified: these servers are for tests and local development only.
package awsjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Operation handles one API call: it decodes its own input from body and
// returns the value to encode as the response, or an *Error.
type Operation func(r *http.Request, body []byte) (any, error)

// Error is an AWS service error: Type is the exception name the SDK maps to
// a typed error (for example "ResourceNotFoundException").
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Errorf returns a client error (400) of the exception type.
func Errorf(typ, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// Server routes AWS JSON requests to operations.
type Server struct {
	prefix      string // target prefix, e.g. "secretsmanager"
	contentType string // "application/x-amz-json-1.1"

	mu     sync.Mutex
	ops    map[string]Operation
	faults map[string][]*Error // injected failures, consumed in order
	calls  map[string]int
}

// NewServer returns a server for the target prefix and JSON protocol version
// ("1.0" or "1.1").
func NewServer(targetPrefix, jsonVersion string) *Server {
	return &Server{
		prefix:      targetPrefix,
		contentType: "application/x-amz-json-" + jsonVersion,
		ops:         map[string]Operation{},
		faults:      map[string][]*Error{},
		calls:       map[string]int{},
	}
}

// Handle registers an operation by name, for example "CreateSecret".
func (s *Server) Handle(name string, op Operation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[name] = op
}

// InjectFault makes the next call of the operation fail with e, before the
// operation runs. Several faults queue up. Tests use it for throttling and
// outages ("ThrottlingException", Status 400; "InternalServiceError", 500).
func (s *Server) InjectFault(operation string, e *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[operation] = append(s.faults[operation], e)
}

// ClearFaults drops every fault still queued, so one test's leftovers do not
// fail the next.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string][]*Error{}
}

// Calls returns how many requests for the operation arrived, faults included.
func (s *Server) Calls(operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[operation]
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		s.fail(w, &Error{Status: http.StatusNotFound, Type: "UnknownOperationException", Message: "POST / only"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		s.fail(w, &Error{Status: http.StatusBadRequest, Type: "MissingAuthenticationTokenException", Message: "request is not signed with SigV4"})
		return
	}
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, s.prefix+".")
	s.mu.Lock()
	op := s.ops[name]
	s.calls[name]++
	var fault *Error
	if q := s.faults[name]; len(q) > 0 {
		fault, s.faults[name] = q[0], q[1:]
	}
	s.mu.Unlock()
	if !ok || op == nil {
		s.fail(w, &Error{Status: http.StatusBadRequest, Type: "UnknownOperationException", Message: "unknown operation " + target})
		return
	}
	if fault != nil {
		s.fail(w, fault)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		s.fail(w, Errorf("SerializationException", "cannot read body"))
		return
	}
	out, err := op(r, body)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Status: http.StatusInternalServerError, Type: "InternalServiceError", Message: err.Error()}
		}
		s.fail(w, e)
		return
	}
	w.Header().Set("Content-Type", s.contentType)
	if out == nil {
		out = struct{}{}
	}
	_ = json.NewEncoder(w).Encode(out)
}

// Decode unmarshals an operation's input, answering malformed JSON the way
// AWS does.
func Decode(body []byte, v any) error {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return Errorf("SerializationException", "malformed request body")
	}
	return nil
}

func (s *Server) fail(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", s.contentType)
	w.Header().Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Type, "message": e.Message})
}
