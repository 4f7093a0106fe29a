package dynalite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
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

	target string

	mu       sync.Mutex
	calls    map[string]int
	faults   map[string][]Fault
	oldItems bool
	keys     map[string][]string // table → key attribute names
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
	p := &Proxy{listener: ln, target: strings.TrimSuffix(target, "/"), calls: map[string]int{}, faults: map[string][]Fault{}, keys: map[string][]string{}}
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
		p.mu.Lock()
		oldItems := p.oldItems
		p.mu.Unlock()
		if oldItems && (op == "PutItem" || op == "UpdateItem" || op == "DeleteItem") {
			p.serveWithOldItem(w, r, forward)
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

// ReturnOldItemOnConditionFailure makes the proxy add what dynalite leaves
// out and DynamoDB sends: the item as it was, in the
// ConditionalCheckFailedException of a write that asked for it with
// ReturnValuesOnConditionCheckFailure=ALL_OLD. The proxy reads the item
// with a GetItem of its own, which it does not count.
func (p *Proxy) ReturnOldItemOnConditionFailure(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.oldItems = on
}

func (p *Proxy) serveWithOldItem(w http.ResponseWriter, r *http.Request, forward http.Handler) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	rec := httptest.NewRecorder()
	forward.ServeHTTP(rec, r)
	resp := rec.Body.Bytes()

	var in struct {
		TableName                           string
		Key, Item                           map[string]json.RawMessage
		ReturnValuesOnConditionCheckFailure string
	}
	if rec.Code == http.StatusBadRequest && bytes.Contains(resp, []byte("ConditionalCheckFailedException")) &&
		json.Unmarshal(body, &in) == nil && in.ReturnValuesOnConditionCheckFailure == "ALL_OLD" {
		key := in.Key
		if key == nil {
			key = p.keyOf(r, in.TableName, in.Item)
		}
		var got struct{ Item json.RawMessage }
		var e map[string]json.RawMessage
		if key != nil && p.sub(r, "GetItem", map[string]any{"TableName": in.TableName, "Key": key, "ConsistentRead": true}, &got) == nil &&
			len(got.Item) > 0 && json.Unmarshal(resp, &e) == nil {
			e["Item"] = got.Item
			resp, _ = json.Marshal(e)
		}
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" && k != "X-Amz-Crc32" {
			w.Header()[k] = v
		}
	}
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(resp)), 10))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(resp)
}

// keyOf picks the table's key attributes out of an item.
func (p *Proxy) keyOf(r *http.Request, table string, item map[string]json.RawMessage) map[string]json.RawMessage {
	p.mu.Lock()
	names, ok := p.keys[table]
	p.mu.Unlock()
	if !ok {
		var d struct {
			Table struct {
				KeySchema []struct{ AttributeName string }
			}
		}
		if p.sub(r, "DescribeTable", map[string]any{"TableName": table}, &d) != nil {
			return nil
		}
		for _, k := range d.Table.KeySchema {
			names = append(names, k.AttributeName)
		}
		p.mu.Lock()
		p.keys[table] = names
		p.mu.Unlock()
	}
	key := map[string]json.RawMessage{}
	for _, n := range names {
		key[n] = item[n]
	}
	return key
}

// sub makes a call of the proxy's own to the target with the headers of r
// (dynalite checks that a signature is present, not that it is right).
func (p *Proxy) sub(r *http.Request, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, p.target+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = r.Header.Clone()
	req.Header.Del("Content-Length")
	req.Header.Del("Accept-Encoding")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", op, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
