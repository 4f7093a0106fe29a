package cli

import (
	"context"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/client"
	"github.com/lockwell/lockwell/shared/secret"
)

// ClientTarget is a migrate.Target over the HTTP API, acting as the
// client's principal. It behaves as migrate.StoreTarget does: Create records
// the origin, and Replace is one conditional PATCH (If-Match the version
// read) with replace_values, which makes the legacy values the complete new
// set, and the origin. So a re-run after a legacy entry changed finds its
// earlier copy by origin and updates it, through the API as in process.
// Safe for concurrent use.
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
