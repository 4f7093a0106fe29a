// Package eventbridge is a local Amazon EventBridge for tests: it speaks the
// AWS JSON 1.1 protocol of PutEvents (X-Amz-Target AWSEvents.PutEvents) to
// the official SDK client (aws-sdk-go-v2/service/eventbridge), keeps every
// entry it accepted in order, and lets a test read them back (Entries). It
// knows the buses it was created with ("default" always); an entry for
// another bus fails with ResourceNotFoundException in its result, as
// EventBridge reports per-entry failures.
package eventbridge

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lockwell/lockwell/localdev/awsjson"
)

// Entry is one accepted event.
type Entry struct {
	EventID    string
	Bus        string
	Source     string
	DetailType string
	Detail     json.RawMessage
	Resources  []string
	Time       time.Time
}

// Server is the local EventBridge. Safe for concurrent use.
type Server struct {
	*awsjson.Server
	mu      sync.Mutex
	buses   map[string]bool
	entries []Entry
	next    int
}

// New returns an EventBridge with the default bus and buses.
func New(buses ...string) *Server {
	s := &Server{Server: awsjson.NewServer("AWSEvents", "1.1"), buses: map[string]bool{"default": true}}
	for _, b := range buses {
		s.buses[b] = true
	}
	s.Handle("PutEvents", s.putEvents)
	return s
}

// Entries returns the accepted entries, oldest first.
func (s *Server) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Entry(nil), s.entries...)
}

type putEventsInput struct {
	Entries []struct {
		Source       *string
		DetailType   *string
		Detail       *string
		EventBusName *string
		Resources    []string
		Time         *float64
	}
}

type resultEntry struct {
	EventId      string `json:",omitempty"`
	ErrorCode    string `json:",omitempty"`
	ErrorMessage string `json:",omitempty"`
}

func (s *Server) putEvents(_ *http.Request, body []byte) (any, error) {
	var in putEventsInput
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if n := len(in.Entries); n < 1 || n > 10 {
		return nil, awsjson.Errorf("ValidationException", "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct {
		FailedEntryCount int
		Entries          []resultEntry
	}{}
	for _, e := range in.Entries {
		bus := "default"
		if e.EventBusName != nil && *e.EventBusName != "" {
			bus = *e.EventBusName
		}
		var detail map[string]any
		switch {
		case e.Source == nil || *e.Source == "" || e.DetailType == nil || *e.DetailType == "" || e.Detail == nil:
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Parameters Source, DetailType and Detail are required"})
		case json.Unmarshal([]byte(*e.Detail), &detail) != nil:
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."})
		case !s.buses[bus]:
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "ResourceNotFoundException", ErrorMessage: fmt.Sprintf("Event bus %s does not exist.", bus)})
		default:
			s.next++
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.next)
			at := time.Now().UTC()
			if e.Time != nil {
				at = time.Unix(0, int64(*e.Time*1e9)).UTC()
			}
			s.entries = append(s.entries, Entry{
				EventID: id, Bus: bus, Source: *e.Source, DetailType: *e.DetailType,
				Detail: json.RawMessage(*e.Detail), Resources: e.Resources, Time: at,
			})
			out.Entries = append(out.Entries, resultEntry{EventId: id})
			continue
		}
		out.FailedEntryCount++
	}
	return out, nil
}

// Listen serves s on addr (use "127.0.0.1:0") until stop is called and
// returns the endpoint URL.
func (s *Server) Listen(addr string) (endpoint string, stop func() error, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), srv.Close, nil
}

// Start serves a new Server with buses on a free 127.0.0.1 port for the
// test and returns it with its endpoint URL.
func Start(t testing.TB, buses ...string) (*Server, string) {
	t.Helper()
	s := New(buses...)
	endpoint, stop, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start local EventBridge: %v", err)
	}
	t.Cleanup(func() { _ = stop() })
	return s, endpoint
}
