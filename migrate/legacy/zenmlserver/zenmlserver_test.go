package zenmlserver_test

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/zenmlserver"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/centraltest"
	"github.com/lockwell/lockwell/migrate/legacy"
	_ "github.com/lockwell/lockwell/migrate/legacy/zenmlserver"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/store"
)

// world is a ZenML stand-in holding centraltest.Fixture: users alice and
// bob (passwords) and the service account ci (an API key).
type world struct {
	zen      *zenmlserver.Server
	url      string
	users    map[string]string // name to id
	password string
	apiKey   string
	ids      []string // secret ids, in Fixture order
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{zen: zenmlserver.New(), users: map[string]string{}, password: "correct horse " + t.Name()}
	w.users["alice"] = w.zen.AddUser("alice", w.password, false)
	w.users["bob"] = w.zen.AddUser("bob", w.password, false)
	w.users["ci"] = w.zen.AddUser("ci", "", true)
	w.apiKey = w.zen.AddAPIKey(w.users["ci"])
	for _, s := range centraltest.Fixture() {
		w.ids = append(w.ids, w.zen.AddSecret(w.users[s.User], s.Name, s.Private, s.Values))
	}
	srv := httptest.NewServer(w.zen)
	t.Cleanup(srv.Close)
	w.url = "zenml-server://" + strings.TrimPrefix(srv.URL, "http://") + "?tls=false"
	for _, k := range []string{"ZENML_STORE_API_KEY", "ZENML_STORE_API_KEY_FILE", "ZENML_STORE_USERNAME", "ZENML_STORE_PASSWORD", "ZENML_STORE_PASSWORD_FILE"} {
		t.Setenv(k, "")
	}
	return w
}

func (w *world) open(t *testing.T, params string) legacy.Source {
	t.Helper()
	src, err := legacy.Open(context.Background(), w.url+params)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	return src
}

func TestUserSeesPublicAndOwnPrivateAndMigratesThem(t *testing.T) {
	w := newWorld(t)
	t.Setenv("ZENML_STORE_USERNAME", "alice")
	t.Setenv("ZENML_STORE_PASSWORD", w.password)
	centraltest.RequireMigrates(t, w.open(t, ""), centraltest.Visible(centraltest.Fixture(), "alice"), centraltest.Owners)
}

func TestServiceAccountAPIKeyFromFileAndPaging(t *testing.T) {
	w := newWorld(t)
	path := t.TempDir() + "/key"
	require.NoError(t, writeFile(path, w.apiKey+"\n"))
	t.Setenv("ZENML_STORE_API_KEY_FILE", path)
	src := w.open(t, "&page_size=2") // 5 visible secrets: three pages
	items, err := src.List(context.Background())
	require.NoError(t, err)
	require.Len(t, items, len(centraltest.Visible(centraltest.Fixture(), "ci")))
	for _, it := range items {
		require.NotNil(t, it.Owned)
		require.False(t, it.Owned.Private && it.Owned.UserName != "ci", "%s: another user's private secret is never listed", it.Name)
	}
	centraltest.RequireMigrates(t, src, centraltest.Visible(centraltest.Fixture(), "ci"), centraltest.Owners)
}

func TestExpiredTokenLogsInAgain(t *testing.T) {
	w := newWorld(t)
	t.Setenv("ZENML_STORE_API_KEY", w.apiKey)
	src := w.open(t, "")
	_, err := src.List(context.Background())
	require.NoError(t, err)
	w.zen.ExpireTokens()
	_, err = src.Read(context.Background(), w.ids[5])
	require.NoError(t, err)
	require.Equal(t, 2, w.zen.Logins())
}

func TestWithheldValuesAreSkippedNotMigratedEmpty(t *testing.T) {
	w := newWorld(t)
	w.zen.WithholdValues(w.users["bob"])
	t.Setenv("ZENML_STORE_USERNAME", "bob")
	t.Setenv("ZENML_STORE_PASSWORD", w.password)
	src := w.open(t, "")
	st := store.New(memstore.New())
	results, err := migrate.Run(context.Background(), src, migrate.StoreTarget{Store: st, Principal: centraltest.Runner}, migrate.Options{}, nil, 2, nil)
	require.NoError(t, err)
	require.NotEmpty(t, results)
	for _, r := range results {
		require.Equal(t, migrate.Skipped, r.Outcome, r.Name)
		require.Contains(t, r.Reason, "withheld")
	}
}

func TestBadCredentialsAndURLs(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := legacy.Open(ctx, w.url)
	require.True(t, errcode.Is(err, errcode.InvalidArgument), "no credentials: %v", err)

	t.Setenv("ZENML_STORE_USERNAME", "alice")
	t.Setenv("ZENML_STORE_PASSWORD", "wrong-password-xyz")
	src := w.open(t, "")
	_, err = src.List(ctx)
	require.True(t, errcode.Is(err, errcode.Unauthenticated), "%v", err)
	require.NotContains(t, err.Error(), "wrong-password-xyz")

	for _, bad := range []string{
		"zenml-server://user:pw@127.0.0.1:1?tls=false",
		"zenml-server://127.0.0.1:1/path",
		"zenml-server://127.0.0.1:1?tls=maybe",
		"zenml-server://127.0.0.1:1?page_size=0",
		"zenml-server://127.0.0.1:1?unknown=1",
		"zenml-server://127.0.0.1:1?scope=global",
	} {
		_, err := legacy.Open(ctx, bad)
		require.True(t, errcode.Is(err, errcode.InvalidArgument), "%s: %v", bad, err)
		require.NotContains(t, err.Error(), "pw@")
	}
	require.True(t, errcode.Is(src.Delete(ctx, w.ids[0]), errcode.FailedPrecondition), "the ZenML server's secrets are never deleted")
}

func TestSelectByNameOrID(t *testing.T) {
	w := newWorld(t)
	t.Setenv("ZENML_STORE_USERNAME", "alice")
	t.Setenv("ZENML_STORE_PASSWORD", w.password)
	items, err := w.open(t, "").List(context.Background())
	require.NoError(t, err)
	_, err = migrate.Select(items, []string{"openai"})
	require.True(t, errcode.Is(err, errcode.InvalidArgument), "a public and a private openai: ambiguous: %v", err)
	got, err := migrate.Select(items, []string{w.ids[1], "mlflow"})
	require.NoError(t, err)
	require.Equal(t, w.ids[1], got[0].Ref())
	require.True(t, got[0].Owned.Private)
	require.Equal(t, "mlflow", got[1].Name)
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// TestQueueDrivenExactlyOnce runs a job as migrate start and the queue
// consumers do: one message per ZenML secret id, each delivered twice and
// in reverse order; every secret lands once, private ones as their mapped
// owner's, and the job counts them all migrated.
func TestQueueDrivenExactlyOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	t.Setenv("ZENML_STORE_USERNAME", "alice")
	t.Setenv("ZENML_STORE_PASSWORD", w.password)
	src := w.open(t, "")
	items, err := src.List(ctx)
	require.NoError(t, err)
	jobs, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	defer jobs.Close()
	job := migrate.Job{ID: "zen-1", Created: secret.Now(), Owner: centraltest.Runner.Name, Source: w.url,
		Options: migrate.Options{OwnerMap: centraltest.Owners}}
	var entries []migrate.EntryStatus
	for _, it := range items {
		entries = append(entries, migrate.EntryStatus{Name: it.Ref(), Outcome: migrate.Pending})
	}
	require.NoError(t, jobs.CreateJob(ctx, job, entries))
	st := store.New(memstore.New())
	proc := &migrate.Processor{Jobs: jobs, MaxDeliveries: 5, Target: func(j *migrate.Job) migrate.Target {
		return migrate.StoreTarget{Store: st, Principal: identity.Principal{Name: j.Owner, Role: identity.Member}}
	}}
	defer proc.Close()
	for round := range 2 {
		for i := range items {
			it := items[i]
			if round == 1 {
				it = items[len(items)-1-i]
			}
			require.NoError(t, proc.Handle(ctx, migrate.Message{Job: job.ID, Source: job.Source, Name: it.Ref()}.Encode(), round+1))
		}
	}
	counts, err := jobs.Counts(ctx, job.ID)
	require.NoError(t, err)
	require.Equal(t, migrate.Counts{migrate.Migrated: len(items)}, counts)
	for _, want := range centraltest.Visible(centraltest.Fixture(), "alice") {
		owner := centraltest.Runner
		if want.Private {
			owner = identity.Principal{Name: centraltest.Owners[want.User], Role: identity.Member}
		}
		private := want.Private
		req := store.ListRequest{Name: want.Name, Private: &private}
		if private {
			req.Owner = owner.Name
		}
		page, err := st.List(ctx, owner, req)
		require.NoError(t, err)
		require.Len(t, page.Items, 1, "%s private=%v exactly once", want.Name, want.Private)
		require.Equal(t, int64(1), page.Items[0].Version, "%s written once", want.Name)
	}
}

// TestTLSWithCAFile reaches an https ZenML server (tls=true is the
// default) whose certificate LOCKWELL_ZENML_CA_FILE vouches for, and
// refuses it without.
func TestTLSWithCAFile(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewTLSServer(w.zen)
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, writeFile(ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))))
	t.Setenv("ZENML_STORE_API_KEY", w.apiKey)
	u := "zenml-server://" + strings.TrimPrefix(srv.URL, "https://")

	t.Setenv("LOCKWELL_ZENML_CA_FILE", "")
	src, err := legacy.Open(context.Background(), u)
	require.NoError(t, err)
	_, err = src.List(context.Background())
	require.True(t, errcode.Is(err, errcode.Unavailable), "an unknown CA is refused: %v", err)

	t.Setenv("LOCKWELL_ZENML_CA_FILE", ca)
	src, err = legacy.Open(context.Background(), u)
	require.NoError(t, err)
	items, err := src.List(context.Background())
	require.NoError(t, err)
	require.Len(t, items, len(centraltest.Visible(centraltest.Fixture(), "ci")))
}
