package cli

import (
	"context"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/secret"
)

// ClientTarget is a migrate.Target over the HTTP API, acting as the
// client's principal.
//
// The API does not yet accept an origin on create or update, so secrets
// migrated through it record no Origin; re-runs are still no-ops (the same
// name with the same values is skipped), and overwrite replaces values
// exactly by setting every legacy key and removing the others, conditional
// on the version read.
type ClientTarget struct {
	Client *client.Client
}

var _ migrate.Target = ClientTarget{}

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
func (t ClientTarget) Create(ctx context.Context, name string, private bool, values map[string]string, _ string) (*secret.Secret, error) {
	return t.Client.CreateSecret(ctx, client.NewSecret{Name: name, Private: private, Values: values})
}

// Replace implements migrate.Target: a conditional PATCH that sets every
// new key and removes every other key of the version read.
func (t ClientTarget) Replace(ctx context.Context, id string, version int64, values map[string]string, _ string) (*secret.Secret, error) {
	current, err := t.Client.GetSecret(ctx, id)
	if err != nil {
		return nil, err
	}
	change := map[string]*string{}
	for k := range current.Values {
		if _, keep := values[k]; !keep {
			change[k] = nil
		}
	}
	for k, v := range values {
		change[k] = &v
	}
	return t.Client.UpdateSecret(ctx, id, client.Update{Values: change, IfMatch: version})
}

// Get implements migrate.Target.
func (t ClientTarget) Get(ctx context.Context, id string) (*secret.Secret, error) {
	return t.Client.GetSecret(ctx, id)
}
