package cli

import (
	"context"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// ClientTarget is a migrate.Target over the HTTP API, acting as the
// client's principal. It behaves as migrate.StoreTarget does: Create records
// the origin, and Replace is one conditional PATCH (If-Match the version
// read) with replace_values, which makes the legacy values the complete new
// set, and the origin. So a re-run after a legacy entry changed finds its
// earlier copy by origin and updates it, through the API as in process.
// Safe for concurrent use.
//
// Through the API it can only act as its own principal: As for anyone else
// is permission_denied, so the private ZenML secrets of users mapped to
// another principal are migrated by `migrate start` (whose consumers create
// as any owner) or by a run with that principal's token.
type ClientTarget struct {
	Client *client.Client
}

var _ migrate.OwnerTarget = ClientTarget{}

// As implements migrate.OwnerTarget: itself when owner is the client's own
// principal (whoami), else permission_denied.
func (t ClientTarget) As(ctx context.Context, owner string) (migrate.Target, error) {
	me, err := t.Client.WhoAmI(ctx)
	if err != nil {
		return nil, err
	}
	if me.Name == owner {
		return t, nil
	}
	return nil, errcode.New(errcode.PermissionDenied, "this private secret goes to %s, but migrate run creates secrets as you (%s); run it with %s's token, or use migrate start, whose consumers create secrets as their mapped owners", owner, me.Name, owner)
}

// Find implements migrate.Target.
func (t ClientTarget) Find(ctx context.Context, name string, private bool) (*secret.Secret, error) {
	vis := client.OnlyPublic
	if private {
		vis = client.OnlyPrivate
	}
	s, err := t.Client.FindSecretByName(ctx, name, vis)
	if err != nil {
		return nil, err
	}
	return t.Client.GetSecret(ctx, s.ID)
}

// Create implements migrate.Target.
func (t ClientTarget) Create(ctx context.Context, name string, private bool, values map[string]string, origin string) (*secret.Secret, error) {
	return t.Client.CreateSecret(ctx, client.NewSecret{Name: name, Private: private, Values: values, Origin: origin})
}

// Replace implements migrate.Target: a PATCH with replace_values and the
// origin, conditional on version.
func (t ClientTarget) Replace(ctx context.Context, id string, version int64, values map[string]string, origin string) (*secret.Secret, error) {
	change := make(map[string]*string, len(values)) // never nil: no values replaces them with none
	for k, v := range values {
		change[k] = &v
	}
	return t.Client.UpdateSecret(ctx, id, client.Update{Values: change, ReplaceValues: true, Origin: &origin, IfMatch: version})
}

// Get implements migrate.Target.
func (t ClientTarget) Get(ctx context.Context, id string) (*secret.Secret, error) {
	return t.Client.GetSecret(ctx, id)
}
