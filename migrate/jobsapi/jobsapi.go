// Package jobsapi serves the migrator's job store to the HTTP API: it
// adapts a migrate.JobStore to httpapi.MigrationJobs, which the admin
// routes GET /api/v1/migrations and GET /api/v1/migrations/{job} read (the
// dashboard's Migrations page). It reads only; it never starts, retries or
// changes a job. It lives beside the migrator so that shared/httpapi never
// imports migrate.
package jobsapi

import (
	"context"
	"strings"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
)

// Jobs is a job store read through the API's interface. Safe for concurrent
// use when the store is.
type Jobs struct {
	Store migrate.JobStore
}

var _ httpapi.MigrationJobs = Jobs{}

// outcomes are the outcomes an entry can have, in the order of
// `lockwell migrate status`'s summary.
var outcomes = []migrate.Outcome{migrate.Pending, migrate.Migrated, migrate.Skipped, migrate.Failed, migrate.NotMigratable}

// ListMigrationJobs implements httpapi.MigrationJobs: the store's Jobs,
// each with its counts (one Counts read per job).
func (j Jobs) ListMigrationJobs(ctx context.Context, limit int) ([]httpapi.MigrationJob, error) {
	jobs, err := j.Store.Jobs(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.MigrationJob, 0, len(jobs))
	for _, job := range jobs {
		counts, err := j.Store.Counts(ctx, job.ID)
		if errcode.Is(err, errcode.NotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, jobOf(job, counts))
	}
	return out, nil
}

// MigrationJob implements httpapi.MigrationJobs.
func (j Jobs) MigrationJob(ctx context.Context, id, outcome string) (httpapi.MigrationJob, []httpapi.MigrationEntry, error) {
	o := migrate.Outcome(outcome)
	if outcome != "" && !knownOutcome(o) {
		names := make([]string, len(outcomes))
		for i, k := range outcomes {
			names[i] = string(k)
		}
		return httpapi.MigrationJob{}, nil, errcode.New(errcode.InvalidArgument, "outcome must be one of %s", strings.Join(names, ", "))
	}
	job, err := j.Store.Job(ctx, id)
	if err != nil {
		return httpapi.MigrationJob{}, nil, err
	}
	counts, err := j.Store.Counts(ctx, id)
	if err != nil {
		return httpapi.MigrationJob{}, nil, err
	}
	entries, err := j.Store.Entries(ctx, id, o)
	if err != nil {
		return httpapi.MigrationJob{}, nil, err
	}
	out := make([]httpapi.MigrationEntry, len(entries))
	for i, e := range entries {
		out[i] = httpapi.MigrationEntry{Name: e.Name, Outcome: string(e.Outcome), Reason: e.Reason, Target: e.Target,
			TargetID: e.TargetID, Attempts: e.Attempts, Updated: e.Updated.UTC()}
	}
	return jobOf(*job, counts), out, nil
}

func knownOutcome(o migrate.Outcome) bool {
	for _, k := range outcomes {
		if k == o {
			return true
		}
	}
	return false
}

func jobOf(job migrate.Job, counts migrate.Counts) httpapi.MigrationJob {
	c := make(map[string]int, len(counts))
	for o, n := range counts {
		c[string(o)] = n
	}
	return httpapi.MigrationJob{ID: job.ID, Created: job.Created.UTC(), Owner: job.Owner, Source: job.Source,
		Options: job.Options, Counts: c, Total: counts.Total()}
}
