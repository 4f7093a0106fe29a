package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
)

// NewSecret is what CreateSecret stores.
type NewSecret struct {
	Name    string            `json:"name"`
	Private bool              `json:"private"`
	Values  map[string]string `json:"values"`
	// Origin records where a migrated secret came from (at most 1,024
	// bytes, checked by the server); empty for secrets users make.
	Origin string `json:"origin,omitempty"`
}

// CreateSecret stores a new secret and returns its metadata (no values).
// It is retried safely: an Idempotency-Key makes the server apply it once.
// Errors: invalid_argument, too_large, already_exists, and the common ones
// (unauthenticated, permission_denied, unavailable).
func (c *Client) CreateSecret(ctx context.Context, s NewSecret) (*secret.Secret, error) {
	if err := secret.ValidateName(s.Name); err != nil {
		return nil, err
	}
	if s.Values == nil {
		s.Values = map[string]string{}
	}
	if err := secret.ValidateValues(s.Values); err != nil {
		return nil, err
	}
	var out secret.Secret
	_, err := c.do(ctx, request{method: http.MethodPost, path: "/secrets", body: s, idempotencyKey: true}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSecret returns the secret with the id, values included; Version is the
// one the ETag names. Errors: invalid_argument for a malformed id,
// not_found (also for another principal's private secret).
func (c *Client) GetSecret(ctx context.Context, id string) (*secret.Secret, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	var out secret.Secret
	h, err := c.do(ctx, request{method: http.MethodGet, path: p, retry: true}, &out)
	if err != nil {
		return nil, err
	}
	if v, ok := etagVersion(h); ok {
		out.Version = v
	}
	if out.Values == nil {
		out.Values = map[string]string{}
	}
	if out.Keys == nil {
		out.Keys = secret.KeysOf(out.Values)
	}
	return &out, nil
}

// ListOptions filters and orders a list. Zero fields do not filter.
type ListOptions struct {
	Name         string // exact name
	NamePrefix   string
	NameContains string
	Private      *bool
	Owner        string
	Sort         string // name, -name, created, -created, updated, -updated; the server's default is name
	PageSize     int    // 0 is the server's default (50); at most 1000
	// Deleted lists the secrets in the recovery window that the caller may
	// restore, instead of the live ones; their Deleted and PurgeAfter are set.
	Deleted bool
}

func (o ListOptions) query(pageToken string) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("name", o.Name)
	set("name_prefix", o.NamePrefix)
	set("name_contains", o.NameContains)
	if o.Private != nil {
		q.Set("private", strconv.FormatBool(*o.Private))
	}
	set("owner", o.Owner)
	set("sort", o.Sort)
	if o.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(o.PageSize))
	}
	set("page_token", pageToken)
	if o.Deleted {
		q.Set("deleted", "true")
	}
	return q
}

// Page is one page of a list: metadata and keys, never values.
type Page struct {
	Items         []*secret.Secret `json:"items"`
	NextPageToken string           `json:"next_page_token"` // empty on the last page
}

// ListSecrets returns one page of the secrets visible to the caller that
// match opts, starting at pageToken ("" for the first page). Errors:
// invalid_argument (a bad filter or page token) and the common ones.
func (c *Client) ListSecrets(ctx context.Context, opts ListOptions, pageToken string) (*Page, error) {
	var out Page
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/secrets", query: opts.query(pageToken), retry: true}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AllSecrets iterates over every secret that matches opts, fetching pages
// as it goes. After an error it yields (nil, err) once and stops.
func (c *Client) AllSecrets(ctx context.Context, opts ListOptions) iter.Seq2[*secret.Secret, error] {
	return func(yield func(*secret.Secret, error) bool) {
		token := ""
		for {
			page, err := c.ListSecrets(ctx, opts, token)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, s := range page.Items {
				if !yield(s, nil) {
					return
				}
			}
			if page.NextPageToken == "" || page.NextPageToken == token {
				return
			}
			token = page.NextPageToken
		}
	}
}

// Update is a change to a secret. Nil fields are left alone. Values is
// merged: a key set to a string is added or replaced, a key set to nil is
// removed, keys not mentioned stay; unless ReplaceValues is set.
type Update struct {
	Name    *string
	Private *bool
	Values  map[string]*string
	// ReplaceValues makes Values the complete new set of values: keys not
	// in it are removed. Values must then be non-nil (an empty map removes
	// every key) and hold no nil entry.
	ReplaceValues bool
	// Origin, when not nil, sets where a migrated secret came from ("" clears
	// it).
	Origin *string
	// IfMatch, when not 0, applies the update only if the secret's version
	// is still IfMatch (failed_precondition otherwise).
	IfMatch int64
}

// MarshalJSON writes the PATCH body: only the fields that are set, with
// removed keys as null.
func (u Update) MarshalJSON() ([]byte, error) {
	body := map[string]any{}
	if u.Name != nil {
		body["name"] = *u.Name
	}
	if u.Private != nil {
		body["private"] = *u.Private
	}
	if u.Values != nil {
		body["values"] = u.Values
	}
	if u.ReplaceValues {
		body["replace_values"] = true
	}
	if u.Origin != nil {
		body["origin"] = *u.Origin
	}
	return json.Marshal(body)
}

// Set returns a pointer to v, for Update's fields.
func Set[T any](v T) *T { return &v }

// UpdateSecret applies u to the secret with the id and returns the new
// metadata. It is retried safely with an Idempotency-Key. Errors:
// invalid_argument (also ReplaceValues with nil Values or a nil entry),
// not_found, failed_precondition (IfMatch is stale), already_exists (the new
// name clashes), too_large, and the common ones.
func (c *Client) UpdateSecret(ctx context.Context, id string, u Update) (*secret.Secret, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	if u.ReplaceValues && u.Values == nil {
		return nil, errcode.New(errcode.InvalidArgument, "ReplaceValues needs Values, the complete new set (an empty map removes every key)")
	}
	if u.Name != nil {
		if err := secret.ValidateName(*u.Name); err != nil {
			return nil, err
		}
	}
	for k, v := range u.Values {
		if err := secret.ValidateKey(k); err != nil {
			return nil, err
		}
		if v != nil {
			if err := secret.ValidateValues(map[string]string{k: *v}); err != nil {
				return nil, err
			}
		} else if u.ReplaceValues {
			return nil, errcode.New(errcode.InvalidArgument, "key %q is nil, but with ReplaceValues the values are the complete new set: leave the key out", k)
		}
	}
	h := http.Header{}
	if u.IfMatch != 0 {
		h.Set("If-Match", ifMatch(u.IfMatch))
	}
	var out secret.Secret
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: p, body: u, header: h, idempotencyKey: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WhoAmI returns the principal the server authenticates the client as
// (GET /api/v1/whoami): the owner of what the client creates. Errors:
// unauthenticated, not_found (a deployment that does not serve the route,
// such as one function per operation), and the common ones.
func (c *Client) WhoAmI(ctx context.Context) (identity.Principal, error) {
	var p identity.Principal
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/whoami", retry: true}, &p); err != nil {
		return identity.Principal{}, err
	}
	if p.Name == "" {
		return identity.Principal{}, errcode.New(errcode.Internal, "the server's whoami response names no user")
	}
	return p, nil
}

// DeleteSecret deletes the secret with the id: it moves it into the
// recovery window, or destroys it on a deployment without one (see
// DeleteSecretWith, which also says until when it can be restored). A retry
// that finds the secret gone after an attempt whose outcome was unknown
// counts as success. Errors: invalid_argument, not_found, and the common
// ones.
func (c *Client) DeleteSecret(ctx context.Context, id string) error {
	_, err := c.DeleteSecretWith(ctx, id, DeleteOptions{})
	return err
}

// CreateToken mints an API token for user with role ("admin" or "member").
// Only admins may. It is never retried (a retry could mint a second token).
// Errors: invalid_argument, permission_denied, and the common ones.
func (c *Client) CreateToken(ctx context.Context, user, role string) (string, error) {
	if user == "" {
		return "", errcode.New(errcode.InvalidArgument, "a token needs a user")
	}
	var out struct {
		Token string `json:"token"`
	}
	body := map[string]string{"user": user, "role": role}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/tokens", body: body}, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", errcode.New(errcode.Internal, "the server returned no token")
	}
	return out.Token, nil
}

// TokenInfo is one token in a listing: never the token itself.
type TokenInfo struct {
	ID      string        `json:"id"`
	User    string        `json:"user"`
	Role    identity.Role `json:"role"`
	Created time.Time     `json:"created"`
}

// ListTokens returns every token's id, user, role and creation time, oldest
// first. Only admins may. Errors: permission_denied, not_found (a
// deployment without API tokens), and the common ones.
func (c *Client) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	var out struct {
		Items []TokenInfo `json:"items"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/tokens", retry: true}, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []TokenInfo{}
	}
	return out.Items, nil
}

// RevokeToken revokes the token with this id (see ListTokens), so that the
// server refuses it: at once on the server that answers, within its token
// cache's TTL (30 s) on others. Only admins may. A retry that finds the
// token gone after an attempt whose outcome was unknown counts as success.
// Errors: invalid_argument for a malformed id, not_found, permission_denied,
// and the common ones.
func (c *Client) RevokeToken(ctx context.Context, id string) error {
	if err := identity.ValidateTokenID(id); err != nil {
		return err
	}
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/tokens/" + id, retry: true, deleteSemantics: true}, nil)
	return err
}

// RevokeSelf revokes the bearer token this client authenticates with (log
// out). Errors: unauthenticated when the server no longer accepts the token
// (already revoked, or never valid there), invalid_argument when the client
// sends no bearer token, and the common ones. It is not retried: a repeat
// of a revocation that landed would be refused as unauthenticated.
func (c *Client) RevokeSelf(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodDelete, path: "/tokens/self"}, nil)
	return err
}
