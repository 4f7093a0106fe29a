package azurekeyvault

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var namePattern = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

const (
	maxTags      = 15
	maxPageItems = 25
)

type secretVersion struct {
	id          string
	value       string
	contentType string
	tags        map[string]string
	enabled     bool
	nbf, exp    *int64
	created     int64
	updated     int64
}

type secretEntry struct {
	name     string           // as first set
	versions []*secretVersion // in creation order
	readyAt  time.Time        // while recovering: invisible until then
}

func (e *secretEntry) latest() *secretVersion { return e.versions[len(e.versions)-1] }

type deletedEntry struct {
	entry       *secretEntry
	deletedDate int64
	purgeDate   int64
	readyAt     time.Time // while being deleted: invisible until then
}

// ready reports whether a change that settles at at has settled.
func (s *Server) ready(at time.Time) bool { return !s.cfg.Now().Before(at) }

// liveLocked returns the live secret named name, unless it is still being
// recovered.
func (s *Server) liveLocked(name string) (*secretEntry, bool) {
	e, ok := s.secrets[strings.ToLower(name)]
	if !ok || !s.ready(e.readyAt) {
		return nil, false
	}
	return e, true
}

// deletedLocked returns the deleted secret named name, unless its deletion
// is still in progress.
func (s *Server) deletedLocked(name string) (*deletedEntry, *apiError) {
	d, ok := s.deleted[strings.ToLower(name)]
	if !ok {
		return nil, errorf(http.StatusNotFound, "SecretNotFound", "", "Deleted Secret not found")
	}
	if !s.ready(d.readyAt) {
		return nil, errorf(http.StatusConflict, "Conflict", "ObjectIsBeingDeleted", "Secret %s is currently being deleted.", name)
	}
	return d, nil
}

// Wire types, as Key Vault's REST API spells them.
type attributesJSON struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created,omitempty"`
	Updated         int64  `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays int    `json:"recoverableDays,omitempty"`
}

type bundleJSON struct {
	Value       *string           `json:"value,omitempty"`
	ID          string            `json:"id"`
	ContentType string            `json:"contentType,omitempty"`
	Attributes  attributesJSON    `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Deleted secrets only.
	RecoveryID         string `json:"recoveryId,omitempty"`
	DeletedDate        int64  `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate,omitempty"`
}

type listJSON struct {
	Value    []bundleJSON `json:"value"`
	NextLink *string      `json:"nextLink"`
}

type setJSON struct {
	Value       *string           `json:"value"`
	ContentType string            `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  *attributesJSON   `json:"attributes"`
}

type updateJSON struct {
	ContentType *string           `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  *attributesJSON   `json:"attributes"`
}

// apiError is a Key Vault error response.
type apiError struct {
	status int
	code   string
	inner  string
	msg    string
}

func errorf(status int, code, inner, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, inner: inner, msg: fmt.Sprintf(format, args...)}
}

func notFound(name string) *apiError {
	return errorf(http.StatusNotFound, "SecretNotFound", "", "A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.", name)
}

func (s *Server) serveVault(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "BadParameter", "", "cannot read the request body"))
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://login.microsoftonline.com/%s", resource="%s"`, s.cfg.Tenant, Resource))
		writeError(w, errorf(http.StatusUnauthorized, "Unauthorized", "", "AKV10000: Request is missing a Bearer or PoP token."))
		return
	}
	op, handler := s.route(r)
	if handler == nil {
		writeError(w, errorf(http.StatusBadRequest, "BadParameter", "", "The request URI or method is not supported by the local Key Vault: %s %s", r.Method, r.URL.Path))
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeError(w, errorf(http.StatusBadRequest, "BadParameter", "", "The request URI contains an invalid or missing api-version"))
		return
	}
	if f, ok := s.takeFault(op); ok {
		if f.status == http.StatusTooManyRequests || f.status == http.StatusServiceUnavailable {
			secs := int((f.retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			w.Header().Set("retry-after-ms", strconv.FormatInt(f.retryAfter.Milliseconds(), 10))
		}
		code := "Throttled"
		if f.status != http.StatusTooManyRequests {
			code = "ServiceUnavailable"
		}
		writeError(w, errorf(f.status, code, "", "injected fault for %s", op))
		return
	}
	status, resp, apiErr := handler(r, body)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	if resp == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, resp)
}

func (s *Server) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(token) == "" {
		return false
	}
	if !s.cfg.StrictTokens {
		return true
	}
	issued.Lock()
	defer issued.Unlock()
	return issued.tokens[token]
}

func (s *Server) takeFault(op string) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	for _, key := range []string{op, "*"} {
		if q := s.faults[key]; len(q) > 0 {
			s.faults[key] = q[1:]
			return q[0], true
		}
	}
	return fault{}, false
}

type handlerFunc func(r *http.Request, body []byte) (int, any, *apiError)

// route picks the operation for a request.
func (s *Server) route(r *http.Request) (string, handlerFunc) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if strings.HasSuffix(r.URL.Path, "/") && len(parts) == 2 {
		parts = append(parts, "") // "/secrets/NAME/": the latest version
	}
	switch {
	case len(parts) == 1 && parts[0] == "secrets" && r.Method == http.MethodGet:
		return "ListSecrets", s.listSecrets
	case len(parts) == 1 && parts[0] == "deletedsecrets" && r.Method == http.MethodGet:
		return "ListDeletedSecrets", s.listDeleted
	case len(parts) < 2:
		return "", nil
	}
	name := parts[1]
	switch {
	case parts[0] == "secrets" && len(parts) == 2 && r.Method == http.MethodPut:
		return "SetSecret", func(r *http.Request, b []byte) (int, any, *apiError) { return s.setSecret(name, b) }
	case parts[0] == "secrets" && len(parts) == 2 && r.Method == http.MethodDelete:
		return "DeleteSecret", func(*http.Request, []byte) (int, any, *apiError) { return s.deleteSecret(name) }
	case parts[0] == "secrets" && len(parts) == 3 && parts[2] == "versions" && r.Method == http.MethodGet:
		return "ListSecretVersions", func(r *http.Request, _ []byte) (int, any, *apiError) { return s.listVersions(r, name) }
	case parts[0] == "secrets" && len(parts) <= 3 && r.Method == http.MethodGet:
		return "GetSecret", func(*http.Request, []byte) (int, any, *apiError) { return s.getSecret(name, at(parts, 2)) }
	case parts[0] == "secrets" && len(parts) <= 3 && r.Method == http.MethodPatch:
		return "UpdateSecret", func(_ *http.Request, b []byte) (int, any, *apiError) { return s.updateSecret(name, at(parts, 2), b) }
	case parts[0] == "deletedsecrets" && len(parts) == 2 && r.Method == http.MethodGet:
		return "GetDeletedSecret", func(*http.Request, []byte) (int, any, *apiError) { return s.getDeleted(name) }
	case parts[0] == "deletedsecrets" && len(parts) == 2 && r.Method == http.MethodDelete:
		return "PurgeDeletedSecret", func(*http.Request, []byte) (int, any, *apiError) { return s.purge(name) }
	case parts[0] == "deletedsecrets" && len(parts) == 3 && parts[2] == "recover" && r.Method == http.MethodPost:
		return "RecoverDeletedSecret", func(*http.Request, []byte) (int, any, *apiError) { return s.recoverDeleted(name) }
	}
	return "", nil
}

func at(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

func checkName(name string) *apiError {
	if !namePattern.MatchString(name) {
		return errorf(http.StatusBadRequest, "BadParameter", "", "The request URI contains an invalid name: secret names are 1-127 characters of 0-9, a-z, A-Z and '-'")
	}
	return nil
}

func checkTags(tags map[string]string) *apiError {
	if len(tags) > maxTags {
		return errorf(http.StatusBadRequest, "BadParameter", "", "A secret can have at most %d tags", maxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > 512 || len(v) > 256 {
			return errorf(http.StatusBadRequest, "BadParameter", "", "Tag names are 1-512 characters and tag values at most 256")
		}
	}
	return nil
}

func (s *Server) now() int64 { return s.cfg.Now().Unix() }

func (s *Server) recoveryLevel() string {
	return "Recoverable+Purgeable"
}

// bundle renders a version; withValue only for reads and sets.
func (s *Server) bundle(e *secretEntry, v *secretVersion, withValue bool) bundleJSON {
	enabled := v.enabled
	b := bundleJSON{
		ID:          s.URL() + "/secrets/" + e.name + "/" + v.id,
		ContentType: v.contentType,
		Tags:        copyTags(v.tags),
		Attributes: attributesJSON{
			Enabled: &enabled, NotBefore: v.nbf, Expires: v.exp, Created: v.created, Updated: v.updated,
			RecoveryLevel: s.recoveryLevel(), RecoverableDays: s.cfg.RecoverableDays,
		},
	}
	if withValue {
		value := v.value
		b.Value = &value
	}
	return b
}

func (s *Server) deletedBundle(d *deletedEntry) bundleJSON {
	b := s.bundle(d.entry, d.entry.latest(), false)
	b.RecoveryID = s.URL() + "/deletedsecrets/" + d.entry.name
	b.DeletedDate = d.deletedDate
	b.ScheduledPurgeDate = d.purgeDate
	return b
}

func (s *Server) setSecret(name string, body []byte) (int, any, *apiError) {
	if err := checkName(name); err != nil {
		return 0, nil, err
	}
	var in setJSON
	if err := json.Unmarshal(body, &in); err != nil || in.Value == nil {
		return 0, nil, errorf(http.StatusBadRequest, "BadParameter", "", "Property value is required and must be a string")
	}
	if len(*in.Value) > MaxValueBytes {
		return 0, nil, errorf(http.StatusBadRequest, "BadParameter", "", "Secret value exceeds the maximum size of %d bytes", MaxValueBytes)
	}
	if len(in.ContentType) > 255 {
		return 0, nil, errorf(http.StatusBadRequest, "BadParameter", "", "contentType is at most 255 characters")
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(name)
	if d, gone := s.deleted[key]; gone {
		if !s.ready(d.readyAt) {
			return 0, nil, errorf(http.StatusConflict, "Conflict", "ObjectIsBeingDeleted", "Secret %s is currently being deleted.", name)
		}
		return 0, nil, errorf(http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable",
			"Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name)
	}
	e, ok := s.secrets[key]
	if ok && !s.ready(e.readyAt) {
		return 0, nil, errorf(http.StatusConflict, "Conflict", "ObjectIsBeingRecovered", "Secret %s is currently being recovered.", name)
	}
	if !ok {
		e = &secretEntry{name: name}
		s.secrets[key] = e
	}
	now := s.now()
	v := &secretVersion{id: randomHex(16), value: *in.Value, contentType: in.ContentType, tags: copyTags(in.Tags), enabled: true, created: now, updated: now}
	if a := in.Attributes; a != nil {
		if a.Enabled != nil {
			v.enabled = *a.Enabled
		}
		v.nbf, v.exp = a.NotBefore, a.Expires
	}
	e.versions = append(e.versions, v)
	return http.StatusOK, s.bundle(e, v, true), nil
}

// versionLocked finds a version; "" is the latest.
func (s *Server) versionLocked(name, version string) (*secretEntry, *secretVersion, *apiError) {
	e, ok := s.liveLocked(name)
	if !ok {
		return nil, nil, notFound(name)
	}
	if version == "" {
		return e, e.latest(), nil
	}
	for _, v := range e.versions {
		if strings.EqualFold(v.id, version) {
			return e, v, nil
		}
	}
	return nil, nil, notFound(name + "/" + version)
}

func (s *Server) getSecret(name, version string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, v, err := s.versionLocked(name, version)
	if err != nil {
		return 0, nil, err
	}
	if !v.enabled {
		return 0, nil, errorf(http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
	}
	return http.StatusOK, s.bundle(e, v, true), nil
}

func (s *Server) updateSecret(name, version string, body []byte) (int, any, *apiError) {
	var in updateJSON
	if err := json.Unmarshal(body, &in); err != nil {
		return 0, nil, errorf(http.StatusBadRequest, "BadParameter", "", "The request body is not a valid secret update")
	}
	if err := checkTags(in.Tags); err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, v, err := s.versionLocked(name, version)
	if err != nil {
		return 0, nil, err
	}
	if in.ContentType != nil {
		v.contentType = *in.ContentType
	}
	if in.Tags != nil {
		v.tags = copyTags(in.Tags)
	}
	if a := in.Attributes; a != nil {
		if a.Enabled != nil {
			v.enabled = *a.Enabled
		}
		if a.NotBefore != nil {
			v.nbf = a.NotBefore
		}
		if a.Expires != nil {
			v.exp = a.Expires
		}
	}
	v.updated = s.now()
	return http.StatusOK, s.bundle(e, v, false), nil
}

func (s *Server) deleteSecret(name string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(name)
	e, ok := s.liveLocked(name)
	if !ok {
		return 0, nil, notFound(name)
	}
	delete(s.secrets, key)
	now := s.now()
	d := &deletedEntry{entry: e, deletedDate: now, purgeDate: now + int64(s.cfg.RecoverableDays)*86400, readyAt: s.cfg.Now().Add(s.cfg.SettleDelay)}
	s.deleted[key] = d
	return http.StatusOK, s.deletedBundle(d), nil
}

func (s *Server) getDeleted(name string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.deletedLocked(name)
	if err != nil {
		if err.status == http.StatusConflict { // still being deleted: not there yet
			return 0, nil, errorf(http.StatusNotFound, "SecretNotFound", "", "Deleted Secret not found")
		}
		return 0, nil, err
	}
	return http.StatusOK, s.deletedBundle(d), nil
}

func (s *Server) purge(name string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.deletedLocked(name); err != nil {
		return 0, nil, err
	}
	delete(s.deleted, strings.ToLower(name))
	return http.StatusNoContent, nil, nil
}

func (s *Server) recoverDeleted(name string) (int, any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(name)
	d, err := s.deletedLocked(name)
	if err != nil {
		return 0, nil, err
	}
	if _, live := s.secrets[key]; live {
		return 0, nil, errorf(http.StatusConflict, "Conflict", "", "Secret %s already exists", name)
	}
	delete(s.deleted, key)
	d.entry.readyAt = s.cfg.Now().Add(s.cfg.SettleDelay)
	s.secrets[key] = d.entry
	return http.StatusOK, s.bundle(d.entry, d.entry.latest(), false), nil
}

// page slices items (sorted by the caller) by maxresults and $skiptoken and
// renders the nextLink.
func (s *Server) page(r *http.Request, items []bundleJSON) (int, any, *apiError) {
	q := r.URL.Query()
	size := maxPageItems
	if m := q.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > maxPageItems {
			return 0, nil, errorf(http.StatusBadRequest, "BadParameter", "", "maxresults must be between 1 and %d", maxPageItems)
		}
		size = n
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 {
			return 0, nil, errorf(http.StatusBadRequest, "BadParameter", "", "$skiptoken is not a token this vault returned")
		}
		start = min(n, len(items))
	}
	end := min(start+size, len(items))
	out := listJSON{Value: items[start:end]}
	if out.Value == nil {
		out.Value = []bundleJSON{}
	}
	if end < len(items) {
		next := fmt.Sprintf("%s%s?api-version=%s&maxresults=%d&$skiptoken=%s", s.URL(), r.URL.Path, q.Get("api-version"), size,
			base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		out.NextLink = &next
	}
	return http.StatusOK, out, nil
}

// item strips a bundle to a list item: no value; secrets lists name the
// secret without a version.
func item(b bundleJSON, withVersion bool) bundleJSON {
	b.Value = nil
	if !withVersion {
		b.ID = b.ID[:strings.LastIndex(b.ID, "/")]
	}
	return b
}

func (s *Server) listSecrets(r *http.Request, _ []byte) (int, any, *apiError) {
	s.mu.Lock()
	items := make([]bundleJSON, 0, len(s.secrets))
	for _, e := range s.secrets {
		if s.ready(e.readyAt) {
			items = append(items, item(s.bundle(e, e.latest(), false), false))
		}
	}
	s.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return s.page(r, items)
}

func (s *Server) listVersions(r *http.Request, name string) (int, any, *apiError) {
	s.mu.Lock()
	e, ok := s.liveLocked(name)
	var items []bundleJSON
	if ok {
		for _, v := range e.versions {
			items = append(items, item(s.bundle(e, v, false), true))
		}
	}
	s.mu.Unlock()
	if !ok {
		return 0, nil, notFound(name)
	}
	return s.page(r, items)
}

func (s *Server) listDeleted(r *http.Request, _ []byte) (int, any, *apiError) {
	s.mu.Lock()
	items := make([]bundleJSON, 0, len(s.deleted))
	for _, d := range s.deleted {
		if !s.ready(d.readyAt) {
			continue
		}
		b := s.deletedBundle(d)
		b.ID = b.ID[:strings.LastIndex(b.ID, "/")]
		items = append(items, b)
	}
	s.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return s.page(r, items)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"code": e.code, "message": e.msg}
	if e.inner != "" {
		body["innererror"] = map[string]string{"code": e.inner}
	}
	writeJSON(w, e.status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func copyTags(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
