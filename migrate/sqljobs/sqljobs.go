// Package sqljobs keeps migration jobs (migrate.JobStore) in SQL: SQLite
// through modernc.org/sqlite, PostgreSQL through pgx and MySQL/MariaDB
// through go-sql-driver/mysql, with one schema (MySQL spells its column
// types its own way: indexed text needs a length, and entry names are at
// most 700 characters there).
// Two tables: migrate_jobs (one row per job: owner, source, options) and
// migrate_entries (one row per legacy entry: outcome, reason, target,
// attempts). Counts are computed from the entries, so they can never drift
// from the per-entry outcomes.
//
// URLs: sqlite:///ABSOLUTE/PATH.db, sqlite:RELATIVE/PATH.db, postgres://HOST:PORT/DB (the password
// comes from PGPASSWORD or ~/.pgpass, never from the URL) and
// mysql://HOST:PORT/DB?tls=... (read by shared/mysqlconn: the user and
// password from MYSQL_USER and MYSQL_PWD or MYSQL_PWD_FILE). PostgreSQL needs
// the "pgx" database/sql driver linked into the binary (the SQL backend's
// package registers it; or import github.com/jackc/pgx/v5/stdlib).
package sqljobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/mysqlconn"
	"github.com/lockwell/lockwell/shared/openurl"
)

const schema = `
CREATE TABLE IF NOT EXISTS migrate_jobs (
	id      TEXT PRIMARY KEY,
	created TEXT NOT NULL,
	owner   TEXT NOT NULL,
	source  TEXT NOT NULL,
	options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS migrate_entries (
	job_id    TEXT NOT NULL REFERENCES migrate_jobs(id),
	name      TEXT NOT NULL,
	outcome   TEXT NOT NULL,
	reason    TEXT NOT NULL DEFAULT '',
	target    TEXT NOT NULL DEFAULT '',
	target_id TEXT NOT NULL DEFAULT '',
	attempts  INTEGER NOT NULL DEFAULT 0,
	updated   TEXT NOT NULL,
	PRIMARY KEY (job_id, name)
);`

// mysqlSchema is schema for MySQL: one statement per Exec, text that is
// indexed has a length (the primary key of job_id and name fits InnoDB's
// 3072 bytes in utf8mb4), and utf8mb4_bin compares names exactly.
var mysqlSchema = []string{`
CREATE TABLE IF NOT EXISTS migrate_jobs (
	id      VARCHAR(64)  NOT NULL PRIMARY KEY,
	created VARCHAR(40)  NOT NULL,
	owner   VARCHAR(255) NOT NULL,
	source  TEXT         NOT NULL,
	options TEXT         NOT NULL
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`, `
CREATE TABLE IF NOT EXISTS migrate_entries (
	job_id    VARCHAR(64)  NOT NULL,
	name      VARCHAR(700) NOT NULL,
	outcome   VARCHAR(32)  NOT NULL,
	reason    TEXT         NOT NULL DEFAULT (''),
	target    TEXT         NOT NULL DEFAULT (''),
	target_id VARCHAR(64)  NOT NULL DEFAULT '',
	attempts  INTEGER      NOT NULL DEFAULT 0,
	updated   VARCHAR(40)  NOT NULL,
	PRIMARY KEY (job_id, name),
	FOREIGN KEY (job_id) REFERENCES migrate_jobs (id)
) ENGINE = InnoDB DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`}

// Store is a migrate.JobStore on database/sql. Safe for concurrent use.
type Store struct {
	db       *sql.DB
	postgres bool
}

var _ migrate.JobStore = (*Store)(nil)

func init() {
	open := func(ctx context.Context, u *url.URL) (migrate.JobStore, error) { return Open(ctx, u.String()) }
	for _, scheme := range []string{"sqlite", "postgres", "postgresql", "mysql"} {
		migrate.RegisterJobStore(scheme, open)
	}
}

// Open opens the job store the URL names and creates its tables. Errors:
// invalid_argument (bad URL, credentials in it), unavailable.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errcode.New(errcode.InvalidArgument, "job store URL must be sqlite:///PATH.db, postgres://HOST/DB or mysql://HOST/DB")
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		return nil, errcode.New(errcode.InvalidArgument, "job store URL must not contain a password; use PGPASSWORD")
	}
	var db *sql.DB
	var postgres bool
	statements := []string{schema}
	switch u.Scheme {
	case "sqlite":
		path := u.Path
		if u.Opaque != "" {
			path = u.Opaque // sqlite:relative/path.db
		}
		if path == "" || u.Host != "" {
			return nil, errcode.New(errcode.InvalidArgument, "job store URL must be sqlite:///ABSOLUTE/PATH.db or sqlite:RELATIVE/PATH.db")
		}
		// The SQL backend's own parameters are accepted, so that the store
		// URL can name the job store too.
		if err := openurl.CheckParams(u, "busy_timeout_ms", "synchronous"); err != nil {
			return nil, err
		}
		// synchronous=NORMAL: a commit survives a crash of the process, and
		// a power loss can lose only the last outcomes, which leaves those
		// entries pending; `lockwell migrate retry` re-sends pending entries
		// and migrating is idempotent, so nothing is lost or duplicated.
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
		if err == nil {
			db.SetMaxOpenConns(1) // one writer; WAL readers wait on busy_timeout otherwise
		}
	case "postgres", "postgresql":
		postgres = true
		if !driverLinked("pgx") {
			return nil, errcode.New(errcode.InvalidArgument, "this build has no PostgreSQL driver; link github.com/jackc/pgx/v5/stdlib")
		}
		q := u.Query()
		q.Del("max_conns") // the SQL backend's own pool setting, not a server parameter
		u.RawQuery = q.Encode()
		db, err = sql.Open("pgx", u.String())
	case "mysql":
		// mysqlconn refuses credentials and unknown parameters in the URL.
		if db, err = mysqlconn.Open(u); err != nil {
			return nil, err
		}
		statements = mysqlSchema
	default:
		return nil, errcode.New(errcode.InvalidArgument, "job store URL scheme must be sqlite, postgres or mysql, got %q", u.Scheme)
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.InvalidArgument, err, "open job store")
	}
	s := &Store{db: db, postgres: postgres}
	for _, st := range statements {
		if _, err := db.ExecContext(ctx, st); err != nil {
			db.Close()
			return nil, errcode.Wrap(errcode.Unavailable, err, "create job store tables")
		}
	}
	return s, nil
}

func driverLinked(name string) bool {
	for _, d := range sql.Drivers() {
		if d == name {
			return true
		}
	}
	return false
}

// Close implements migrate.JobStore.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites ? placeholders to $n for PostgreSQL.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func unavailable(err error, what string) error {
	if errcode.Of(err) != errcode.Internal {
		return err
	}
	return errcode.Wrap(errcode.Unavailable, err, "job store: %s", what)
}

// CreateJob implements migrate.JobStore, in one transaction.
func (s *Store) CreateJob(ctx context.Context, job migrate.Job, entries []migrate.EntryStatus) error {
	opts, _ := json.Marshal(job.Options)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable(err, "begin")
	}
	defer tx.Rollback()
	var exists int
	err = tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM migrate_jobs WHERE id = ?`), job.ID).Scan(&exists)
	if err != nil {
		return unavailable(err, "create job")
	}
	if exists > 0 {
		return errcode.New(errcode.AlreadyExists, "migration job %s already exists", job.ID)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO migrate_jobs (id, created, owner, source, options) VALUES (?, ?, ?, ?, ?)`),
		job.ID, ts(job.Created), job.Owner, job.Source, string(opts)); err != nil {
		return unavailable(err, "create job")
	}
	stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO migrate_entries (job_id, name, outcome, reason, target, target_id, attempts, updated) VALUES (?, ?, ?, ?, ?, ?, 0, ?)`))
	if err != nil {
		return unavailable(err, "create job entries")
	}
	defer stmt.Close()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, job.ID, e.Name, string(e.Outcome), e.Reason, e.Target, e.TargetID, ts(job.Created)); err != nil {
			return unavailable(err, "create job entries")
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err, "commit job")
	}
	return nil
}

// Jobs implements migrate.JobStore. The created column is RFC 3339 text,
// whose order is not the order of time when fractions differ in length,
// so the jobs are sorted once read.
func (s *Store) Jobs(ctx context.Context, limit int) ([]migrate.Job, error) {
	if limit <= 0 {
		return nil, errcode.New(errcode.InvalidArgument, "limit must be positive")
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, created, owner, source, options FROM migrate_jobs`)
	if err != nil {
		return nil, unavailable(err, "list jobs")
	}
	defer rows.Close()
	var jobs []migrate.Job
	for rows.Next() {
		var job migrate.Job
		var created, opts string
		if err := rows.Scan(&job.ID, &created, &job.Owner, &job.Source, &opts); err != nil {
			return nil, unavailable(err, "list jobs")
		}
		job.Created, _ = time.Parse(time.RFC3339Nano, created)
		if err := json.Unmarshal([]byte(opts), &job.Options); err != nil {
			return nil, errcode.Wrap(errcode.Internal, err, "job %s has unreadable options", job.ID)
		}
		jobs = append(jobs, job)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(err, "list jobs")
	}
	return migrate.NewestJobs(jobs, limit), nil
}

// Job implements migrate.JobStore.
func (s *Store) Job(ctx context.Context, id string) (*migrate.Job, error) {
	var job migrate.Job
	var created, opts string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, created, owner, source, options FROM migrate_jobs WHERE id = ?`), id).
		Scan(&job.ID, &created, &job.Owner, &job.Source, &opts)
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "migration job %s not found", id)
	}
	if err != nil {
		return nil, unavailable(err, "read job")
	}
	job.Created, _ = time.Parse(time.RFC3339Nano, created)
	if err := json.Unmarshal([]byte(opts), &job.Options); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "job %s has unreadable options", id)
	}
	return &job, nil
}

// Record implements migrate.JobStore: one conditional UPDATE, so a final
// outcome is never replaced even by concurrent deliveries.
func (s *Store) Record(ctx context.Context, jobID string, st migrate.EntryStatus) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE migrate_entries
		SET outcome = ?, reason = ?, target = ?, target_id = ?, attempts = attempts + 1, updated = ?
		WHERE job_id = ? AND name = ? AND outcome NOT IN ('migrated', 'skipped', 'not_migratable')`),
		string(st.Outcome), st.Reason, st.Target, st.TargetID, ts(st.Updated), jobID, st.Name)
	if err != nil {
		return unavailable(err, "record outcome")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Entry(ctx, jobID, st.Name); err != nil {
			return err // not_found; otherwise the entry is final already and this delivery changes nothing
		}
	}
	return nil
}

const entryColumns = `name, outcome, reason, target, target_id, attempts, updated`

func scanEntry(row interface{ Scan(...any) error }) (migrate.EntryStatus, error) {
	var e migrate.EntryStatus
	var outcome, updated string
	err := row.Scan(&e.Name, &outcome, &e.Reason, &e.Target, &e.TargetID, &e.Attempts, &updated)
	e.Outcome = migrate.Outcome(outcome)
	e.Updated, _ = time.Parse(time.RFC3339Nano, updated)
	return e, err
}

// Entry implements migrate.JobStore.
func (s *Store) Entry(ctx context.Context, jobID, name string) (*migrate.EntryStatus, error) {
	e, err := scanEntry(s.db.QueryRowContext(ctx, s.q(`SELECT `+entryColumns+` FROM migrate_entries WHERE job_id = ? AND name = ?`), jobID, name))
	if err == sql.ErrNoRows {
		return nil, errcode.New(errcode.NotFound, "migration job %s has no entry %q", jobID, name)
	}
	if err != nil {
		return nil, unavailable(err, "read entry")
	}
	return &e, nil
}

// Entries implements migrate.JobStore.
func (s *Store) Entries(ctx context.Context, jobID string, outcome migrate.Outcome) ([]migrate.EntryStatus, error) {
	query := `SELECT ` + entryColumns + ` FROM migrate_entries WHERE job_id = ?`
	args := []any{jobID}
	if outcome != "" {
		query += ` AND outcome = ?`
		args = append(args, string(outcome))
	}
	rows, err := s.db.QueryContext(ctx, s.q(query+` ORDER BY name`), args...)
	if err != nil {
		return nil, unavailable(err, "list entries")
	}
	defer rows.Close()
	var out []migrate.EntryStatus
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, unavailable(err, "list entries")
		}
		out = append(out, e)
	}
	return out, unavailable(rows.Err(), "list entries")
}

// Counts implements migrate.JobStore.
func (s *Store) Counts(ctx context.Context, jobID string) (migrate.Counts, error) {
	if _, err := s.Job(ctx, jobID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT outcome, COUNT(*) FROM migrate_entries WHERE job_id = ? GROUP BY outcome`), jobID)
	if err != nil {
		return nil, unavailable(err, "count entries")
	}
	defer rows.Close()
	c := migrate.Counts{}
	for rows.Next() {
		var o string
		var n int
		if err := rows.Scan(&o, &n); err != nil {
			return nil, unavailable(err, "count entries")
		}
		c[migrate.Outcome(o)] = n
	}
	return c, unavailable(rows.Err(), "count entries")
}

// ResetFailed implements migrate.JobStore.
func (s *Store) ResetFailed(ctx context.Context, jobID string) ([]string, error) {
	failed, err := s.Entries(ctx, jobID, migrate.Failed)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range failed {
		res, err := s.db.ExecContext(ctx, s.q(`UPDATE migrate_entries SET outcome = 'pending' WHERE job_id = ? AND name = ? AND outcome = 'failed'`), jobID, e.Name)
		if err != nil {
			return names, unavailable(err, "reset entry")
		}
		if n, _ := res.RowsAffected(); n > 0 {
			names = append(names, e.Name)
		}
	}
	return names, nil
}
