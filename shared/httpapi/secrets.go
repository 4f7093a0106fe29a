package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

// metadataJSON is a secret as writes and lists return it: no values.
type metadataJSON struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Private bool      `json:"private"`
	Owner   string    `json:"owner"`
	Keys    []string  `json:"keys"`
	Version int64     `json:"version"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Origin  string    `json:"origin,omitempty"`
	// Deleted and PurgeAfter are set on a secret in the recovery window
	// (a delete's answer and GET /api/v1/secrets?deleted=true).
	Deleted    *time.Time `json:"deleted,omitempty"`
	PurgeAfter *time.Time `json:"purge_after,omitempty"`
}

// secretJSON is a secret as GET returns it: metadata and values.
type secretJSON struct {
	metadataJSON
	Values map[string]string `json:"values"`
}

type listJSON struct {
	Items         []metadataJSON `json:"items"`
	NextPageToken string         `json:"next_page_token"`
}

func metadataOf(s *secret.Secret) metadataJSON {
	keys := s.Keys
	if keys == nil {
		keys = []string{}
	}
	m := metadataJSON{
		ID: s.ID, Name: s.Name, Private: s.Private, Owner: s.Owner, Keys: keys,
		Version: s.Version, Created: s.Created, Updated: s.Updated, Origin: s.Origin,
	}
	if s.IsDeleted() {
		deleted, purge := s.Deleted, s.PurgeAfter
		m.Deleted, m.PurgeAfter = &deleted, &purge
	}
	return m
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// create serves POST /api/v1/secrets.
func (a *API) create(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req store.CreateRequest
	hasName := false
	err = decodeObject(body, func(name string, dec *json.Decoder) (err error) {
		switch name {
		case "name":
			hasName = true
			req.Name, err = readString(dec, "name")
		case "private":
			req.Private, err = readBool(dec, "private")
		case "values":
			var values map[string]*string
			if values, err = readValues(dec, false); err == nil {
				req.Values = make(map[string]string, len(values))
				for k, v := range values {
					req.Values[k] = *v
				}
			}
		case "origin":
			req.Origin, err = readString(dec, "origin")
		default:
			err = unknownField(name, "name, private, values and origin")
		}
		return err
	})
	if err != nil {
		return err
	}
	if !hasName {
		return errcode.New(errcode.InvalidArgument, "name is required")
	}
	if req.IdempotencyKey, err = idempotencyKey(r); err != nil {
		return err
	}
	sec, err := a.st.Create(r.Context(), rec.principal, req)
	if err != nil {
		return err
	}
	rec.secretID = sec.ID
	w.Header().Set("ETag", etag(sec.Version))
	w.Header().Set("Location", pathSecrets+"/"+sec.ID)
	writeJSON(w, http.StatusCreated, metadataOf(sec))
	return nil
}

// getParams are the query parameters of GET /api/v1/secrets/{id}.
var getParams = []string{"version"}

// get serves GET /api/v1/secrets/{id}, and with ?version=N that kept
// version (its ETag is still the version's number).
func (a *API) get(w http.ResponseWriter, r *http.Request, rec *record) error {
	version, err := versionParam(r)
	if err != nil {
		return err
	}
	var sec *secret.Secret
	if version != 0 {
		sec, err = a.st.GetVersion(r.Context(), rec.principal, r.PathValue("id"), version)
	} else {
		sec, err = a.st.Get(r.Context(), rec.principal, r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	values := sec.Values
	if values == nil {
		values = map[string]string{}
	}
	w.Header().Set("ETag", etag(sec.Version))
	writeJSON(w, http.StatusOK, secretJSON{metadataOf(sec), values})
	return nil
}

// listParams are the query parameters of GET /api/v1/secrets (its line in
// routes).
var listParams = []string{"name", "name_prefix", "name_contains", "private", "owner", "sort", "page_size", "page_token", "deleted"}

// list serves GET /api/v1/secrets.
func (a *API) list(w http.ResponseWriter, r *http.Request, rec *record) error {
	req, err := parseList(r.URL.RawQuery)
	if err != nil {
		return err
	}
	page, err := a.st.List(r.Context(), rec.principal, req)
	if err != nil {
		return err
	}
	out := listJSON{Items: make([]metadataJSON, len(page.Items)), NextPageToken: page.NextPageToken}
	for i, s := range page.Items {
		out.Items[i] = metadataOf(s)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func parseList(rawQuery string) (store.ListRequest, error) {
	var req store.ListRequest
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return req, errcode.New(errcode.InvalidArgument, "the query string is malformed")
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names) // report the first problem deterministically
	for _, name := range names {
		if len(q[name]) > 1 {
			return req, errcode.New(errcode.InvalidArgument, "query parameter %s is given more than once", quote(name))
		}
		v := q.Get(name)
		switch name {
		case "name":
			req.Name = v
		case "name_prefix":
			req.NamePrefix = v
		case "name_contains":
			req.NameContains = v
		case "owner":
			req.Owner = v
		case "sort":
			req.Sort = v
		case "page_token":
			req.PageToken = v
		case "private":
			b, err := boolParam("private", v)
			if err != nil {
				return req, err
			}
			req.Private = &b
		case "deleted":
			if req.Deleted, err = boolParam("deleted", v); err != nil {
				return req, err
			}
		case "page_size":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > store.MaxPageSize {
				return req, errcode.New(errcode.InvalidArgument, "page_size must be a whole number from 1 to %d", store.MaxPageSize)
			}
			req.PageSize = n
		default: // not in listParams: checkParams refused it already
			return req, errcode.New(errcode.InvalidArgument, "unknown query parameter %s; known are %s", quote(name), strings.Join(listParams, ", "))
		}
	}
	return req, nil
}

// update serves PATCH /api/v1/secrets/{id}.
func (a *API) update(w http.ResponseWriter, r *http.Request, rec *record) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var req store.UpdateRequest
	err = decodeObject(body, func(name string, dec *json.Decoder) error {
		switch name {
		case "name":
			s, err := readString(dec, "name")
			req.Name = &s
			return err
		case "private":
			b, err := readBool(dec, "private")
			req.Private = &b
			return err
		case "values":
			values, err := readValues(dec, true)
			req.Values = values
			return err
		case "replace_values":
			b, err := readBool(dec, "replace_values")
			req.ReplaceValues = b
			return err
		case "origin":
			s, err := readString(dec, "origin")
			req.Origin = &s
			return err
		default:
			return unknownField(name, "name, private, values, replace_values and origin")
		}
	})
	if err != nil {
		return err
	}
	if err := checkReplaceValues(req); err != nil {
		return err
	}
	if req.IfMatch, err = ifMatch(r); err != nil {
		return err
	}
	if req.IdempotencyKey, err = idempotencyKey(r); err != nil {
		return err
	}
	sec, err := a.st.Update(r.Context(), rec.principal, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	rec.secretID = sec.ID
	w.Header().Set("ETag", etag(sec.Version))
	writeJSON(w, http.StatusOK, metadataOf(sec))
	return nil
}

// checkReplaceValues checks an update with replace_values true: its values
// are the complete new set, so they must be given (an empty object removes
// every key) and a null, which would remove a key, means nothing there.
func checkReplaceValues(req store.UpdateRequest) error {
	if !req.ReplaceValues {
		return nil
	}
	if req.Values == nil {
		return errcode.New(errcode.InvalidArgument, `replace_values needs values: the complete new set of values ({} removes every key)`)
	}
	nulls := make([]string, 0, len(req.Values))
	for k, v := range req.Values {
		if v == nil {
			nulls = append(nulls, k)
		}
	}
	if len(nulls) > 0 {
		sort.Strings(nulls) // name the first deterministically
		return errcode.New(errcode.InvalidArgument, "value of key %s is null, but with replace_values true values are the complete new set: leave the key out instead of null", quote(nulls[0]))
	}
	return nil
}

// whoami serves GET /api/v1/whoami: the authenticated principal, so that
// tools can learn who they act as (the owner of what they create).
func (a *API) whoami(w http.ResponseWriter, _ *http.Request, rec *record) error {
	writeJSON(w, http.StatusOK, struct {
		User string        `json:"user"`
		Role identity.Role `json:"role"`
	}{rec.principal.Name, rec.principal.Role})
	return nil
}

// deleteParams are the query parameters of DELETE /api/v1/secrets/{id}.
var deleteParams = []string{"purge"}

// delete serves DELETE /api/v1/secrets/{id}: 200 with the metadata of the
// secret moved into the recovery window (deleted, purge_after), or 204 when
// it was destroyed (?purge=true, or a deployment without a recovery window).
func (a *API) delete(w http.ResponseWriter, r *http.Request, rec *record) error {
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	req := store.DeleteRequest{IfMatch: version}
	if v := r.URL.Query(); v.Has("purge") {
		if req.Purge, err = boolParam("purge", v.Get("purge")); err != nil {
			return err
		}
	}
	sec, err := a.st.Delete(r.Context(), rec.principal, r.PathValue("id"), req)
	if err != nil {
		return err
	}
	if sec == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, metadataOf(sec))
	return nil
}

// ifMatch parses an If-Match header: one strong ETag, "<version>" (the
// quotes may be left out), or * for any version. 0 means unconditional.
func ifMatch(r *http.Request) (int64, error) {
	headers := r.Header.Values("If-Match")
	if len(headers) == 0 {
		return 0, nil
	}
	bad := errcode.New(errcode.InvalidArgument, `If-Match must be one version as returned in the ETag header, like "3"`)
	if len(headers) > 1 {
		return 0, bad
	}
	v := strings.TrimSpace(headers[0])
	if v == "*" {
		return 0, nil
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, bad
	}
	return n, nil
}

// idempotencyKey reads the Idempotency-Key header: at most
// store.MaxIdempotencyKeyLength printable ASCII characters.
func idempotencyKey(r *http.Request) (string, error) {
	headers := r.Header.Values("Idempotency-Key")
	if len(headers) == 0 {
		return "", nil
	}
	if len(headers) > 1 {
		return "", errcode.New(errcode.InvalidArgument, "Idempotency-Key is given more than once")
	}
	k := headers[0]
	if k == "" || len(k) > store.MaxIdempotencyKeyLength {
		return "", errcode.New(errcode.InvalidArgument, "Idempotency-Key must be 1 to %d characters", store.MaxIdempotencyKeyLength)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", errcode.New(errcode.InvalidArgument, "Idempotency-Key must be printable ASCII without spaces, such as a UUID")
		}
	}
	return k, nil
}

// createToken serves POST /api/v1/tokens: admins mint a token for a user.
// The token is in the response only; the store keeps its hash.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, rec *record) error {
	if !rec.principal.IsAdmin() {
		return errcode.New(errcode.PermissionDenied, "only admins can create tokens")
	}
	if a.tokens == nil {
		return errcode.New(errcode.NotFound, "this deployment does not mint tokens; its identities come from the platform")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var user, role string
	err = decodeObject(body, func(name string, dec *json.Decoder) (err error) {
		switch name {
		case "user":
			user, err = readString(dec, "user")
		case "role":
			role, err = readString(dec, "role")
		default:
			err = unknownField(name, "user and role")
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := identity.ValidateName(user); err != nil {
		return err
	}
	p := identity.Principal{Name: user, Role: identity.Member}
	if role != "" {
		if p.Role, err = identity.ParseRole(role); err != nil {
			return err
		}
	}
	token, hash, err := identity.NewToken()
	if err != nil {
		return err
	}
	rec.tokenFor, rec.tokenID = p.Name, identity.TokenID(hash)
	if err := a.tokens.SaveToken(r.Context(), hash, p); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		Token string `json:"token"`
	}{token})
	return nil
}
