package jobsapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/jobsapi"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
	"github.com/lockwell/lockwell/shared/store"
)

type apiJob struct {
	ID      string         `json:"id"`
	Created time.Time      `json:"created"`
	Owner   string         `json:"owner"`
	Source  string         `json:"source"`
	Options map[string]any `json:"options"`
	Counts  map[string]int `json:"counts"`
	Total   int            `json:"total"`
}

type apiEntry struct {
	Name     string    `json:"name"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason"`
	Target   string    `json:"target"`
	TargetID string    `json:"target_id"`
	Attempts int       `json:"attempts"`
	Updated  time.Time `json:"updated"`
}

// serve returns the API over a fresh SQLite job store (jobs nil: none),
// and the tokens of an admin and a member.
func serve(t *testing.T, jobs migrate.JobStore) (http.Handler, map[string]string) {
	t.Helper()
	tokens := memtokens.New()
	toks := map[string]string{}
	for user, role := range map[string]identity.Role{"admin": identity.Admin, "alice": identity.Member} {
		tok, hash, err := identity.NewToken()
		require.NoError(t, err)
		require.NoError(t, tokens.SaveToken(context.Background(), hash, identity.Principal{Name: user, Role: role}))
		toks[user] = tok
	}
	opts := httpapi.Options{Tokens: tokens}
	if jobs != nil {
		opts.MigrationJobs = jobsapi.Jobs{Store: jobs}
	}
	api := httpapi.New(store.New(memstore.New()), httpapi.BearerAuthenticator{Tokens: tokens}, opts)
	return api.Handler(), toks
}

func get(t *testing.T, h http.Handler, token, path string, out any) (int, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &e), w.Body.String())
		return w.Code, e.Error.Code
	}
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(out))
	return w.Code, ""
}

func TestMigrationRoutesReadTheJobStore(t *testing.T) {
	ctx := context.Background()
	js, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { js.Close() })
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	require.NoError(t, js.CreateJob(ctx, migrate.Job{ID: "job-old", Created: created, Owner: "admin", Source: "zenml-local:///old.yaml"},
		[]migrate.EntryStatus{{Name: "x", Outcome: migrate.Pending}}))
	require.NoError(t, js.CreateJob(ctx, migrate.Job{ID: "job-new", Created: created.Add(time.Hour), Owner: "ops", Source: "zenml-local:///s.yaml",
		Options: migrate.Options{Private: true, OnConflict: migrate.Rename}},
		[]migrate.EntryStatus{{Name: "a", Outcome: migrate.Pending}, {Name: "b", Outcome: migrate.Pending}, {Name: "c", Outcome: migrate.Skipped, Reason: "not a ZenML entry"}}))
	require.NoError(t, js.Record(ctx, "job-new", migrate.EntryStatus{Name: "a", Outcome: migrate.Migrated, Target: "a", TargetID: "id-a", Updated: created.Add(2 * time.Hour)}))
	require.NoError(t, js.Record(ctx, "job-new", migrate.EntryStatus{Name: "b", Outcome: migrate.Failed, Reason: "a secret named b exists", Updated: created.Add(2 * time.Hour)}))
	h, tok := serve(t, js)

	var list struct {
		Items []apiJob `json:"items"`
	}
	status, _ := get(t, h, tok["admin"], "/api/v1/migrations", &list)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list.Items, 2)
	job := list.Items[0]
	require.Equal(t, "job-new", job.ID, "newest first")
	require.Equal(t, "ops", job.Owner)
	require.Equal(t, "zenml-local:///s.yaml", job.Source)
	require.Equal(t, true, job.Options["private"])
	require.Equal(t, "rename", job.Options["on_conflict"])
	require.Equal(t, map[string]int{"migrated": 1, "failed": 1, "skipped": 1}, job.Counts)
	require.Equal(t, 3, job.Total)
	require.True(t, created.Add(time.Hour).Equal(job.Created))
	require.Equal(t, "job-old", list.Items[1].ID)

	status, _ = get(t, h, tok["admin"], "/api/v1/migrations?limit=1", &list)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, list.Items, 1)

	var one struct {
		Job     apiJob     `json:"job"`
		Entries []apiEntry `json:"entries"`
	}
	status, _ = get(t, h, tok["admin"], "/api/v1/migrations/job-new", &one)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "job-new", one.Job.ID)
	require.Equal(t, 3, one.Job.Total)
	require.Len(t, one.Entries, 3)
	require.Equal(t, apiEntry{Name: "a", Outcome: "migrated", Target: "a", TargetID: "id-a", Attempts: 1, Updated: created.Add(2 * time.Hour)}, one.Entries[0])
	require.Equal(t, "c", one.Entries[2].Name)
	require.Equal(t, "not a ZenML entry", one.Entries[2].Reason)

	status, _ = get(t, h, tok["admin"], "/api/v1/migrations/job-new?outcome=failed", &one)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, one.Entries, 1)
	require.Equal(t, "b", one.Entries[0].Name)
	require.Equal(t, "a secret named b exists", one.Entries[0].Reason)

	for _, tc := range []struct {
		user, path, code string
		status           int
	}{
		{"alice", "/api/v1/migrations", "permission_denied", http.StatusForbidden},
		{"alice", "/api/v1/migrations/job-new", "permission_denied", http.StatusForbidden},
		{"admin", "/api/v1/migrations/nope", "not_found", http.StatusNotFound},
		{"admin", "/api/v1/migrations/job-new?outcome=done", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations/job-new?outcome=failed&outcome=pending", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations/job-new?limit=1", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations/job%20new", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations?limit=0", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations?limit=201", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations?limit=x", "invalid_argument", http.StatusBadRequest},
		{"admin", "/api/v1/migrations?outcome=failed", "invalid_argument", http.StatusBadRequest},
	} {
		status, code := get(t, h, tok[tc.user], tc.path, nil)
		require.Equal(t, tc.status, status, tc.path)
		require.Equal(t, tc.code, code, tc.path)
	}

	// A deployment without a job store answers not_found, to admins too.
	none, tok := serve(t, nil)
	status, code := get(t, none, tok["admin"], "/api/v1/migrations", nil)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "not_found", code)
}
