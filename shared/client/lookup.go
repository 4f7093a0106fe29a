package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Visibility narrows a lookup by name.
type Visibility int

// The visibilities.
const (
	PrivateFirst Visibility = iota // the caller's private secret if there is one, else the public one
	OnlyPrivate                    // only the caller's private secret
	OnlyPublic                     // only the public secret
)

// FindSecret resolves nameOrID as ZenML's client does and returns the
// secret's metadata (GetSecret's result, values included, when it was found
// by id):
//
//  1. a full UUID is an id: get it by id (and, should no secret have that
//     id, look for a secret whose name is that string);
//  2. anything else is an exact name: the caller's private secret of that
//     name first, then the public one.
//
// Errors: not_found saying that neither a private nor a public secret has
// the name, or, for the id of a deleted secret the caller may restore, that
// it is deleted and until when it can be restored; invalid_argument for a string that is neither an id nor a
// valid name; failed_precondition listing the ids when the server returns
// more than one secret of one name and visibility (which its uniqueness
// rules forbid).
func (c *Client) FindSecret(ctx context.Context, nameOrID string) (*secret.Secret, error) {
	return c.FindSecretIn(ctx, nameOrID, PrivateFirst)
}

// FindSecretIn is FindSecret narrowed by vis: with OnlyPrivate or
// OnlyPublic a name selects only that secret, and an id must name a secret
// of that visibility (not_found otherwise).
func (c *Client) FindSecretIn(ctx context.Context, nameOrID string, vis Visibility) (*secret.Secret, error) {
	if IsValidID(nameOrID) {
		s, err := c.GetSecret(ctx, nameOrID)
		if err == nil {
			if vis == OnlyPrivate && !s.Private || vis == OnlyPublic && s.Private {
				return nil, errcode.New(errcode.NotFound, "the secret with id %s is %s, not %s", nameOrID, visibilityWord(s.Private), visibilityWord(!s.Private))
			}
			return s, nil
		}
		if !errcode.Is(err, errcode.NotFound) {
			return nil, err
		}
		if s, nerr := c.FindSecretByName(ctx, nameOrID, vis); nerr == nil {
			return s, nil
		}
		if d, derr := c.FindDeletedSecret(ctx, nameOrID); derr == nil {
			return nil, errcode.New(errcode.NotFound, "the secret with id %s (%s) is deleted; it can be restored until %s with: lockwell secret restore %s",
				nameOrID, d.Name, d.PurgeAfter.UTC().Format(time.RFC3339), nameOrID)
		}
		return nil, errcode.New(errcode.NotFound, "no secret has the id %s (or that name)", nameOrID)
	}
	return c.FindSecretByName(ctx, nameOrID, vis)
}

// GetSecretByName is FindSecret followed by GetSecret: the secret with its
// values. Errors as FindSecret and GetSecret.
func (c *Client) GetSecretByName(ctx context.Context, nameOrID string) (*secret.Secret, error) {
	return c.GetSecretIn(ctx, nameOrID, PrivateFirst)
}

// GetSecretIn is FindSecretIn followed by GetSecret. Errors as both.
func (c *Client) GetSecretIn(ctx context.Context, nameOrID string, vis Visibility) (*secret.Secret, error) {
	s, err := c.FindSecretIn(ctx, nameOrID, vis)
	if err != nil || s.Values != nil {
		return s, err
	}
	return c.GetSecret(ctx, s.ID)
}

// FindSecretByName returns the metadata of the secret with exactly this
// name that vis selects. Errors as FindSecret.
func (c *Client) FindSecretByName(ctx context.Context, name string, vis Visibility) (*secret.Secret, error) {
	if err := secret.ValidateName(name); err != nil {
		return nil, err
	}
	opts := ListOptions{Name: name, PageSize: 10}
	switch vis {
	case OnlyPrivate:
		opts.Private = Set(true)
	case OnlyPublic:
		opts.Private = Set(false)
	}
	var private, public []*secret.Secret
	for s, err := range c.AllSecrets(ctx, opts) {
		if err != nil {
			return nil, err
		}
		if s.Name != name { // a server that ignores the filter must not make us pick the wrong secret
			continue
		}
		if s.Private {
			private = append(private, s)
		} else {
			public = append(public, s)
		}
	}
	for _, group := range [][]*secret.Secret{private, public} {
		switch {
		case len(group) == 1:
			return group[0], nil
		case len(group) > 1:
			ids := make([]string, len(group))
			for i, s := range group {
				ids[i] = s.ID
			}
			return nil, errcode.New(errcode.FailedPrecondition,
				"%d %s secrets are named %s; use one of their ids: %s", len(group), visibilityWord(group[0].Private), name, strings.Join(ids, ", "))
		}
	}
	switch vis {
	case OnlyPrivate:
		return nil, errcode.New(errcode.NotFound, "you have no private secret named %s", name)
	case OnlyPublic:
		return nil, errcode.New(errcode.NotFound, "there is no public secret named %s", name)
	}
	return nil, NotFoundError(name)
}

// FindDeletedSecret resolves nameOrID among the deleted secrets the caller
// may restore (ListOptions.Deleted), since a deleted secret holds no name
// that FindSecret could find: a full UUID is an id, anything else the name
// the secret had. Errors: not_found; failed_precondition listing the ids
// (with their deletion times) when several deleted secrets had the name;
// invalid_argument for a string that is neither an id nor a valid name.
func (c *Client) FindDeletedSecret(ctx context.Context, nameOrID string) (*secret.Secret, error) {
	opts := ListOptions{Deleted: true, PageSize: 100}
	isID := IsValidID(nameOrID)
	if !isID {
		if err := secret.ValidateName(nameOrID); err != nil {
			return nil, err
		}
		opts.Name = nameOrID
	}
	var found []*secret.Secret
	for s, err := range c.AllSecrets(ctx, opts) {
		if err != nil {
			return nil, err
		}
		if isID && s.ID == nameOrID || !isID && s.Name == nameOrID {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, s := range found {
			ids[i] = s.ID + " (deleted " + s.Deleted.UTC().Format(time.RFC3339) + ")"
		}
		return nil, errcode.New(errcode.FailedPrecondition,
			"%d deleted secrets were named %s; restore one by its id: %s", len(found), nameOrID, strings.Join(ids, ", "))
	case isID:
		return nil, errcode.New(errcode.NotFound, "no deleted secret you may restore has the id %s", nameOrID)
	}
	return nil, errcode.New(errcode.NotFound, "no deleted secret you may restore was named %s", nameOrID)
}

// NotFoundError is the one wording of "no secret of this name" for a
// lookup that tries the caller's private secret, then the public one.
func NotFoundError(name string) error {
	return errcode.New(errcode.NotFound, "no secret named %s: neither a private one of yours nor a public one", name)
}

func visibilityWord(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

// LookupSecret finds the secret a reference names (exact name, private
// first, then public), so that a Client is a secretref.Source. With
// withValues it fetches the values too.
func (c *Client) LookupSecret(ctx context.Context, name string, withValues bool) (*secret.Secret, error) {
	s, err := c.FindSecretByName(ctx, name, PrivateFirst)
	if err != nil || !withValues {
		return s, err
	}
	return c.GetSecret(ctx, s.ID)
}

// String describes the client for diagnostics: its URL only.
func (c *Client) String() string { return fmt.Sprintf("lockwell client for %s", c.base) }
