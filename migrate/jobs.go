package migrate

import (
	"cmp"
	"context"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/openurl"
)

// Job is one queue-driven migration: what the CLI's start created.
type Job struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"` // the principal that owns the secrets the job creates
	Source  string    `json:"source"`
	Options Options   `json:"options"`
}

// EntryStatus is the recorded state of one entry of a job.
type EntryStatus struct {
	Name     string    `json:"name"`
	Outcome  Outcome   `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	Target   string    `json:"target,omitempty"`
	TargetID string    `json:"target_id,omitempty"`
	Attempts int       `json:"attempts"`
	Updated  time.Time `json:"updated"`
}

// Counts are a job's entries by outcome.
type Counts map[Outcome]int

// Total is the number of entries.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// JobStore keeps jobs and their per-entry outcomes durably. It is the only
// state the migrator keeps besides the central store itself, and is kept
// small so that any deployment's database can carry it: the
// SQL implementation (package migrate/sqljobs) serves SQLite and
// PostgreSQL. Implementations are safe for concurrent use, also from
// several processes, and classify errors with errcode.
type JobStore interface {
	// CreateJob stores job with its entries (pending, or already decided:
	// skipped and not_migratable entries of the listing). Errors:
	// already_exists when the id is taken.
	CreateJob(ctx context.Context, job Job, entries []EntryStatus) error
	// Job returns the job. Errors: not_found.
	Job(ctx context.Context, id string) (*Job, error)
	// Jobs returns at most limit jobs (limit > 0), newest first (by Created,
	// then by id), for the dashboard's and the API's list of jobs. It reads
	// every job record, which is cheap: a deployment has few jobs.
	Jobs(ctx context.Context, limit int) ([]Job, error)
	// Record stores the outcome of one delivery of an entry and counts the
	// attempt. A final outcome (Outcome.Final) is never replaced: a late or
	// duplicate delivery cannot undo a migration. Errors: not_found when the
	// job has no such entry.
	Record(ctx context.Context, jobID string, st EntryStatus) error
	// Entry returns the status of one entry. Errors: not_found.
	Entry(ctx context.Context, jobID, name string) (*EntryStatus, error)
	// Entries returns the job's entries with the outcome (all when ""),
	// sorted by name.
	Entries(ctx context.Context, jobID string, outcome Outcome) ([]EntryStatus, error)
	// Counts returns the job's entries counted by outcome. Errors: not_found.
	Counts(ctx context.Context, jobID string) (Counts, error)
	// ResetFailed sets the job's failed entries back to pending and returns
	// their names, for a retry.
	ResetFailed(ctx context.Context, jobID string) ([]string, error)
	// Close releases the store.
	Close() error
}

// Queue sends migration messages. Implementations: package
// migrate/sqsqueue (SQS). Safe for concurrent use.
type Queue interface {
	// Send enqueues the messages; it returns only when every one was
	// accepted, or an error (unavailable when the queue is down).
	Send(ctx context.Context, msgs []Message) error
}

// JobStoreOpener opens a job store from its URL. It must reject unknown
// parameters and credentials in the URL.
type JobStoreOpener func(ctx context.Context, u *url.URL) (JobStore, error)

var jobStores = openurl.NewRegistry[JobStoreOpener]("job store")

// RegisterJobStore makes a job store available under a URL scheme; call it
// from an init function (packages migrate/sqljobs: sqlite, postgres, mysql;
// migrate/dynamojobs: dynamodb).
func RegisterJobStore(scheme string, open JobStoreOpener) { jobStores.Register(scheme, open) }

// OpenJobStore opens the job store rawURL names by its scheme. Errors:
// invalid_argument for a bad URL or a scheme not linked into this binary.
func OpenJobStore(ctx context.Context, rawURL string) (JobStore, error) {
	if rawURL == "" {
		return nil, errcode.New(errcode.InvalidArgument, "no job store: set LOCKWELL_MIGRATE_JOBS (sqlite:///PATH.db, postgres://HOST/DB, mysql://HOST/DB or dynamodb://TABLE)")
	}
	open, u, err := jobStores.Lookup(rawURL)
	if err != nil {
		return nil, err
	}
	return open(ctx, u)
}

// JobStoreURLFromEnv returns the job store URL of a deployment whose store
// URL is storeURL: LOCKWELL_MIGRATE_JOBS, or else the store URL itself when
// it is a SQL store, so that jobs live in the same database as the secrets.
// "" when neither applies (a DynamoDB deployment names its jobs table).
func JobStoreURLFromEnv(storeURL string) string {
	if u := os.Getenv("LOCKWELL_MIGRATE_JOBS"); u != "" {
		return u
	}
	for _, p := range []string{"sqlite:", "postgres:", "postgresql:", "mysql:"} {
		if strings.HasPrefix(storeURL, p) {
			return storeURL
		}
	}
	return ""
}

// NewestJobs sorts jobs newest first (by Created, then by id descending) and
// keeps at most limit: the order of JobStore.Jobs, in one place.
func NewestJobs(jobs []Job, limit int) []Job {
	slices.SortFunc(jobs, func(a, b Job) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if len(jobs) > limit {
		jobs = jobs[:limit]
	}
	return jobs
}
