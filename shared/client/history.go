package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// SecretVersion is one version of a secret in its history: who made it,
// how, and which key names it added, removed or changed. Never values.
type SecretVersion struct {
	Version   int64     `json:"version"`
	Created   time.Time `json:"created"`
	Name      string    `json:"name"`
	Private   bool      `json:"private"`
	Keys      []string  `json:"keys"`
	Principal string    `json:"principal"`
	Operation string    `json:"operation"`
	Added     []string  `json:"added"`
	Removed   []string  `json:"removed"`
	Changed   []string  `json:"changed"`
	// From is the version a rollback copied; 0 otherwise.
	From int64 `json:"from,omitempty"`
	// Current marks the secret's current version.
	Current bool `json:"current"`
}

// SecretVersions returns the retained versions of the secret with the id
// (GET /secrets/{id}/versions), as the server orders them. Errors:
// invalid_argument for a malformed id, not_found, and the common ones.
func (c *Client) SecretVersions(ctx context.Context, id string) ([]SecretVersion, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	var out struct {
		Items []SecretVersion `json:"items"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: p + "/versions", retry: true}, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []SecretVersion{}
	}
	return out.Items, nil
}

// GetSecretVersion returns version of the secret with the id, values
// included (GET /secrets/{id}?version=N). Errors: invalid_argument (a
// malformed id, a version below 1), not_found (also a pruned version), and
// the common ones.
func (c *Client) GetSecretVersion(ctx context.Context, id string, version int64) (*secret.Secret, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, errcode.New(errcode.InvalidArgument, "a version is a positive integer, got %d", version)
	}
	var out secret.Secret
	q := url.Values{"version": {strconv.FormatInt(version, 10)}}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: p, query: q, retry: true}, &out); err != nil {
		return nil, err
	}
	if out.Values == nil {
		out.Values = map[string]string{}
	}
	if out.Keys == nil {
		out.Keys = secret.KeysOf(out.Values)
	}
	return &out, nil
}

// RollbackSecret makes a new version of the secret with the id whose name,
// visibility and values are those of version, and returns its metadata
// (POST /secrets/{id}/rollback). With ifMatch not 0 it applies only if the
// secret's version is still ifMatch. It is not retried: a repeat after a
// rollback that landed would make a second version. Errors:
// invalid_argument, not_found (also a pruned version), failed_precondition
// (ifMatch is stale), already_exists (version's name is taken), and the
// common ones.
func (c *Client) RollbackSecret(ctx context.Context, id string, version, ifMatchVersion int64) (*secret.Secret, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	if version < 1 {
		return nil, errcode.New(errcode.InvalidArgument, "a version is a positive integer, got %d", version)
	}
	h := http.Header{}
	if ifMatchVersion != 0 {
		h.Set("If-Match", ifMatch(ifMatchVersion))
	}
	var out secret.Secret
	body := map[string]int64{"version": version}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: p + "/rollback", body: body, header: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteOptions change what DeleteSecretWith does.
type DeleteOptions struct {
	// Purge destroys the secret and its history at once instead of moving
	// it into the recovery window (owner or admin only).
	Purge bool
	// IfMatch, when not 0, deletes only if the secret's version is still
	// IfMatch (failed_precondition otherwise).
	IfMatch int64
}

// DeleteSecretWith deletes the secret with the id. It returns the secret's
// metadata with Deleted and PurgeAfter set when the secret was moved into
// the recovery window (RestoreSecret brings it back until PurgeAfter), and
// nil when it was destroyed (opts.Purge, or a deployment without a recovery
// window), or when a retry found it gone after an attempt whose outcome was
// unknown. Errors: invalid_argument, not_found, failed_precondition,
// permission_denied (a purge by neither owner nor admin), and the common
// ones.
func (c *Client) DeleteSecretWith(ctx context.Context, id string, opts DeleteOptions) (*secret.Secret, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	var q url.Values
	if opts.Purge {
		q = url.Values{"purge": {"true"}}
	}
	h := http.Header{}
	if opts.IfMatch != 0 {
		h.Set("If-Match", ifMatch(opts.IfMatch))
	}
	var out secret.Secret
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: p, query: q, header: h, retry: true, deleteSemantics: true}, &out); err != nil {
		return nil, err
	}
	if out.ID == "" || !out.IsDeleted() {
		return nil, nil
	}
	return &out, nil
}

// RestoreOptions change what RestoreSecret does.
type RestoreOptions struct {
	// Name, when not empty, restores the secret under this name instead of
	// its own (which another secret may have taken meanwhile).
	Name string
	// IfMatch, when not 0, restores only if the deleted secret's version is
	// still IfMatch.
	IfMatch int64
}

// RestoreSecret brings the deleted secret with the id back from the
// recovery window and returns its metadata (POST /secrets/{id}/restore). It
// is not retried: a repeat after a restore that landed finds nothing to
// restore. Errors: invalid_argument, not_found (not deleted, or purged),
// already_exists (its name is taken: restore under another name),
// failed_precondition, and the common ones.
func (c *Client) RestoreSecret(ctx context.Context, id string, opts RestoreOptions) (*secret.Secret, error) {
	p, err := idPath(id)
	if err != nil {
		return nil, err
	}
	var body any = struct{}{}
	if opts.Name != "" {
		if err := secret.ValidateName(opts.Name); err != nil {
			return nil, err
		}
		body = map[string]string{"name": opts.Name}
	}
	h := http.Header{}
	if opts.IfMatch != 0 {
		h.Set("If-Match", ifMatch(opts.IfMatch))
	}
	var out secret.Secret
	if _, err := c.do(ctx, request{method: http.MethodPost, path: p + "/restore", body: body, header: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
