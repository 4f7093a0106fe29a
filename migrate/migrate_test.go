package migrate_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	_ "github.com/lockwell/lockwell/migrate/legacy/local"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

var alice = identity.Principal{Name: "alice", Role: identity.Member}

// fixture is a local legacy source holding secrets and an empty central
// store acting as alice.
type fixture struct {
	src    legacy.Source
	url    string
	store  *store.Store
	target migrate.StoreTarget
}

func newFixture(t *testing.T, secrets []legacytest.Secret) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, secrets, map[string]map[string]string{"not_zenml": {"x": "eQ=="}})
	u := (&url.URL{Scheme: "zenml-local", Path: path}).String()
	src, err := legacy.Open(context.Background(), u)
	require.NoError(t, err)
	st := store.New(memstore.New())
	return &fixture{src: src, url: u, store: st, target: migrate.StoreTarget{Store: st, Principal: alice}}
}

func (f *fixture) migrate(t *testing.T, opts migrate.Options, name string) migrate.Result {
	t.Helper()
	res, err := migrate.Migrate(context.Background(), f.src, f.target, opts, name)
	require.NoError(t, err)
	return res
}

func (f *fixture) create(t *testing.T, name string, values map[string]string) {
	t.Helper()
	_, err := f.store.Create(context.Background(), alice, store.CreateRequest{Name: name, Values: values})
	require.NoError(t, err)
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	page, err := f.store.List(context.Background(), alice, store.ListRequest{PageSize: 1000})
	require.NoError(t, err)
	return len(page.Items)
}

func TestMigrateEveryFixtureOnceWithOrigin(t *testing.T) {
	all := append(legacytest.All(), legacytest.Typed())
	f := newFixture(t, all)
	for round := 0; round < 2; round++ { // the second round is a re-run: no-ops
		for _, s := range all {
			res := f.migrate(t, migrate.Options{}, s.Name)
			require.Equal(t, migrate.Migrated, res.Outcome, "%s: %s", s.Name, res.Reason)
			got, err := f.store.Lookup(context.Background(), alice, s.Name)
			require.NoError(t, err)
			legacytest.RequireSameValues(t, s.Want(), got.Values, s.Name)
			require.Equal(t, f.src.Describe().Origin(s.Name), got.Origin)
			require.Equal(t, int64(1), got.Version, "a re-run must not write again")
		}
	}
	require.Equal(t, len(all), f.count(t))
}

func TestConflictPolicies(t *testing.T) {
	openai := legacytest.Reference()[2]
	other := map[string]string{"api_key": "different"}
	tests := []struct {
		policy   migrate.ConflictPolicy
		existing map[string]string
		outcome  migrate.Outcome
		target   string
		values   map[string]string // values the target name holds afterwards
	}{
		{migrate.Fail, openai.Want(), migrate.Skipped, "openai", openai.Want()}, // same values: skipped, not an error
		{migrate.Fail, other, migrate.Failed, "openai", other},
		{migrate.Skip, other, migrate.Skipped, "openai", other},
		{migrate.Overwrite, other, migrate.Migrated, "openai", openai.Want()},
		{migrate.Overwrite, map[string]string{"api_key": "x", "extra": "y"}, migrate.Migrated, "openai", openai.Want()},
		{migrate.Rename, other, migrate.Migrated, "", openai.Want()},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			f := newFixture(t, legacytest.Reference())
			f.create(t, "openai", tt.existing)
			opts := migrate.Options{OnConflict: tt.policy}
			res := f.migrate(t, opts, "openai")
			require.Equal(t, tt.outcome, res.Outcome, res.Reason)
			target := tt.target
			if target == "" {
				target = migrate.RenamedName("openai", f.src.Describe().Origin("openai"))
				require.Equal(t, target, res.Target, "the rename is reported")
			}
			got, err := f.store.Lookup(context.Background(), alice, target)
			require.NoError(t, err)
			legacytest.RequireSameValues(t, tt.values, got.Values, target)
			n := f.count(t)
			again := f.migrate(t, opts, "openai") // a re-run changes nothing
			require.Equal(t, n, f.count(t))
			if tt.outcome == migrate.Migrated {
				require.Equal(t, migrate.Migrated, again.Outcome)
				require.Equal(t, res.Target, again.Target)
			}
		})
	}
}

func TestDeleteSourceOnlyAfterVerifiedCopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, legacytest.Reference())
	f.create(t, "openai", map[string]string{"api_key": "different"})
	opts := migrate.Options{DeleteSource: true}

	res := f.migrate(t, opts, "mlflow_basic")
	require.Equal(t, migrate.Migrated, res.Outcome)
	require.True(t, res.SourceDeleted)
	_, err := f.src.Read(ctx, "mlflow_basic")
	require.Error(t, err, "deleted after the copy was verified")

	res = f.migrate(t, opts, "mlflow_basic") // redelivery after the delete
	require.Equal(t, migrate.Migrated, res.Outcome, res.Reason)

	res = f.migrate(t, opts, "openai") // conflict: fail keeps the source
	require.Equal(t, migrate.Failed, res.Outcome)
	require.False(t, res.SourceDeleted)
	_, err = f.src.Read(ctx, "openai")
	require.NoError(t, err)
}

func TestSkippedAndInvalidEntries(t *testing.T) {
	f := newFixture(t, []legacytest.Secret{{Name: "bad key", Schema: "arbitrary", Values: map[string]any{"k": "v"}},
		{Name: "badkeys", Schema: "arbitrary", Values: map[string]any{"has space": "v"}},
		{Name: "huge", Schema: "arbitrary", Values: map[string]any{"blob": strings.Repeat("x", 70*1024)}}})
	res := f.migrate(t, migrate.Options{}, "huge")
	require.Equal(t, migrate.Failed, res.Outcome)
	require.Contains(t, res.Reason, "64 KiB")
	require.Equal(t, migrate.Skipped, f.migrate(t, migrate.Options{}, "not_zenml").Outcome)
	require.Equal(t, migrate.Failed, f.migrate(t, migrate.Options{}, "bad key").Outcome)
	res = f.migrate(t, migrate.Options{}, "badkeys")
	require.Equal(t, migrate.Failed, res.Outcome)
	require.Contains(t, res.Reason, "has space")
	require.Equal(t, migrate.Failed, f.migrate(t, migrate.Options{}, "missing").Outcome)
	require.Equal(t, 0, f.count(t))
}

// A plan shows what a run does: a legacy entry that changed since it was
// migrated updates its earlier copy (found by origin) under any policy, so
// the plan must not call it a conflict.
func TestPlanShowsUpdateOfEarlierCopy(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, legacytest.Reference())
	origin := f.src.Describe().Origin("openai")
	_, err := f.store.Create(ctx, alice, store.CreateRequest{Name: "openai", Values: map[string]string{"api_key": "old"}, Origin: origin})
	require.NoError(t, err)

	items, err := migrate.Plan(ctx, f.src, f.target, migrate.Options{}, []string{"openai"})
	require.NoError(t, err)
	require.Len(t, items, 1)
	require.Equal(t, migrate.ActionUpdate, items[0].Action, items[0].Reason)

	res := f.migrate(t, migrate.Options{}, "openai")
	require.Equal(t, migrate.Migrated, res.Outcome, res.Reason)
	require.Equal(t, 1, f.count(t), "updated in place, no second copy")
}

// Plan and Run agree entry by entry, under every conflict policy: the
// outcome, reason and target a plan shows are what the run then reports,
// including entries a run fails (a bad name, a bad key, a conflict), which
// must not abort the plan.
func TestPlanAgreesWithRunEntryByEntry(t *testing.T) {
	ctx := context.Background()
	secrets := append(legacytest.Reference(),
		legacytest.Secret{Name: "bad key", Schema: "arbitrary", Values: map[string]any{"k": "v"}},
		legacytest.Secret{Name: "badkeys", Schema: "arbitrary", Values: map[string]any{"has space": "v"}},
		legacytest.Secret{Name: "huge", Schema: "arbitrary", Values: map[string]any{"blob": strings.Repeat("x", 70*1024)}})
	for _, policy := range []migrate.ConflictPolicy{migrate.Fail, migrate.Skip, migrate.Overwrite, migrate.Rename} {
		t.Run(string(policy), func(t *testing.T) {
			f := newFixture(t, secrets)
			f.create(t, "openai", map[string]string{"api_key": "someone else's"})
			f.create(t, "aws_creds", legacytest.Reference()[1].Want())
			opts := migrate.Options{OnConflict: policy}
			plan, err := migrate.Plan(ctx, f.src, f.target, opts, nil)
			require.NoError(t, err, "one bad entry fails that entry, not the plan")
			results, err := migrate.Run(ctx, f.src, f.target, opts, nil, 2, nil)
			require.NoError(t, err)
			require.Len(t, plan, len(results))
			failed := 0
			for i, r := range results {
				p := plan[i]
				require.Equal(t, r.Name, p.Name)
				require.Equal(t, r.Outcome, p.Outcome, "%s: plan %q, run %q", r.Name, p.Reason, r.Reason)
				require.Equal(t, r.Reason, p.Reason, r.Name)
				require.Equal(t, r.Target, p.Target, r.Name)
				if r.Outcome == migrate.Failed {
					failed++
				}
			}
			require.GreaterOrEqual(t, failed, 3, "bad key, badkeys and huge fail under every policy")
		})
	}
}
