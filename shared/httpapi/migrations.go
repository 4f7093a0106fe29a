package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
)

// The migration routes are `lockwell migrate status` over HTTP, read-only
// and for admins only (permission_denied for members):
//
//	GET /api/v1/migrations?limit=N           list_migrations: 200 {"items": [job, ...]},
//	                                         at most N (1-200, default 50) jobs, newest first
//	GET /api/v1/migrations/{job}?outcome=O   get_migration: 200 {"job": job, "entries": [entry, ...]},
//	                                         the job's entries with outcome O (all when absent),
//	                                         sorted by name; 404 not_found for an unknown job
//
// A job is {"id", "created", "owner", "source", "options", "counts":
// {"<outcome>": n}, "total"}; an entry is {"name", "outcome", "reason"?,
// "target"?, "target_id"?, "attempts", "updated"}. Outcomes are pending,
// migrated, skipped, failed and not_migratable. Neither carries a value:
// a job records legacy entry names, outcomes and reasons only.
//
// They answer not_found when the deployment has no job store
// (Options.MigrationJobs is nil).

// The operation names of the migration routes.
const (
	OpListMigrations = "list_migrations"
	OpGetMigration   = "get_migration"
)

const (
	pathMigrations = "/api/v1/migrations"
	pathMigration  = "/api/v1/migrations/{job}"
)

// The query parameters of the migration routes (their lines in routes).
var (
	listMigrationsParams = []string{"limit"}
	getMigrationParams   = []string{"outcome"}
)

// Bounds of GET /api/v1/migrations?limit=.
const (
	DefaultMigrationsLimit = 50
	MaxMigrationsLimit     = 200
)

// MigrationJobs reads a deployment's migration jobs for the migration
// routes. Package migrate/jobsapi adapts the migrator's job store
// (migrate.JobStore) to it, so that this package never imports the
// migrator. Implementations are safe for concurrent use, classify errors
// with errcode and never return a secret value.
type MigrationJobs interface {
	// ListMigrationJobs returns at most limit (> 0) jobs, newest first,
	// each with its counts.
	ListMigrationJobs(ctx context.Context, limit int) ([]MigrationJob, error)
	// MigrationJob returns the job with its counts, and its entries whose
	// outcome is outcome ("" for all) sorted by name. Errors: not_found for
	// an unknown job, invalid_argument for an unknown outcome.
	MigrationJob(ctx context.Context, id, outcome string) (MigrationJob, []MigrationEntry, error)
}

// MigrationJob is one migration job as the API answers it.
type MigrationJob struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	Source  string    `json:"source"`
	// Options are the job's options as the migrator records them (a JSON
	// object: private, on_conflict, delete_source, ...).
	Options any            `json:"options"`
	Counts  map[string]int `json:"counts"`
	Total   int            `json:"total"`
}

// MigrationEntry is the recorded outcome of one legacy entry of a job.
type MigrationEntry struct {
	Name     string    `json:"name"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	Target   string    `json:"target,omitempty"`
	TargetID string    `json:"target_id,omitempty"`
	Attempts int       `json:"attempts"`
	Updated  time.Time `json:"updated"`
}

// migrationJobs returns the job reader after checking the caller is an
// admin; not_found when this deployment keeps no jobs.
func (a *API) migrationJobs(rec *record) (MigrationJobs, error) {
	if !rec.principal.IsAdmin() {
		return nil, errcode.New(errcode.PermissionDenied, "only admins can read migration jobs")
	}
	if a.migrations == nil {
		return nil, errcode.New(errcode.NotFound, "this deployment serves no migration jobs; read them with lockwell migrate status --jobs URL")
	}
	return a.migrations, nil
}

// listMigrations serves GET /api/v1/migrations.
func (a *API) listMigrations(w http.ResponseWriter, r *http.Request, rec *record) error {
	jobs, err := a.migrationJobs(rec)
	if err != nil {
		return err
	}
	limit := DefaultMigrationsLimit
	if q := r.URL.Query(); q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > MaxMigrationsLimit || len(q["limit"]) > 1 {
			return errcode.New(errcode.InvalidArgument, "limit must be one number from 1 to %d", MaxMigrationsLimit)
		}
		limit = n
	}
	items, err := jobs.ListMigrationJobs(r.Context(), limit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []MigrationJob{}
	}
	writeJSON(w, http.StatusOK, struct {
		Items []MigrationJob `json:"items"`
	}{items})
	return nil
}

// getMigration serves GET /api/v1/migrations/{job}.
func (a *API) getMigration(w http.ResponseWriter, r *http.Request, rec *record) error {
	jobs, err := a.migrationJobs(rec)
	if err != nil {
		return err
	}
	id := r.PathValue("job")
	if err := validateJobID(id); err != nil {
		return err
	}
	q := r.URL.Query()
	if len(q["outcome"]) > 1 {
		return errcode.New(errcode.InvalidArgument, "outcome may be given once")
	}
	job, entries, err := jobs.MigrationJob(r.Context(), id, q.Get("outcome"))
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []MigrationEntry{}
	}
	writeJSON(w, http.StatusOK, struct {
		Job     MigrationJob     `json:"job"`
		Entries []MigrationEntry `json:"entries"`
	}{job, entries})
	return nil
}

// maxJobIDLength bounds a job id; the CLI's are 36-character UUIDs.
const maxJobIDLength = 64

// validateJobID accepts letters, digits, "-" and "_", at most
// maxJobIDLength of them.
func validateJobID(id string) error {
	ok := id != "" && len(id) <= maxJobIDLength
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if !ok {
		return errcode.New(errcode.InvalidArgument, "a migration job id is 1 to %d letters, digits, - and _ (the id lockwell migrate start prints)", maxJobIDLength)
	}
	return nil
}
