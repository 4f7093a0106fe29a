package sqljobs_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// stores returns the job store URLs to test: SQLite always, PostgreSQL
// when LOCKWELL_TEST_POSTGRES_URL names a server (in a fresh schema).
func stores(t *testing.T) map[string]string {
	urls := map[string]string{"sqlite": "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")}
	pg := os.Getenv("LOCKWELL_TEST_POSTGRES_URL")
	if pg == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("LOCKWELL_TEST_POSTGRES_URL is required in CI")
		}
		t.Log("LOCKWELL_TEST_POSTGRES_URL not set: PostgreSQL not tested")
		return urls
	}
	db, err := sql.Open("pgx", pg)
	require.NoError(t, err)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "migrate_test_" + hex.EncodeToString(b)
	_, err = db.Exec("CREATE SCHEMA " + schema)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec("DROP SCHEMA " + schema + " CASCADE"); db.Close() })
	u, err := url.Parse(pg)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	urls["postgres"] = u.String()
	return urls
}

func TestJobStore(t *testing.T) {
	for name, u := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			js, err := sqljobs.Open(ctx, u)
			require.NoError(t, err)
			defer js.Close()
			job := migrate.Job{ID: "j1", Created: secret.Now(), Owner: "alice", Source: "zenml-aws://?region=r&scope=global",
				Options: migrate.Options{Private: true, OnConflict: migrate.Rename, DeleteSource: true}}
			require.NoError(t, js.CreateJob(ctx, job, []migrate.EntryStatus{
				{Name: "a", Outcome: migrate.Pending}, {Name: "b", Outcome: migrate.Pending},
				{Name: "c", Outcome: migrate.Skipped, Reason: "not a ZenML entry"},
			}))
			require.Equal(t, errcode.AlreadyExists, errcode.Of(js.CreateJob(ctx, job, nil)))
			got, err := js.Job(ctx, "j1")
			require.NoError(t, err)
			require.Equal(t, job.Options, got.Options)
			require.True(t, job.Created.Equal(got.Created))
			_, err = js.Job(ctx, "nope")
			require.Equal(t, errcode.NotFound, errcode.Of(err))

			require.NoError(t, js.Record(ctx, "j1", migrate.EntryStatus{Name: "a", Outcome: migrate.Migrated, Target: "a", TargetID: "id-a", Updated: secret.Now()}))
			require.NoError(t, js.Record(ctx, "j1", migrate.EntryStatus{Name: "a", Outcome: migrate.Failed, Reason: "late duplicate", Updated: secret.Now()}))
			a, err := js.Entry(ctx, "j1", "a")
			require.NoError(t, err)
			require.Equal(t, migrate.Migrated, a.Outcome, "a final outcome is never replaced")
			require.Equal(t, 1, a.Attempts)
			require.NoError(t, js.Record(ctx, "j1", migrate.EntryStatus{Name: "b", Outcome: migrate.Failed, Reason: "conflict", Updated: secret.Now()}))
			require.Equal(t, errcode.NotFound, errcode.Of(js.Record(ctx, "j1", migrate.EntryStatus{Name: "zz", Outcome: migrate.Failed})))

			counts, err := js.Counts(ctx, "j1")
			require.NoError(t, err)
			require.Equal(t, migrate.Counts{migrate.Migrated: 1, migrate.Failed: 1, migrate.Skipped: 1}, counts)
			failed, err := js.Entries(ctx, "j1", migrate.Failed)
			require.NoError(t, err)
			require.Len(t, failed, 1)
			require.Equal(t, "conflict", failed[0].Reason)
			names, err := js.ResetFailed(ctx, "j1")
			require.NoError(t, err)
			require.Equal(t, []string{"b"}, names)
			all, err := js.Entries(ctx, "j1", "")
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b", "c"}, []string{all[0].Name, all[1].Name, all[2].Name})
			require.Equal(t, migrate.Pending, all[1].Outcome)
		})
	}
}

func TestURLs(t *testing.T) {
	for _, bad := range []string{"mysql://h/db", "sqlite:///x.db?color=red", "postgres://u:pw@h/db", "sqlite://host/x.db"} {
		_, err := sqljobs.Open(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
	t.Setenv("LOCKWELL_MIGRATE_JOBS", "")
	require.Equal(t, "sqlite:///d/l.db", sqljobs.URLFromEnv("sqlite:///d/l.db"))
	require.Equal(t, "", sqljobs.URLFromEnv("dynamodb://table"))
	t.Setenv("LOCKWELL_MIGRATE_JOBS", "postgres://h/jobs")
	require.Equal(t, "postgres://h/jobs", sqljobs.URLFromEnv("dynamodb://table"))
}
