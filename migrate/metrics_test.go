package migrate_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/shared/metrics"
	"github.com/lockwell/lockwell/shared/metrics/prom"
)

// TestMigrationOutcomesAreCounted migrates entries that end in each outcome
// and checks that every call of Migrate is counted once by its outcome, and
// that no series names an entry.
func TestMigrationOutcomesAreCounted(t *testing.T) {
	e := prom.New()
	t.Cleanup(metrics.Register(e))
	f := newFixture(t, []legacytest.Secret{
		{Name: "good", Schema: "arbitrary", Values: map[string]any{"k": "v"}},
		{Name: "bad key", Schema: "arbitrary", Values: map[string]any{"k": "v"}},
	})
	require.Equal(t, migrate.Migrated, f.migrate(t, migrate.Options{}, "good").Outcome)
	require.Equal(t, migrate.Migrated, f.migrate(t, migrate.Options{}, "good").Outcome) // a re-run
	require.Equal(t, migrate.Failed, f.migrate(t, migrate.Options{}, "bad key").Outcome)
	require.Equal(t, migrate.Skipped, f.migrate(t, migrate.Options{}, "not_zenml").Outcome)

	families, err := e.Gatherer().Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, fam := range families {
		if fam.GetName() != "lockwell_migration_entries_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			require.Len(t, m.GetLabel(), 1)
			got[m.GetLabel()[0].GetName()+"="+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	assert.Equal(t, map[string]float64{"outcome=migrated": 2, "outcome=failed": 1, "outcome=skipped": 1}, got)
}
