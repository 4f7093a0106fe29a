// Package centraltest is the one check every source of ZenML's centralized
// secrets store (zenml-server, zenml-sql, and the centralized naming of the
// cloud readers) runs: a plan, then a run into an empty store, must move
// every secret the source can see, public ones as public secrets of the
// runner and private ones as private secrets of their mapped owner, with
// the plan matching the run; a second plan and run are no-ops. Failure
// messages name secrets and keys, never values.
package centraltest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

// Secret is one secret of ZenML's centralized store as a test planted it.
type Secret struct {
	Name    string
	User    string // the ZenML user's name
	Private bool
	Values  map[string]string
}

// Fixture is a set of ZenML users' secrets that covers the cases the
// migration must keep apart: public and private secrets of several users,
// a private and a public secret of the same name, two users' private
// secrets of the same name, values with non-ASCII text and empty strings.
func Fixture() []Secret {
	return []Secret{
		{Name: "openai", User: "alice", Values: map[string]string{"api_key": "sk-public-openai-0001"}},
		{Name: "openai", User: "alice", Private: true, Values: map[string]string{"api_key": "sk-alice-own-0002"}},
		{Name: "mlflow", User: "bob", Values: map[string]string{"username": "tracker", "password": "päss wörd ✓ 日本 🔑"}},
		{Name: "personal", User: "alice", Private: true, Values: map[string]string{"token": "alice-personal-0003", "blank": ""}},
		{Name: "personal", User: "bob", Private: true, Values: map[string]string{"token": "bob-personal-0004"}},
		{Name: "s3.bucket", User: "ci", Values: map[string]string{"aws_access_key_id": "AKIAEXAMPLE0005", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/0006"}},
		{Name: "ci_deploy", User: "ci", Private: true, Values: map[string]string{"ssh_key": "-----BEGIN KEY-----\nabc\n-----END KEY-----"}},
	}
}

// Runner is the principal the migration runs as (public secrets belong to
// it); Owners maps the ZenML users of Fixture to Lockwell principals.
var (
	Runner = identity.Principal{Name: "migrator", Role: identity.Member}
	Owners = map[string]string{"alice": "alice@example.com", "bob": "bob@example.com", "ci": "ci-bot"}
)

// Visible returns the secrets of all that a ZenML caller logged in as user
// sees: public ones and the user's own private ones ("" sees all, as a
// direct database reader does).
func Visible(all []Secret, user string) []Secret {
	var out []Secret
	for _, s := range all {
		if !s.Private || user == "" || s.User == user {
			out = append(out, s)
		}
	}
	return out
}

// RequireMigrates plans and runs src into an empty store and checks that
// exactly want arrived where it belongs, that the plan said so, and that a
// second plan and run change nothing; the entries named skipped must be
// planned and reported as skipped. owners is the run's owner map (ZenML
// user name or id to principal), which must send each user's private
// secrets to Owners[user]. It returns the store for further checks.
func RequireMigrates(t *testing.T, src legacy.Source, want []Secret, owners map[string]string, skipped ...string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := store.New(memstore.New())
	tgt := migrate.StoreTarget{Store: st, Principal: Runner}
	opts := migrate.Options{OwnerMap: owners}

	plan, err := migrate.Plan(ctx, src, tgt, opts, nil)
	require.NoError(t, err)
	require.Len(t, plan, len(want)+len(skipped), "the plan lists every visible secret once")
	isSkipped := map[string]bool{}
	for _, n := range skipped {
		isSkipped[n] = true
	}
	planned := map[string]migrate.PlanItem{}
	for _, p := range plan {
		if isSkipped[p.Name] {
			require.Equal(t, migrate.Skipped, p.Outcome, "%s", p.Name)
		} else {
			require.NotEmpty(t, p.ID, "%s: a centralized entry is referenced by its id", p.Name)
			require.Equal(t, migrate.ActionCreate, p.Action, "%s: %s", p.Name, p.Reason)
		}
		planned[p.Ref()] = p
	}

	results, err := migrate.Run(ctx, src, tgt, opts, nil, 4, nil)
	require.NoError(t, err)
	require.Len(t, results, len(want)+len(skipped))
	for _, r := range results {
		p, ok := planned[r.Name]
		require.True(t, ok, "run migrated %s, which the plan did not list", r.Name)
		if p.Outcome == migrate.Skipped {
			require.Equal(t, migrate.Skipped, r.Outcome, "%s: %s", p.Name, r.Reason)
			require.Equal(t, p.Reason, r.Reason, "plan and run give the same reason for skipping %s", p.Name)
			continue
		}
		require.Equal(t, migrate.Migrated, r.Outcome, "%s: %s", r.Name, r.Reason)
		require.Equal(t, p.Target, r.Target, "plan and run agree on the target name of %s", r.Name)
	}

	// Every secret is where it belongs, with its values and its origin.
	found := 0
	for _, w := range want {
		owner := Runner
		if w.Private {
			owner = identity.Principal{Name: Owners[w.User], Role: identity.Member}
		}
		private := w.Private
		req := store.ListRequest{Name: w.Name, Private: &private}
		if private {
			req.Owner = owner.Name
		}
		page, err := st.List(ctx, owner, req)
		require.NoError(t, err)
		require.Len(t, page.Items, 1, "%s (private %v of %s) is where it belongs", w.Name, w.Private, w.User)
		got, err := st.Get(ctx, owner, page.Items[0].ID)
		require.NoError(t, err)
		legacytest.RequireSameValues(t, w.Values, got.Values, w.Name)
		require.Contains(t, got.Origin, "#", "%s records its origin", w.Name)
		for _, p := range plan {
			if p.Name == w.Name && p.Private == w.Private && (!w.Private || p.Owner == owner.Name) {
				require.Equal(t, src.Describe().CentralOrigin(p.ID), got.Origin, "%s: origin names the ZenML secret id", w.Name)
				found++
			}
		}
	}
	require.Equal(t, len(want), found, "each planned entry matches one migrated secret")
	require.Equal(t, len(want), count(t, st), "nothing else was created")

	// A second plan and run are no-ops.
	again, err := migrate.Plan(ctx, src, tgt, opts, nil)
	require.NoError(t, err)
	for _, p := range again {
		if !isSkipped[p.Name] {
			require.Equal(t, migrate.ActionNone, p.Action, "re-plan of %s: %s", p.Name, p.Reason)
		}
	}
	results, err = migrate.Run(ctx, src, tgt, opts, nil, 4, nil)
	require.NoError(t, err)
	for _, r := range results {
		if r.Outcome != migrate.Skipped || !isSkipped[planned[r.Name].Name] {
			require.Equal(t, migrate.Migrated, r.Outcome, "%s: %s", r.Name, r.Reason)
			require.Equal(t, "already migrated", r.Reason, "%s", r.Name)
		}
	}
	require.Equal(t, len(want), count(t, st))
	return st
}

// count returns how many secrets the store holds: the runner's view plus
// every owner's private ones.
func count(t *testing.T, st *store.Store) int {
	t.Helper()
	n := 0
	for _, p := range append([]string{Runner.Name}, values(Owners)...) {
		yes, no := true, false
		for _, private := range []*bool{&yes, &no} {
			if !*private && p != Runner.Name {
				continue // public secrets are counted once, from the runner
			}
			req := store.ListRequest{Private: private, PageSize: 1000}
			if *private {
				req.Owner = p
			}
			page, err := st.List(context.Background(), identity.Principal{Name: p, Role: identity.Member}, req)
			require.NoError(t, err)
			n += len(page.Items)
		}
	}
	return n
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
