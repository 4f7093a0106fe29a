package dynalite

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Proxy stands between the SDK and a DynamoDB endpoint on 127.0.0.1: it
// counts calls per operation (what `make bench` reports, and what tests
// hold the backend to) and answers injected faults instead of forwarding,
// which is how tests prove that throttling is retried. Safe for concurrent
// use.
type Proxy struct {
	listener net.Listener
	server   *http.Server

	mu     sync.Mutex
	calls  map[string]int
	faults map[string][]Fault
}

// Fault is an error answer of DynamoDB's JSON protocol.
type Fault struct {
	Status int    // 400 for throttling, 500 for InternalServerError
	Type   string // e.g. "ProvisionedThroughputExceededException"
	// Applied forwards the request first and loses the real answer: the
	// write happened, the client sees an error (an ambiguous failure).
	Applied bool
}

// Pass is a fault that is none: queued before a real fault, it lets a call
// through, so that the fault hits a later call of the same operation.
var Pass = Fault{}

// Throttled is the fault DynamoDB answers when a table or partition is over
// its capacity.
var Throttled = Fault{Status: http.StatusBadRequest, Type: "ProvisionedThroughputExceededException"}

// NewProxy starts a proxy to target (for example a Process's Endpoint) on a
// free port of 127.0.0.1.
func NewProxy(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{listener: ln, calls: map[string]int{}, faults: map[string][]Fault{}}
	forward := httputil.NewSingleHostReverseProxy(u)
	p.server = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := operation(r)
		p.mu.Lock()
		p.calls[op]++
		var fault *Fault
		if q := p.faults[op]; len(q) > 0 {
			fault, p.faults[op] = &q[0], q[1:]
		}
		p.mu.Unlock()
		if fault != nil && fault.Status == 0 {
			fault = nil // Pass: forwarded as usual
		}
		if fault != nil {
			if fault.Applied {
				forward.ServeHTTP(httptest.NewRecorder(), r)
			}
			body, _ := json.Marshal(map[string]string{
				"__type": "com.amazonaws.dynamodb.v20120810#" + fault.Type, "message": "injected by the test proxy",
			})
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)) // the SDK checks it
			w.WriteHeader(fault.Status)
			_, _ = w.Write(body)
			return
		}
		forward.ServeHTTP(w, r)
	})}
	go func() { _ = p.server.Serve(ln) }()
	return p, nil
}

// operation is the DynamoDB operation of a request: "DynamoDB_20120810.GetItem"
// gives "GetItem".
func operation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return t
}

// URL returns the proxy's endpoint, for AWS_ENDPOINT_URL_DYNAMODB.
func (p *Proxy) URL() string { return "http://" + p.listener.Addr().String() }

// Inject makes the next n calls of the operation fail with f.
func (p *Proxy) Inject(op string, f Fault, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.faults[op] = append(p.faults[op], f)
	}
}

// Calls returns the calls per operation since the last Reset, faults
// included.
func (p *Proxy) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.calls))
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

// Reset zeroes the counts and drops pending faults.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
	p.faults = map[string][]Fault{}
}

// Close stops the proxy.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p.server.Shutdown(ctx)
}
