package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/jobsapi"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/server"
	"github.com/lockwell/lockwell/shared/server/servertest"
)

// jobCreated is when the fixture's newest job started.
var jobCreated = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// seedJobs records two jobs as `lockwell migrate start` and the migrator
// would: an old one, all migrated, and a new one with every outcome.
func seedJobs(t *testing.T, js migrate.JobStore) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, js.CreateJob(ctx, migrate.Job{ID: "0190b5a2-0000-7000-8000-000000000001", Created: jobCreated.Add(-24 * time.Hour),
		Owner: "admin", Source: "zenml-local:///srv/old.yaml"}, []migrate.EntryStatus{{Name: "legacy-a", Outcome: migrate.Pending}}))
	require.NoError(t, js.Record(ctx, "0190b5a2-0000-7000-8000-000000000001", migrate.EntryStatus{Name: "legacy-a", Outcome: migrate.Migrated, Target: "legacy-a", Updated: jobCreated}))
	job := migrate.Job{ID: "0190b5a2-0000-7000-8000-000000000002", Created: jobCreated, Owner: "ops",
		Source: "zenml-aws://?region=eu-west-1&scope=global", Options: migrate.Options{Private: true, OnConflict: migrate.Rename}}
	entries := []migrate.EntryStatus{
		{Name: "api-keys", Outcome: migrate.Pending},
		{Name: "db-prod", Outcome: migrate.Pending},
		{Name: "old-thing", Outcome: migrate.Skipped, Reason: "not a ZenML secret"},
		{Name: "s3-creds", Outcome: migrate.Pending},
		{Name: "weird", Outcome: migrate.NotMigratable, Reason: "key names are not valid"},
	}
	require.NoError(t, js.CreateJob(ctx, job, entries))
	require.NoError(t, js.Record(ctx, job.ID, migrate.EntryStatus{Name: "db-prod", Outcome: migrate.Migrated, Target: "db-prod", Updated: jobCreated.Add(time.Minute)}))
	require.NoError(t, js.Record(ctx, job.ID, migrate.EntryStatus{Name: "s3-creds", Outcome: migrate.Failed, Reason: "a secret named s3-creds exists", Updated: jobCreated.Add(time.Minute)}))
}

// startServerWithJobs starts a local server whose migration jobs live in
// its own database, as lockwell serve keeps them, seeded by seedJobs.
func startServerWithJobs(t *testing.T) *lockwell {
	t.Helper()
	return startServerWithJobStore(t, seedJobs)
}

// startServerWithJobStore is startServerWithJobs with its seed (none: no jobs).
func startServerWithJobStore(t *testing.T, seed func(*testing.T, migrate.JobStore)) *lockwell {
	t.Helper()
	dir := t.TempDir()
	var openedAt string
	r := servertest.Run(t, server.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler),
		OpenMigrationJobs: func(ctx context.Context, storeURL string) (httpapi.MigrationJobs, func() error, error) {
			openedAt = storeURL
			js, err := sqljobs.Open(ctx, storeURL)
			if err != nil {
				return nil, nil, err
			}
			if seed != nil {
				seed(t, js)
			}
			return jobsapi.Jobs{Store: js}, js.Close, nil
		}})
	require.Equal(t, "sqlite://"+filepath.Join(dir, server.DatabaseFile), openedAt, "the jobs are opened in the served database")
	return &lockwell{Running: r, admin: servertest.AdminToken(t, dir)}
}

// TestMigrationsPageInBrowser reads migration jobs as an admin: the list,
// one job's entries with their outcomes, the outcome filter (by keyboard,
// kept in the URL), and a member who sees neither the link nor the jobs.
func TestMigrationsPageInBrowser(t *testing.T) {
	browser := newBrowser(t)
	srv := startServerWithJobs(t)
	newJob := "0190b5a2-0000-7000-8000-000000000002"

	admin := newTab(t, browser, "admin", srv.URL, 1280, 900)
	t.Run("the list of jobs", func(t *testing.T) {
		admin := admin.in(t)
		admin.signIn(srv.admin, "admin", "admin")
		admin.waitFor("the migrations link for admins", `!document.getElementById('nav-migrations').hidden`)
		admin.click("#nav-migrations")
		admin.waitPage("migrationsPage")
		require.Equal(t, []string{newJob, "0190b5a2-0000-7000-8000-000000000001"},
			evalJS[[]string](admin, `[...document.querySelectorAll('#jobs tbody tr')].map((tr) => tr.dataset.job)`), "newest first")
		require.Equal(t, "5 entries: 1 pending, 1 migrated, 1 skipped, 1 failed, 1 not migratable",
			evalJS[string](admin, fmt.Sprintf(`document.querySelector('#jobs tr[data-job=%q] .job-counts').textContent`, newJob)))
		require.Equal(t, "page", evalJS[string](admin, `document.getElementById('nav-migrations').getAttribute('aria-current')`))
	})

	t.Run("one job's entries and the outcome filter", func(t *testing.T) {
		admin := admin.in(t)
		admin.click(fmt.Sprintf(`#jobs tr[data-job=%q] a.job-id`, newJob))
		admin.waitPage("migrationPage")
		admin.waitText("#job-id", newJob)
		admin.waitText("#job-owner", "ops")
		admin.waitText("#job-source", "zenml-aws://?region=eu-west-1&scope=global")
		admin.waitText("#job-options", "private, on conflict rename, keeps the source")
		admin.waitContains("#retry-hint", "lockwell migrate retry "+newJob)
		rows := evalJS[[][]string](admin, `[...document.querySelectorAll('#entries tbody tr')].map((tr) =>
			[tr.dataset.entry, tr.dataset.outcome, tr.querySelector('.reason').textContent])`)
		require.Equal(t, [][]string{
			{"api-keys", "pending", ""},
			{"db-prod", "migrated", ""},
			{"old-thing", "skipped", "not a ZenML secret"},
			{"s3-creds", "failed", "a secret named s3-creds exists"},
			{"weird", "not_migratable", "key names are not valid"},
		}, rows)

		// The filter, by keyboard: focus it, type "f" to pick "Failed (1)".
		evalJS[bool](admin, `(document.getElementById('outcome').focus(), true)`)
		admin.do(chromedp.KeyEvent("f"))
		admin.waitFor("the failed entries only", `location.search.includes('outcome=failed') &&
			[...document.querySelectorAll('#entries tbody tr')].map((tr) => tr.dataset.entry).join() === 's3-creds'`)
		require.Equal(t, "outcome", evalJS[string](admin, `document.activeElement.id`), "focus stays on the filter")

		// The view is in the URL: a reload shows the same.
		admin.open(fmt.Sprintf("/migration?job=%s&outcome=skipped", newJob))
		admin.waitPage("migrationPage")
		admin.waitFor("the skipped entry only", `[...document.querySelectorAll('#entries tbody tr')].map((tr) => tr.dataset.entry).join() === 'old-thing'`)

		admin.open("/migration?job=no-such-job")
		admin.waitPage("migrationPage")
		admin.waitContains("#job-missing", "There is no such job")
	})

	t.Run("members see no jobs", func(t *testing.T) {
		var minted struct {
			Token string `json:"token"`
		}
		status, _ := srv.call(t, srv.admin, http.MethodPost, "/api/v1/tokens", map[string]string{"user": "bob", "role": "member"}, "", &minted)
		require.Equal(t, http.StatusCreated, status)
		bob := newTab(t, browser, "bob", srv.URL, 1280, 900)
		bob.signIn(minted.Token, "bob", "member")
		require.True(t, evalJS[bool](bob, `document.getElementById('nav-migrations').hidden`))
		bob.open("/migrations")
		bob.waitPage("migrationsPage")
		bob.waitContains("main", "Only admins see migration jobs.")
		require.False(t, evalJS[bool](bob, `!!document.getElementById('jobs')`))
	})

	t.Run("a deployment without a job store says so", func(t *testing.T) {
		plain := startServer(t)
		tb := newTab(t, browser, "plain", plain.URL, 1280, 900)
		tb.signIn(plain.admin, "admin", "admin")
		tb.open("/migrations")
		tb.waitPage("migrationsPage")
		tb.waitContains("#no-jobs", "This deployment serves no migration jobs.")
	})

	t.Run("no jobs yet: the command, quoted for shells, wraps at 360 px", func(t *testing.T) {
		empty := startServerWithJobStore(t, nil)
		tb := newTab(t, browser, "empty", empty.URL, 360, 740)
		tb.signIn(empty.admin, "admin", "admin")
		tb.open("/migrations")
		tb.waitPage("migrationsPage")
		tb.waitContains("#empty pre", "--source 'zenml-aws://?region=eu-west-1'")
		require.True(t, evalJS[bool](tb, `(() => { const pre = document.querySelector('#empty pre');
			return pre.scrollWidth <= pre.clientWidth && pre.getBoundingClientRect().right <= innerWidth; })()`), "the command runs off a 360 px screen")
	})
}
