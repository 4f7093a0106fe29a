// Package jobstoretest is the conformance suite every migrate.JobStore
// passes: SQL (SQLite, PostgreSQL) and DynamoDB alike.
package jobstoretest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// Exercise checks js: jobs and entries round-trip, a final outcome is never
// replaced, counts follow outcomes, and failed entries reset for a retry.
func Exercise(t *testing.T, js migrate.JobStore) {
	ctx := context.Background()
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

	exerciseManyConcurrent(t, js)
	exerciseJobs(t, js)
}

// exerciseJobs lists the jobs newest first, with a limit; j2 was created
// after j1 (or at the same instant, when the larger id comes first).
func exerciseJobs(t *testing.T, js migrate.JobStore) {
	ctx := context.Background()
	old := migrate.Job{ID: "j0", Created: secret.Now().Add(-time.Hour), Owner: "carol", Source: "zenml-local:///old.yaml",
		Options: migrate.Options{OnConflict: migrate.Skip}}
	require.NoError(t, js.CreateJob(ctx, old, nil))
	jobs, err := js.Jobs(ctx, 10)
	require.NoError(t, err)
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	require.Equal(t, []string{"j2", "j1", "j0"}, ids)
	require.Equal(t, "carol", jobs[2].Owner)
	require.Equal(t, old.Options, jobs[2].Options)
	require.True(t, old.Created.Equal(jobs[2].Created))
	jobs, err = js.Jobs(ctx, 1)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	require.Equal(t, "j2", jobs[0].ID)
	_, err = js.Jobs(ctx, 0)
	require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

// exerciseManyConcurrent records 130 entries from 8 goroutines, each entry
// twice (a duplicate delivery that fails late), and checks nothing is lost.
func exerciseManyConcurrent(t *testing.T, js migrate.JobStore) {
	ctx := context.Background()
	job := migrate.Job{ID: "j2", Created: secret.Now(), Owner: "bob", Source: "zenml-local:///s.yaml"}
	var entries []migrate.EntryStatus
	for i := range 130 {
		entries = append(entries, migrate.EntryStatus{Name: fmt.Sprintf("entry-%03d", i), Outcome: migrate.Pending})
	}
	require.NoError(t, js.CreateJob(ctx, job, entries))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < len(entries); i += 8 {
				name := entries[i].Name
				if err := js.Record(ctx, job.ID, migrate.EntryStatus{Name: name, Outcome: migrate.Migrated, Target: name, Updated: secret.Now()}); err != nil {
					errs <- err
					return
				}
				if err := js.Record(ctx, job.ID, migrate.EntryStatus{Name: name, Outcome: migrate.Failed, Reason: "late", Updated: secret.Now()}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(t, <-errs)
	counts, err := js.Counts(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, migrate.Counts{migrate.Migrated: 130}, counts)
	all, err := js.Entries(ctx, job.ID, "")
	require.NoError(t, err)
	require.Len(t, all, 130)
	require.Equal(t, "entry-000", all[0].Name)
	require.Equal(t, "entry-129", all[129].Name)
}
