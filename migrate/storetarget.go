package migrate

import (
	"context"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

// StoreTarget is a Target on the portable store, acting as Principal (the
// owner of what it creates). Safe for concurrent use.
type StoreTarget struct {
	Store     *store.Store
	Principal identity.Principal
}

// Find implements Target.
func (t StoreTarget) Find(ctx context.Context, name string, private bool) (*secret.Secret, error) {
	req := store.ListRequest{Name: name, Private: &private, PageSize: 1}
	if private {
		req.Owner = t.Principal.Name
	}
	page, err := t.Store.List(ctx, t.Principal, req)
	if err != nil {
		return nil, err
	}
	if len(page.Items) == 0 {
		return nil, errcode.New(errcode.NotFound, "secret %q not found", name)
	}
	return t.Store.Get(ctx, t.Principal, page.Items[0].ID)
}

// Create implements Target.
func (t StoreTarget) Create(ctx context.Context, name string, private bool, values map[string]string, origin string) (*secret.Secret, error) {
	return t.Store.Create(ctx, t.Principal, store.CreateRequest{Name: name, Private: private, Values: values, Origin: origin})
}

// Replace implements Target.
func (t StoreTarget) Replace(ctx context.Context, id string, version int64, values map[string]string, origin string) (*secret.Secret, error) {
	vals := make(map[string]*string, len(values))
	for k, v := range values {
		vals[k] = &v
	}
	return t.Store.Update(ctx, t.Principal, id, store.UpdateRequest{Values: vals, ReplaceValues: true, IfMatch: version, Origin: &origin})
}

// Get implements Target.
func (t StoreTarget) Get(ctx context.Context, id string) (*secret.Secret, error) {
	return t.Store.Get(ctx, t.Principal, id)
}

// As implements OwnerTarget: the same store acting as owner, a member.
func (t StoreTarget) As(_ context.Context, owner string) (Target, error) {
	if err := identity.ValidateName(owner); err != nil {
		return nil, err
	}
	return StoreTarget{Store: t.Store, Principal: identity.Principal{Name: owner, Role: identity.Member}}, nil
}
