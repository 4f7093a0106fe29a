// Package vault is a local HashiCorp Vault for tests and local development:
// an http.Handler speaking the parts of Vault's real HTTP API that the
// official client (github.com/hashicorp/vault/api) uses for KV v2 secrets
// and token/AppRole auth. It is not Vault: policies are reduced to "a valid,
// unexpired token of the namespace (or a parent) may do anything, otherwise
// 403", and there is no storage backend, seal, audit or lease system. The
// real Vault builds only as a 738 MB library inside go test (see
// ../shared/reference/local-emulators.md), which is why this exists.
//
// Implemented, with Vault's paths, status codes and JSON shapes:
//   - KV v2 under any number of mounts (EnableKV; "secret" in the root
//     namespace by default): /v1/<mount>/data/<path> GET (?version=N), POST
//     and PUT (options.cas, cas_required), DELETE (soft-deletes the latest
//     version); /v1/<mount>/metadata/<path> GET, LIST (or GET ?list=true),
//     POST/PUT (max_versions, cas_required, custom_metadata), DELETE;
//     /v1/<mount>/delete|undelete|destroy/<path> with {"versions": [...]}.
//     Versions beyond max_versions (mount default 10) are dropped, oldest
//     first; reading a deleted or destroyed version answers 404 with its
//     metadata and null data, as Vault does.
//   - Tokens in the X-Vault-Token header: auth/token/lookup-self and
//     auth/token/renew-self (TTLs, max TTL, renewable), and AppRole login at
//     /v1/auth/approle/login with role_id and secret_id.
//   - Namespaces in the X-Vault-Namespace header: each namespace has its own
//     mounts and AppRoles; a token works in its namespace and the ones below.
//   - sys/health, and Vault's error body {"errors": [...]}.
//
// A Server is safe for concurrent use. Tests make it fail with InjectFault
// and count requests with Calls; they move its clock with Now.
package vault

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// MaxRequestBytes is Vault's default max_request_size (32 MiB).
const MaxRequestBytes = 32 << 20

// DefaultMaxVersions is KV v2's default number of versions kept.
const DefaultMaxVersions = 10

// Kind names a class of request, for InjectFault and Calls.
type Kind string

// The request kinds.
const (
	DataRead       Kind = "data-read"
	DataWrite      Kind = "data-write"
	DataDelete     Kind = "data-delete"
	MetadataRead   Kind = "metadata-read"
	MetadataList   Kind = "metadata-list"
	MetadataWrite  Kind = "metadata-write"
	MetadataDelete Kind = "metadata-delete"
	VersionsDelete Kind = "delete"
	Undelete       Kind = "undelete"
	Destroy        Kind = "destroy"
	Login          Kind = "approle-login"
	LookupSelf     Kind = "lookup-self"
	RenewSelf      Kind = "renew-self"
	Health         Kind = "health"
)

// Server is the local Vault. Create it with New.
type Server struct {
	// RootToken is a non-expiring token of the root namespace.
	RootToken string
	// Now is the clock; time.Now unless replaced before use.
	Now func() time.Time

	mu         sync.Mutex
	namespaces map[string]*namespace // "" is the root namespace
	tokens     map[string]*token
	faults     map[Kind][]Fault
	calls      map[Kind]int
}

// Fault is an injected failure: the status and the error strings returned.
type Fault struct {
	Status int
	Errors []string
}

type namespace struct {
	mounts   map[string]*mount
	appRoles map[string]*AppRole // by role id
}

type mount struct {
	maxVersions int
	casRequired bool
	secrets     map[string]*kvSecret
}

type kvSecret struct {
	versions       map[int]*kvVersion
	current        int
	oldest         int
	maxVersions    int
	casRequired    bool
	customMetadata map[string]string
	created        time.Time
	updated        time.Time
}

type kvVersion struct {
	data      map[string]any
	created   time.Time
	deleted   *time.Time
	destroyed bool
}

type token struct {
	id, accessor, namespace, displayName string
	policies                             []string
	created, expires, maxExpires         time.Time // zero expires: no expiry
	ttl                                  time.Duration
	renewable                            bool
}

// AppRole is a role that AppRole login accepts.
type AppRole struct {
	RoleID, SecretID string
	// TokenTTL and TokenMaxTTL bound the tokens login issues; 0 means one
	// hour and 24 hours.
	TokenTTL, TokenMaxTTL time.Duration
	Policies              []string
}

// New returns a Vault with the root namespace, a KV v2 mount "secret" in it
// (as "vault server -dev" has) and a random RootToken.
func New() *Server {
	s := &Server{
		Now:        time.Now,
		namespaces: map[string]*namespace{},
		tokens:     map[string]*token{},
		faults:     map[Kind][]Fault{},
		calls:      map[Kind]int{},
	}
	s.RootToken = "hvs.root-" + randomHex(12)
	s.tokens[s.RootToken] = &token{id: s.RootToken, accessor: randomHex(12), policies: []string{"root"}, displayName: "root", created: s.Now()}
	s.EnableKV("", "secret")
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) nsLocked(name string) *namespace {
	ns := s.namespaces[name]
	if ns == nil {
		ns = &namespace{mounts: map[string]*mount{}, appRoles: map[string]*AppRole{}}
		s.namespaces[name] = ns
	}
	return ns
}

func cleanNS(ns string) string { return strings.Trim(ns, "/") }

// EnableKV mounts a KV v2 engine at path in the namespace ("" for root),
// creating the namespace if needed. Mounting twice is a no-op.
func (s *Server) EnableKV(ns, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nsLocked(cleanNS(ns))
	path = strings.Trim(path, "/")
	if n.mounts[path] == nil {
		n.mounts[path] = &mount{secrets: map[string]*kvSecret{}}
	}
}

// ConfigureKV sets a mount's max_versions and cas_required, as
// /v1/<mount>/config does.
func (s *Server) ConfigureKV(ns, path string, maxVersions int, casRequired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.nsLocked(cleanNS(ns)).mounts[strings.Trim(path, "/")]; m != nil {
		m.maxVersions, m.casRequired = maxVersions, casRequired
	}
}

// AddAppRole lets AppRole login in the namespace accept the role.
func (s *Server) AddAppRole(ns string, role AppRole) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := role
	s.nsLocked(cleanNS(ns)).appRoles[role.RoleID] = &r
}

// AddToken creates a service token in the namespace with the ttl (0: no
// expiry) and returns its id.
func (s *Server) AddToken(ns string, ttl time.Duration, renewable bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked(cleanNS(ns), ttl, 0, renewable, []string{"default"}, "token").id
}

// AddRootToken makes id a non-expiring token of the root namespace, as
// "vault server -dev -dev-root-token-id" does, and returns it.
func (s *Server) AddRootToken(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = &token{id: id, accessor: randomHex(12), policies: []string{"root"}, displayName: "root", created: s.Now()}
	return id
}

// RevokeToken makes the token invalid at once.
func (s *Server) RevokeToken(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, id)
}

func (s *Server) issueLocked(ns string, ttl, maxTTL time.Duration, renewable bool, policies []string, name string) *token {
	now := s.Now()
	t := &token{id: "hvs." + randomHex(16), accessor: randomHex(12), namespace: ns, policies: policies, created: now, ttl: ttl, renewable: renewable, displayName: name}
	if ttl > 0 {
		t.expires = now.Add(ttl)
		if maxTTL > 0 {
			t.maxExpires = now.Add(maxTTL)
		}
	}
	s.tokens[t.id] = t
	return t
}

// InjectFault makes the next request of the kind fail with f before it is
// handled. Faults queue up.
func (s *Server) InjectFault(kind Kind, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[kind] = append(s.faults[kind], f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[Kind][]Fault{}
}

// Calls returns how many requests of the kind arrived, faults included.
func (s *Server) Calls(kind Kind) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

// Listen serves s on addr (use "127.0.0.1:0" for a free port) until stop is
// called, and returns the address as http://HOST:PORT.
func (s *Server) Listen(addr string) (address string, stop func() error, err error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), srv.Close, nil
}

// Start serves a new Server on a free 127.0.0.1 port for the duration of
// the test and returns it with its address (http://127.0.0.1:PORT).
func Start(t testing.TB) (*Server, string) {
	t.Helper()
	s := New()
	addr, stop, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start local Vault: %v", err)
	}
	t.Cleanup(func() { _ = stop() })
	return s, addr
}

// httpError is an error answered as {"errors": [...]}.
type httpError struct {
	status int
	errors []string
}

func fail(status int, msgs ...string) *httpError {
	if msgs == nil {
		msgs = []string{}
	}
	return &httpError{status: status, errors: msgs}
}

var errPermission = fail(http.StatusForbidden, "permission denied")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// envelope is Vault's response body around data or auth.
func envelope(data any, auth any) map[string]any {
	return map[string]any{
		"request_id": uuidish(), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": data, "wrap_info": nil, "warnings": nil, "auth": auth,
	}
}

func uuidish() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// result is what a handler returns: a status and body, or an error.
type result struct {
	status int
	body   any
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res, herr := s.serve(r)
	if herr != nil {
		writeJSON(w, herr.status, map[string]any{"errors": herr.errors})
		return
	}
	if res.status == http.StatusNoContent {
		// Vault sends the JSON content type with its empty 204 answers too.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, res.status, res.body)
}

func (s *Server) serve(r *http.Request) (result, *httpError) {
	path, ok := strings.CutPrefix(r.URL.Path, "/v1/")
	if !ok {
		return result{}, fail(http.StatusNotFound)
	}
	method := r.Method
	if method == http.MethodGet && r.URL.Query().Get("list") == "true" {
		method = "LIST"
	}
	ns := cleanNS(r.Header.Get("X-Vault-Namespace"))
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return result{}, fail(http.StatusBadRequest, "failed to read request body")
	}
	if len(body) > MaxRequestBytes {
		return result{}, fail(http.StatusRequestEntityTooLarge, "http: request body too large")
	}
	var in map[string]any
	if len(body) > 0 && method != http.MethodGet {
		if err := json.Unmarshal(body, &in); err != nil {
			return result{}, fail(http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	kind, handler := s.routeLocked(method, path, ns)
	if kind != "" {
		s.calls[kind]++
		if q := s.faults[kind]; len(q) > 0 {
			f := q[0]
			s.faults[kind] = q[1:]
			return result{}, fail(f.Status, f.Errors...)
		}
	}
	if handler == nil {
		return result{}, fail(http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", path))
	}
	if kind != Health && kind != Login {
		tok, herr := s.authLocked(r.Header.Get("X-Vault-Token"), ns)
		if herr != nil {
			return result{}, herr
		}
		return handler(request{r: r, in: in, ns: ns, tok: tok})
	}
	return handler(request{r: r, in: in, ns: ns})
}

type request struct {
	r   *http.Request
	in  map[string]any
	ns  string
	tok *token
}

type handlerFunc func(request) (result, *httpError)

// authLocked checks the token: it must exist, be unexpired and belong to
// the request's namespace or a parent of it.
func (s *Server) authLocked(id, ns string) (*token, *httpError) {
	t := s.tokens[id]
	if id == "" || t == nil {
		return nil, errPermission
	}
	if !t.expires.IsZero() && !s.Now().Before(t.expires) {
		delete(s.tokens, id)
		return nil, errPermission
	}
	if t.namespace != "" && ns != t.namespace && !strings.HasPrefix(ns, t.namespace+"/") {
		return nil, errPermission
	}
	return t, nil
}

func (s *Server) routeLocked(method, path, ns string) (Kind, handlerFunc) {
	switch path {
	case "sys/health":
		return Health, func(request) (result, *httpError) {
			return result{http.StatusOK, map[string]any{"initialized": true, "sealed": false, "standby": false, "version": "1.21.4-lockwell-local", "cluster_name": "lockwell-local"}}, nil
		}
	case "auth/approle/login":
		if method == http.MethodPost || method == http.MethodPut {
			return Login, s.loginLocked
		}
	case "auth/token/lookup-self":
		if method == http.MethodGet {
			return LookupSelf, s.lookupSelfLocked
		}
	case "auth/token/renew-self":
		if method == http.MethodPost || method == http.MethodPut {
			return RenewSelf, s.renewSelfLocked
		}
	}
	n := s.namespaces[ns]
	if n == nil {
		return "", nil
	}
	// The longest mount that prefixes the path.
	var mountPath string
	for mp := range n.mounts {
		if strings.HasPrefix(path, mp+"/") && len(mp) > len(mountPath) {
			mountPath = mp
		}
	}
	if mountPath == "" {
		return "", nil
	}
	m := n.mounts[mountPath]
	rest := strings.TrimPrefix(path, mountPath+"/")
	op, key, _ := strings.Cut(rest, "/")
	isWrite := method == http.MethodPost || method == http.MethodPut
	switch {
	case op == "data" && method == http.MethodGet:
		return DataRead, func(q request) (result, *httpError) { return s.readData(m, key, q) }
	case op == "data" && isWrite:
		return DataWrite, func(q request) (result, *httpError) { return s.writeData(m, key, q) }
	case op == "data" && method == http.MethodDelete:
		return DataDelete, func(q request) (result, *httpError) { return s.deleteLatest(m, key) }
	case op == "metadata" && method == "LIST":
		return MetadataList, func(q request) (result, *httpError) { return s.list(m, key) }
	case op == "metadata" && method == http.MethodGet:
		return MetadataRead, func(q request) (result, *httpError) { return s.readMetadata(m, key) }
	case op == "metadata" && isWrite:
		return MetadataWrite, func(q request) (result, *httpError) { return s.writeMetadata(m, key, q) }
	case op == "metadata" && method == http.MethodDelete:
		return MetadataDelete, func(q request) (result, *httpError) {
			delete(m.secrets, key)
			return result{status: http.StatusNoContent}, nil
		}
	case op == "delete" && isWrite:
		return VersionsDelete, func(q request) (result, *httpError) { return s.changeVersions(m, key, q, "delete") }
	case op == "undelete" && isWrite:
		return Undelete, func(q request) (result, *httpError) { return s.changeVersions(m, key, q, "undelete") }
	case op == "destroy" && isWrite:
		return Destroy, func(q request) (result, *httpError) { return s.changeVersions(m, key, q, "destroy") }
	}
	return "", nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func versionMetadata(n int, v *kvVersion, custom map[string]string) map[string]any {
	md := map[string]any{"created_time": rfc3339(v.created), "deletion_time": "", "destroyed": v.destroyed, "version": n, "custom_metadata": nil}
	if v.deleted != nil {
		md["deletion_time"] = rfc3339(*v.deleted)
	}
	if len(custom) > 0 {
		md["custom_metadata"] = custom
	}
	return md
}

func (s *Server) readData(m *mount, key string, q request) (result, *httpError) {
	sec := m.secrets[key]
	if key == "" || sec == nil || sec.current == 0 {
		return result{}, fail(http.StatusNotFound)
	}
	n := sec.current
	if v := q.r.URL.Query().Get("version"); v != "" {
		parsed, err := strconv.Atoi(v)
		if err != nil || parsed < 0 {
			return result{}, fail(http.StatusBadRequest, "invalid version")
		}
		if parsed != 0 {
			n = parsed
		}
	}
	v := sec.versions[n]
	if v == nil {
		return result{}, fail(http.StatusNotFound)
	}
	md := versionMetadata(n, v, sec.customMetadata)
	if v.deleted != nil || v.destroyed {
		// Vault answers 404 with the version's metadata and no data.
		return result{http.StatusNotFound, envelope(map[string]any{"data": nil, "metadata": md}, nil)}, nil
	}
	return result{http.StatusOK, envelope(map[string]any{"data": v.data, "metadata": md}, nil)}, nil
}

func (s *Server) effectiveMax(m *mount, sec *kvSecret) int {
	switch {
	case sec.maxVersions > 0:
		return sec.maxVersions
	case m.maxVersions > 0:
		return m.maxVersions
	}
	return DefaultMaxVersions
}

func (s *Server) writeData(m *mount, key string, q request) (result, *httpError) {
	if key == "" {
		return result{}, fail(http.StatusBadRequest, "missing path")
	}
	data, ok := q.in["data"].(map[string]any)
	if !ok {
		return result{}, fail(http.StatusBadRequest, "no data provided")
	}
	sec := m.secrets[key]
	current := 0
	if sec != nil {
		current = sec.current
	}
	opts, _ := q.in["options"].(map[string]any)
	casVal, hasCAS := opts["cas"]
	if (m.casRequired || (sec != nil && sec.casRequired)) && !hasCAS {
		return result{}, fail(http.StatusBadRequest, "check-and-set parameter required for this call")
	}
	if hasCAS {
		cas, ok := casVal.(float64)
		if !ok || cas != float64(int(cas)) {
			return result{}, fail(http.StatusBadRequest, "error parsing check-and-set parameter")
		}
		if int(cas) != current {
			return result{}, fail(http.StatusBadRequest, "check-and-set parameter did not match the current version")
		}
	}
	now := s.Now()
	if sec == nil {
		sec = &kvSecret{versions: map[int]*kvVersion{}, created: now}
		m.secrets[key] = sec
	}
	sec.current++
	if sec.oldest == 0 {
		sec.oldest = sec.current
	}
	v := &kvVersion{data: data, created: now}
	sec.versions[sec.current] = v
	sec.updated = now
	s.trim(m, sec)
	return result{http.StatusOK, envelope(versionMetadata(sec.current, v, sec.customMetadata), nil)}, nil
}

// trim drops the oldest versions beyond max_versions.
func (s *Server) trim(m *mount, sec *kvSecret) {
	max := s.effectiveMax(m, sec)
	for sec.current-sec.oldest+1 > max {
		delete(sec.versions, sec.oldest)
		sec.oldest++
	}
}

func (s *Server) deleteLatest(m *mount, key string) (result, *httpError) {
	if sec := m.secrets[key]; sec != nil {
		if v := sec.versions[sec.current]; v != nil && v.deleted == nil {
			now := s.Now()
			v.deleted = &now
		}
	}
	return result{status: http.StatusNoContent}, nil
}

func (s *Server) changeVersions(m *mount, key string, q request, op string) (result, *httpError) {
	raw, ok := q.in["versions"].([]any)
	if !ok || len(raw) == 0 {
		if op == "destroy" {
			return result{}, fail(http.StatusBadRequest, "no version number provided")
		}
		return result{}, fail(http.StatusBadRequest, "No version number provided") // sic: Vault's delete and undelete
	}
	sec := m.secrets[key]
	if sec == nil {
		return result{status: http.StatusNoContent}, nil
	}
	now := s.Now()
	for _, x := range raw {
		var n int
		switch x := x.(type) {
		case float64:
			n = int(x)
		case string:
			n, _ = strconv.Atoi(x)
		}
		v := sec.versions[n]
		if v == nil {
			continue
		}
		switch op {
		case "delete":
			if v.deleted == nil {
				v.deleted = &now
			}
		case "undelete":
			if !v.destroyed {
				v.deleted = nil
			}
		case "destroy":
			v.destroyed, v.data = true, nil
		}
	}
	return result{status: http.StatusNoContent}, nil
}

func (s *Server) readMetadata(m *mount, key string) (result, *httpError) {
	sec := m.secrets[key]
	if key == "" || sec == nil {
		return result{}, fail(http.StatusNotFound)
	}
	versions := map[string]any{}
	for n, v := range sec.versions {
		md := versionMetadata(n, v, nil)
		delete(md, "version")
		delete(md, "custom_metadata")
		versions[strconv.Itoa(n)] = md
	}
	oldest := sec.oldest
	data := map[string]any{
		"cas_required": sec.casRequired, "created_time": rfc3339(sec.created), "current_version": sec.current,
		"custom_metadata": nil, "delete_version_after": "0s", "max_versions": sec.maxVersions,
		"oldest_version": oldest, "updated_time": rfc3339(sec.updated), "versions": versions,
	}
	if len(sec.customMetadata) > 0 {
		data["custom_metadata"] = sec.customMetadata
	}
	return result{http.StatusOK, envelope(data, nil)}, nil
}

func (s *Server) writeMetadata(m *mount, key string, q request) (result, *httpError) {
	if key == "" {
		return result{}, fail(http.StatusBadRequest, "missing path")
	}
	// Validate everything before changing anything: a refused write leaves
	// no trace.
	maxVersions, setMax := -1, false
	if v, ok := q.in["max_versions"]; ok {
		f, ok := v.(float64)
		if !ok || f < 0 {
			return result{}, fail(http.StatusBadRequest, "max_versions must be a non-negative number")
		}
		maxVersions, setMax = int(f), true
	}
	var custom map[string]string
	if v, ok := q.in["custom_metadata"].(map[string]any); ok {
		custom = map[string]string{}
		for k, x := range v {
			str, ok := x.(string)
			if !ok {
				return result{}, fail(http.StatusBadRequest, "custom_metadata values must be strings")
			}
			custom[k] = str
		}
	}
	sec := m.secrets[key]
	if sec == nil {
		now := s.Now()
		sec = &kvSecret{versions: map[int]*kvVersion{}, created: now, updated: now}
		m.secrets[key] = sec
	}
	if setMax {
		sec.maxVersions = maxVersions
	}
	if v, ok := q.in["cas_required"].(bool); ok {
		sec.casRequired = v
	}
	if custom != nil {
		sec.customMetadata = custom
	}
	s.trim(m, sec)
	return result{status: http.StatusNoContent}, nil
}

func (s *Server) list(m *mount, dir string) (result, *httpError) {
	prefix := strings.TrimSuffix(dir, "/")
	if prefix != "" {
		prefix += "/"
	}
	seen := map[string]bool{}
	for key := range m.secrets {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok || rest == "" {
			continue
		}
		if head, _, nested := strings.Cut(rest, "/"); nested {
			seen[head+"/"] = true
		} else {
			seen[rest] = true
		}
	}
	if len(seen) == 0 {
		return result{}, fail(http.StatusNotFound)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return result{http.StatusOK, envelope(map[string]any{"keys": keys}, nil)}, nil
}

func (t *token) auth(now time.Time) map[string]any {
	return map[string]any{
		"client_token": t.id, "accessor": t.accessor, "policies": t.policies, "token_policies": t.policies,
		"metadata": nil, "lease_duration": int(t.remaining(now).Seconds()), "renewable": t.renewable,
		"entity_id": "", "token_type": "service", "orphan": true, "num_uses": 0,
	}
}

func (t *token) remaining(now time.Time) time.Duration {
	if t.expires.IsZero() {
		return 0
	}
	return t.expires.Sub(now).Round(time.Second)
}

func (s *Server) loginLocked(q request) (result, *httpError) {
	roleID, _ := q.in["role_id"].(string)
	secretID, _ := q.in["secret_id"].(string)
	n := s.namespaces[q.ns]
	if roleID == "" {
		return result{}, fail(http.StatusBadRequest, "missing role_id")
	}
	var role *AppRole
	if n != nil {
		role = n.appRoles[roleID]
	}
	if role == nil || secretID == "" || secretID != role.SecretID {
		return result{}, fail(http.StatusBadRequest, "invalid role or secret ID")
	}
	ttl, maxTTL := role.TokenTTL, role.TokenMaxTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	if maxTTL == 0 {
		maxTTL = 24 * time.Hour
	}
	policies := role.Policies
	if policies == nil {
		policies = []string{"default"}
	}
	t := s.issueLocked(q.ns, ttl, maxTTL, true, policies, "approle")
	return result{http.StatusOK, envelope(nil, t.auth(s.Now()))}, nil
}

func (s *Server) lookupSelfLocked(q request) (result, *httpError) {
	t, now := q.tok, s.Now()
	data := map[string]any{
		"accessor": t.accessor, "creation_time": t.created.Unix(), "creation_ttl": int(t.ttl.Seconds()),
		"display_name": t.displayName, "entity_id": "", "expire_time": nil, "explicit_max_ttl": 0,
		"id": t.id, "issue_time": rfc3339(t.created), "meta": nil, "num_uses": 0, "orphan": true,
		"path": "auth/token/create", "policies": t.policies, "renewable": t.renewable,
		"ttl": int(t.remaining(now).Seconds()), "type": "service", "namespace_path": t.namespace,
	}
	if !t.expires.IsZero() {
		data["expire_time"] = rfc3339(t.expires)
	}
	return result{http.StatusOK, envelope(data, nil)}, nil
}

func (s *Server) renewSelfLocked(q request) (result, *httpError) {
	t, now := q.tok, s.Now()
	if !t.renewable || t.expires.IsZero() {
		return result{}, fail(http.StatusBadRequest, "lease is not renewable")
	}
	inc := t.ttl
	if v, ok := q.in["increment"]; ok {
		switch v := v.(type) {
		case float64:
			inc = time.Duration(v) * time.Second
		case string:
			if d, err := time.ParseDuration(v); err == nil {
				inc = d
			} else if n, err := strconv.Atoi(v); err == nil {
				inc = time.Duration(n) * time.Second
			}
		}
	}
	if inc <= 0 || inc > t.ttl {
		inc = t.ttl
	}
	t.expires = now.Add(inc)
	warnings := any(nil)
	if !t.maxExpires.IsZero() && t.expires.After(t.maxExpires) {
		t.expires = t.maxExpires
		warnings = []string{"TTL of \"" + inc.String() + "\" exceeded the effective max_ttl; TTL value is capped accordingly"}
	}
	body := envelope(nil, t.auth(now))
	body["warnings"] = warnings
	return result{http.StatusOK, body}, nil
}
