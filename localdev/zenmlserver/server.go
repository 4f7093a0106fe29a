// Package zenmlserver is a local stand-in for a ZenML server's REST API, as
// far as reading the centralized secrets store goes, for tests and the
// migration bench. It serves the routes and JSON shapes of ZenML 0.80+
// (private/public secrets, no workspaces), as read in zenml-io/zenml:
//
//   - POST /api/v1/login: the form of OAuthLoginRequestForm
//     (zen_server/routers/auth_endpoints.py, commit bd37215): grant_type
//     "password" with username and password, or "zenml-api-key" with the
//     service account's API key as password (without grant_type: username
//     means password, a lone password means API key). Answers
//     OAuthTokenResponse {access_token, token_type "bearer", expires_in}.
//   - GET /api/v1/secrets: Page[SecretResponse] (models/v2/base/page.py,
//     commit 61978c4: index, max_size, total_pages, total, items) with the
//     filter's page (from 1) and size (1..10000, default 20), sort_by
//     created or name with asc:/desc:, and hydrate; the values are never
//     listed (body.values is {}). A caller sees public secrets and its own
//     private ones (SecretFilter's scope_user rule).
//   - GET /api/v1/secrets/{id}: one SecretResponse with its values, hydrated
//     by default; values are null for a user without the permission to
//     read secret values (ZenML's READ_SECRET_VALUE), and another user's
//     private secret is 404.
//
// Errors use ZenML's body {"detail": ["ExceptionClass", "message"]}: 401
// AuthorizationException (missing, unknown or expired token; bad
// credentials), 404 KeyError, 422 for invalid parameters. Bearer tokens
// are opaque random strings here (ZenML issues JWTs; clients treat both
// as opaque). A Server is safe for concurrent use.
package zenmlserver

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// MaxPageSize is ZenML's PAGE_SIZE_MAXIMUM default.
const MaxPageSize = 10000

// defaultPageSize is ZenML's PAGE_SIZE_DEFAULT.
const defaultPageSize = 20

// Server is the stand-in. Create it with New and fill it with AddUser,
// AddAPIKey and AddSecret.
type Server struct {
	// TokenLifetime is how long an access token is valid (default an hour).
	TokenLifetime time.Duration

	mu      sync.Mutex
	users   map[string]*user // by id
	apiKeys map[string]string
	tokens  map[string]token
	secrets []*storedSecret // in creation order
	byID    map[string]*storedSecret
	clock   time.Time
	logins  int
}

type user struct {
	id, name, password string
	serviceAccount     bool
	noValues           bool
	created            time.Time
}

type token struct {
	userID  string
	expires time.Time
}

type storedSecret struct {
	id, name, userID string
	private          bool
	values           map[string]string
	created          time.Time
}

// New returns an empty server.
func New() *Server {
	return &Server{TokenLifetime: time.Hour, users: map[string]*user{}, apiKeys: map[string]string{}, tokens: map[string]token{}, byID: map[string]*storedSecret{},
		clock: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
}

// tick returns a new, strictly later creation time, as ZenML's created
// columns are (a deterministic clock keeps list order stable).
func (s *Server) tick() time.Time {
	s.clock = s.clock.Add(time.Millisecond)
	return s.clock
}

// AddUser adds a user (or, with serviceAccount, a service account, which
// logs in only with an API key) and returns its id. password "" means the
// user cannot log in with a password.
func (s *Server) AddUser(name, password string, serviceAccount bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := uuid.NewString()
	s.users[id] = &user{id: id, name: name, password: password, serviceAccount: serviceAccount, created: s.tick()}
	return id
}

// WithholdValues makes the user lack the permission to read secret values:
// the detail endpoint answers null values, as ZenML's router does.
func (s *Server) WithholdValues(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[userID].noValues = true
}

// AddAPIKey returns a new API key of a service account, in ZenML's
// "ZENKEY_" form.
func (s *Server) AddAPIKey(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := "ZENKEY_" + randomHex(24)
	s.apiKeys[key] = userID
	return key
}

// AddSecret stores a secret of the user and returns its id.
func (s *Server) AddSecret(userID, name string, private bool, values map[string]string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	vals := make(map[string]string, len(values))
	for k, v := range values {
		vals[k] = v
	}
	id := uuid.NewString()
	sec := &storedSecret{id: id, name: name, userID: userID, private: private, values: vals, created: s.tick()}
	s.secrets = append(s.secrets, sec)
	s.byID[id] = sec
	return id
}

// SetValues replaces the values of secret id (a change in ZenML after a
// migration).
func (s *Server) SetValues(id string, values map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.byID[id]; sec != nil {
		sec.values = values
	}
}

// ExpireTokens makes every issued token invalid, as if they had expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = map[string]token{}
}

// Logins counts successful logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/v1/login" && r.Method == http.MethodPost:
		s.login(w, r)
	case r.URL.Path == "/api/v1/secrets" && r.Method == http.MethodGet:
		if u := s.authorize(w, r); u != nil {
			s.list(w, r, u)
		}
	case strings.HasPrefix(r.URL.Path, "/api/v1/secrets/") && r.Method == http.MethodGet:
		if u := s.authorize(w, r); u != nil {
			s.get(w, r, u, strings.TrimPrefix(r.URL.Path, "/api/v1/secrets/"))
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"}) // FastAPI's own 404
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, class, msg string) {
	writeJSON(w, status, map[string][]string{"detail": {class, msg}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "RequestValidationError", "the login request must be a form")
		return
	}
	grant, username, password := r.PostForm.Get("grant_type"), r.PostForm.Get("username"), r.PostForm.Get("password")
	if grant == "" { // OAuthLoginRequestForm detects the grant from the fields
		switch {
		case r.PostForm.Has("username"):
			grant = "password"
		case password != "":
			grant = "zenml-api-key"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var who *user
	switch grant {
	case "password":
		if username == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "Invalid request: username is required."})
			return
		}
		for _, u := range s.users {
			if (u.name == username || u.id == username) && !u.serviceAccount && u.password != "" && u.password == password {
				who = u
			}
		}
	case "zenml-api-key":
		if password == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "API key is required."})
			return
		}
		who = s.users[s.apiKeys[password]]
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "Unsupported grant type: " + grant})
		return
	}
	if who == nil {
		writeError(w, http.StatusUnauthorized, "AuthorizationException", "Authentication error: invalid username or password or API key")
		return
	}
	tok := randomHex(32)
	s.tokens[tok] = token{userID: who.id, expires: time.Now().Add(s.TokenLifetime)}
	s.logins++
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer", "expires_in": int(s.TokenLifetime.Seconds())})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *user {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	t, ok := s.tokens[tok]
	u := s.users[t.userID]
	s.mu.Unlock()
	if !strings.EqualFold(scheme, "bearer") || !ok || time.Now().After(t.expires) || u == nil {
		writeError(w, http.StatusUnauthorized, "AuthorizationException", "Authentication error: error decoding access token")
		return nil
	}
	return u
}

// visible is SecretFilter's scope_user rule: (user_id == me AND private)
// OR NOT private.
func visible(sec *storedSecret, me *user) bool { return !sec.private || sec.userID == me.id }

func (s *Server) list(w http.ResponseWriter, r *http.Request, me *user) {
	q := r.URL.Query()
	page, size := 1, defaultPageSize
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			writeError(w, http.StatusUnprocessableEntity, "RequestValidationError", "page must be an integer >= 1")
			return
		}
	}
	if v := q.Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > MaxPageSize {
			writeError(w, http.StatusUnprocessableEntity, "RequestValidationError", "size must be an integer from 1 to 10000")
			return
		}
	}
	hydrate := q.Get("hydrate") == "true"
	desc, field := false, "created"
	if v := q.Get("sort_by"); v != "" {
		if rest, ok := strings.CutPrefix(v, "desc:"); ok {
			desc, v = true, rest
		} else {
			v = strings.TrimPrefix(v, "asc:")
		}
		if v != "created" && v != "name" && v != "id" {
			writeError(w, http.StatusUnprocessableEntity, "ValueError", "unsupported sort_by field")
			return
		}
		field = v
	}
	s.mu.Lock()
	var all []*storedSecret
	for _, sec := range s.secrets {
		if visible(sec, me) {
			all = append(all, sec)
		}
	}
	less := func(a, b *storedSecret) bool {
		switch field {
		case "name":
			return a.name < b.name || a.name == b.name && a.created.Before(b.created)
		case "id":
			return a.id < b.id
		}
		return a.created.Before(b.created)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if desc {
			return less(all[j], all[i])
		}
		return less(all[i], all[j])
	})
	total := len(all)
	items := []map[string]any{}
	for i := (page - 1) * size; i < min(page*size, total); i++ {
		items = append(items, s.response(all[i], me, hydrate, false))
	}
	s.mu.Unlock()
	pages := (total + size - 1) / size
	writeJSON(w, http.StatusOK, map[string]any{"index": page, "max_size": size, "total_pages": pages, "total": total, "items": items})
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, me *user, rawID string) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "RequestValidationError", "secret_id must be a UUID")
		return
	}
	hydrate := r.URL.Query().Get("hydrate") != "false"
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.byID[id.String()]; sec != nil && visible(sec, me) {
		writeJSON(w, http.StatusOK, s.response(sec, me, hydrate, true))
		return
	}
	writeError(w, http.StatusNotFound, "KeyError", "Secret with ID "+id.String()+" not found.")
}

// timestamp formats as pydantic does ZenML's naive UTC datetimes.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// response is a SecretResponse: body always, metadata and resources when
// hydrated; values only from the detail endpoint, null when withheld.
func (s *Server) response(sec *storedSecret, me *user, hydrate, withValues bool) map[string]any {
	values := map[string]any{}
	if withValues {
		for k, v := range sec.values {
			if me.noValues {
				values[k] = nil
			} else {
				values[k] = v
			}
		}
	}
	out := map[string]any{
		"id": sec.id, "name": sec.name, "permission_denied": false,
		"body": map[string]any{"created": timestamp(sec.created), "updated": timestamp(sec.created), "user_id": sec.userID,
			"private": sec.private, "values": values},
		"metadata":  nil,
		"resources": nil,
	}
	if hydrate {
		out["metadata"] = map[string]any{}
		var owner any
		if u := s.users[sec.userID]; u != nil {
			owner = userResponse(u)
		}
		out["resources"] = map[string]any{"user": owner}
	}
	return out
}

// userResponse is a UserResponse, unhydrated.
func userResponse(u *user) map[string]any {
	return map[string]any{
		"id": u.id, "name": u.name, "permission_denied": false,
		"body": map[string]any{"created": timestamp(u.created), "updated": timestamp(u.created), "active": true,
			"activation_token": nil, "full_name": "", "email_opted_in": nil, "is_service_account": u.serviceAccount, "is_admin": false},
		"metadata": nil, "resources": nil,
	}
}
