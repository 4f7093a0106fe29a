package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

// tokenStore returns the token store, or not_found when this deployment
// keeps none (its identities come from the platform).
func (a *API) tokenStore() (identity.TokenStore, error) {
	if a.tokens == nil {
		return nil, errcode.New(errcode.NotFound, "this deployment does not mint tokens; its identities come from the platform")
	}
	return a.tokens, nil
}

// tokenJSON is one token in a listing: never the token or its hash.
type tokenJSON struct {
	ID      string        `json:"id"`
	User    string        `json:"user"`
	Role    identity.Role `json:"role"`
	Created time.Time     `json:"created"`
}

// listTokens serves GET /api/v1/tokens: admins see every token's id, user,
// role and creation time, oldest first.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request, rec *record) error {
	if !rec.principal.IsAdmin() {
		return errcode.New(errcode.PermissionDenied, "only admins can list tokens")
	}
	tokens, err := a.tokenStore()
	if err != nil {
		return err
	}
	infos, err := tokens.ListTokens(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Items []tokenJSON `json:"items"`
	}{Items: make([]tokenJSON, len(infos))}
	for i, in := range infos {
		out.Items[i] = tokenJSON{ID: in.ID, User: in.Principal.Name, Role: in.Principal.Role, Created: in.Created.UTC()}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// revokeToken serves DELETE /api/v1/tokens/{id}: admins revoke any token by
// id. Through a TokenCache, this process refuses the token at once; other
// processes within their cache TTL.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, rec *record) error {
	if !rec.principal.IsAdmin() {
		return errcode.New(errcode.PermissionDenied, "only admins can revoke tokens by id; use DELETE /api/v1/tokens/self to revoke your own")
	}
	tokens, err := a.tokenStore()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := identity.ValidateTokenID(id); err != nil {
		return err
	}
	rec.tokenID = id
	if err := tokens.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revokeOwnToken serves DELETE /api/v1/tokens/self: the caller revokes the
// bearer token it authenticated this request with (logging out). A request
// without a bearer token (a platform identity) gets invalid_argument.
func (a *API) revokeOwnToken(w http.ResponseWriter, r *http.Request, rec *record) error {
	tokens, err := a.tokenStore()
	if err != nil {
		return err
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return errcode.New(errcode.InvalidArgument, "this request carries no bearer token to revoke")
	}
	rec.tokenID = identity.TokenIDOf(token)
	if err := tokens.RevokeToken(r.Context(), rec.tokenID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
