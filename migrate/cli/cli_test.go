package cli_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/require"

	localsqs "github.com/lockwell/lockwell/localdev/sqs"
	"github.com/lockwell/lockwell/localdev/zenmlserver"
	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/cli"
	"github.com/lockwell/lockwell/migrate/legacy"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/migrate/sqsqueue"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/httpapi"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
	"github.com/lockwell/lockwell/shared/store"
)

var alice = identity.Principal{Name: "alice", Role: identity.Member}

type world struct {
	store  *store.Store
	env    map[string]string
	source string
	path   string
}

// newWorld starts the HTTP API on loopback over an in-memory store, with a
// token for alice, and writes a local legacy source.
func newWorld(t *testing.T, secrets []legacytest.Secret) *world {
	st := store.New(memstore.New())
	tok := memtokens.New()
	token, hash, err := identity.NewToken()
	require.NoError(t, err)
	require.NoError(t, tok.SaveToken(context.Background(), hash, alice))
	srv := httptest.NewServer(httpapi.New(st, httpapi.BearerAuthenticator{Tokens: tok}, httpapi.Options{}).Handler())
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	legacytest.WriteLocal(t, path, secrets, map[string]map[string]string{"not_zenml": {"x": "eQ=="}})
	return &world{store: st, path: path, source: (&url.URL{Scheme: "zenml-local", Path: path}).String(),
		env: map[string]string{"LOCKWELL_URL": srv.URL, "LOCKWELL_TOKEN": token}}
}

func (w *world) run(args ...string) (stdout, stderr string, err error) {
	cmd := cli.Command(cli.WithGetenv(func(k string) string { return w.env[k] }))
	cmd.SilenceUsage = true // as the lockwell root does
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func (w *world) values(t *testing.T, name string) map[string]string {
	s, err := w.store.Lookup(context.Background(), alice, name)
	require.NoError(t, err)
	return s.Values
}

// requireNoValues checks that no legacy value appears in output.
func requireNoValues(t *testing.T, output string, secrets []legacytest.Secret) {
	for _, s := range secrets {
		for k, v := range s.Want() {
			if len(v) >= 4 {
				require.False(t, strings.Contains(output, v), "the value of %s.%s appears in the output", s.Name, k)
			}
		}
	}
}

func TestPlanAndRun(t *testing.T) {
	ctx := context.Background()
	secrets := legacytest.All()
	w := newWorld(t, secrets)
	_, err := w.store.Create(ctx, alice, store.CreateRequest{Name: "openai", Values: map[string]string{"api_key": "someone else's"}})
	require.NoError(t, err)
	_, err = w.store.Create(ctx, alice, store.CreateRequest{Name: "aws_creds", Values: legacytest.Reference()[1].Want()})
	require.NoError(t, err)

	out, _, err := w.run("plan", "--source", w.source, "-o", "json")
	require.Error(t, err, "openai would fail (a conflict with on-conflict fail)")
	requireNoValues(t, out, secrets)
	var plan []migrate.PlanItem
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	actions := map[string]string{}
	outcomes := map[string]migrate.Outcome{}
	for _, p := range plan {
		actions[p.Name] = p.Action
		outcomes[p.Name] = p.Outcome
	}
	require.Equal(t, migrate.Failed, outcomes["openai"])
	require.Equal(t, migrate.ActionNone, actions["openai"])
	require.Equal(t, migrate.Skipped, outcomes["aws_creds"])
	require.Equal(t, migrate.ActionNone, actions["aws_creds"])
	require.Equal(t, migrate.ActionCreate, actions["db.main@prod+v2=x"])
	require.Equal(t, migrate.Migrated, outcomes["db.main@prod+v2=x"])
	require.Equal(t, migrate.Skipped, outcomes["not_zenml"])
	table, _, err := w.run("plan", "--source", w.source)
	require.Error(t, err)
	require.Contains(t, table, "If run now: ")
	require.Contains(t, table, "LEGACY NAME")
	requireNoValues(t, table, secrets)
	before, err := w.store.List(ctx, alice, store.ListRequest{})
	require.NoError(t, err)
	require.Len(t, before.Items, 2, "plan writes nothing")

	out, _, err = w.run("run", "--source", w.source)
	require.Error(t, err, "a conflict with on-conflict fail exits non-zero")
	require.Contains(t, err.Error(), "1 of ")
	requireNoValues(t, out, secrets)
	require.Contains(t, out, "migrated")
	for _, s := range secrets {
		if s.Name != "openai" {
			legacytest.RequireSameValues(t, s.Want(), w.values(t, s.Name), s.Name)
		}
	}
	legacytest.RequireSameValues(t, map[string]string{"api_key": "someone else's"}, w.values(t, "openai"), "openai (left untouched)")

	_, _, err = w.run("run", "--source", w.source, "--on-conflict", "rename", "openai")
	require.NoError(t, err)
	renamed := migrate.RenamedName("openai", "zenml-local://"+(&url.URL{Path: w.path}).EscapedPath()+"#none/openai")
	legacytest.RequireSameValues(t, legacytest.Reference()[2].Want(), w.values(t, renamed), renamed)

	_, _, err = w.run("run", "--source", w.source, "--on-conflict", "overwrite", "--delete-source", "openai", "mlflow_basic")
	require.NoError(t, err)
	legacytest.RequireSameValues(t, legacytest.Reference()[2].Want(), w.values(t, "openai"), "openai (overwritten)")
	src, err := legacy.Open(ctx, w.source)
	require.NoError(t, err)
	_, err = src.Read(ctx, "openai")
	require.Equal(t, errcode.NotFound, errcode.Of(err), "deleted after verification")

	_, _, err = w.run("run", "--source", w.source, "no-such-secret")
	require.Equal(t, errcode.NotFound, errcode.Of(err))
	_, _, err = w.run("run", "--source", w.source, "--on-conflict", "merge")
	require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
	_, stderr, err := w.run("plan", "--component-flavor", "local", "--component-config", `{"secrets_file": "`+w.path+`"}`)
	require.NoError(t, err)
	require.NotContains(t, stderr, "warning")
}

// A vault component's configuration holds its token: given inline it is in
// argv, so the command warns (and never uses or prints the token).
func TestInlineComponentConfigWithTokenWarns(t *testing.T) {
	w := newWorld(t, nil)
	const token = "hvs.inline-token-value"
	cfg := `{"url": "http://127.0.0.1:1", "token": "` + token + `", "mount_point": "secret", "scope": "none"}`
	for _, given := range []string{cfg, base64.StdEncoding.EncodeToString([]byte(cfg))} {
		_, stderr, _ := w.run("plan", "--component-flavor", "vault", "--component-config", given)
		require.Contains(t, stderr, "warning: --component-config holds a token")
		require.NotContains(t, stderr, token)
	}
	file := filepath.Join(t.TempDir(), "vault.json")
	require.NoError(t, os.WriteFile(file, []byte(cfg), 0o600))
	_, stderr, _ := w.run("plan", "--component-flavor", "vault", "--component-config", "@"+file)
	require.NotContains(t, stderr, "warning")
}

func TestStartStatusRetry(t *testing.T) {
	ctx := context.Background()
	server := localsqs.StartT(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_SQS": server.Endpoint, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "secretlocal", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"} {
		t.Setenv(k, v)
	}
	client := sqs.New(sqs.Options{Region: "us-east-1", BaseEndpoint: aws.String(server.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secretlocal", "")})
	queueURL, _, err := sqsqueue.CreateWithDLQ(ctx, client, "lockwell-migrate", 5, 30)
	require.NoError(t, err)

	secrets := legacytest.Reference()
	w := newWorld(t, secrets)
	_, err = w.store.Create(ctx, alice, store.CreateRequest{Name: "openai", Values: map[string]string{"api_key": "other"}})
	require.NoError(t, err)
	jobsURL := "sqlite://" + filepath.Join(t.TempDir(), "jobs.db")
	w.env["LOCKWELL_MIGRATE_JOBS"] = jobsURL
	w.env["LOCKWELL_MIGRATE_QUEUE_URL"] = queueURL

	out, _, err := w.run("start", "--source", w.source) // no --owner: the caller, as whoami says
	require.NoError(t, err)
	jobID := strings.TrimSpace(out)

	jobs, err := sqljobs.Open(ctx, jobsURL)
	require.NoError(t, err)
	defer jobs.Close()
	proc := &migrate.Processor{Jobs: jobs, Target: func(*migrate.Job) migrate.Target { return migrate.StoreTarget{Store: w.store, Principal: alice} }}
	drain := func() int {
		n := 0
		for {
			msgs, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queueURL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			require.NoError(t, err)
			if len(msgs.Messages) == 0 {
				return n
			}
			for _, m := range msgs.Messages {
				require.NoError(t, proc.Handle(ctx, []byte(aws.ToString(m.Body)), 1))
				_, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queueURL, ReceiptHandle: m.ReceiptHandle})
				require.NoError(t, err)
				n++
			}
		}
	}
	require.Equal(t, 3, drain(), "one message per migratable entry")

	out, _, err = w.run("status", jobID)
	require.NoError(t, err)
	require.Contains(t, out, "owner alice,", "the owner defaulted to the caller")
	require.Contains(t, out, "2 migrated, 1 skipped, 1 failed")
	require.Contains(t, out, "openai")
	requireNoValues(t, out, secrets)

	s, err := w.store.Lookup(ctx, alice, "openai") // the conflict is resolved by hand
	require.NoError(t, err)
	_, err = w.store.Delete(ctx, alice, s.ID, store.DeleteRequest{})
	require.NoError(t, err)
	out, _, err = w.run("retry", jobID)
	require.NoError(t, err)
	require.Contains(t, out, "1 entries re-enqueued")
	require.Equal(t, 1, drain())
	out, _, err = w.run("status", jobID, "-o", "json")
	require.NoError(t, err)
	var status struct {
		Counts migrate.Counts `json:"counts"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &status))
	require.Equal(t, migrate.Counts{migrate.Migrated: 3, migrate.Skipped: 1}, status.Counts)
	legacytest.RequireSameValues(t, legacytest.Reference()[2].Want(), w.values(t, "openai"), "openai")

	// The owner comes from --owner, then LOCKWELL_MIGRATE_OWNER, then whoami.
	for _, tc := range []struct {
		args  []string
		env   map[string]string
		owner string
	}{
		{[]string{"--owner", "carol"}, map[string]string{"LOCKWELL_MIGRATE_OWNER": "dave"}, "carol"},
		{nil, map[string]string{"LOCKWELL_MIGRATE_OWNER": "dave"}, "dave"},
		{nil, map[string]string{"LOCKWELL_TOKEN": ""}, ""}, // no identity to default to
	} {
		base := w.env
		w.env = maps.Clone(base)
		maps.Copy(w.env, tc.env)
		out, _, err := w.run(append([]string{"start", "--source", w.source, "openai"}, tc.args...)...)
		w.env = base
		if tc.owner == "" {
			require.Error(t, err)
			require.Equal(t, errcode.InvalidArgument, errcode.Of(err))
			require.Contains(t, errcode.Message(err), "pass --owner")
			continue
		}
		require.NoError(t, err)
		job, err := jobs.Job(ctx, strings.TrimSpace(out))
		require.NoError(t, err)
		require.Equal(t, tc.owner, job.Owner, "%v %v", tc.args, tc.env)
	}
}

// TestRerunAfterLegacyChangeSameThroughClientAndStore: a re-run after legacy
// entries changed updates the earlier copies (found by their origin) and
// creates no duplicates, with the default policy and with overwrite, and the
// CLI's run through the HTTP API reports exactly what the migrator reports
// on the store in process.
func TestRerunAfterLegacyChangeSameThroughClientAndStore(t *testing.T) {
	ctx := context.Background()
	before := legacytest.Reference()
	after := legacytest.Reference()
	after[0].Values = map[string]any{"username": "admin2"}                        // mlflow_basic: password removed, username changed
	after[2].Values = map[string]any{"api_key": "sk-rotated-456", "org": "org-1"} // openai: rotated, a key added
	extra := map[string]map[string]string{"not_zenml": {"x": "eQ=="}}

	for _, policy := range []string{"", "overwrite"} {
		name := "on-conflict=" + policy
		if policy == "" {
			name = "on-conflict default (fail)"
		}
		t.Run(name, func(t *testing.T) {
			// runs migrates the whole source once and returns its results
			// (target ids left out: they differ between the two stores).
			type runner func(w *world) []migrate.Result
			viaStore := func(w *world) []migrate.Result {
				src, err := legacy.Open(ctx, w.source)
				require.NoError(t, err)
				defer src.Close()
				opts := migrate.Options{OnConflict: migrate.ConflictPolicy(policy)} // "" is fail
				res, err := migrate.Run(ctx, src, migrate.StoreTarget{Store: w.store, Principal: alice}, opts, nil, 2, nil)
				require.NoError(t, err)
				return res
			}
			viaClient := func(w *world) []migrate.Result {
				args := []string{"run", "--source", w.source, "-o", "json"}
				if policy != "" {
					args = append(args, "--on-conflict", policy)
				}
				out, _, err := w.run(args...)
				require.NoError(t, err, "the re-run succeeds through the API too")
				requireNoValues(t, out, append(before, after...))
				var res []migrate.Result
				require.NoError(t, json.Unmarshal([]byte(out), &res))
				return res
			}
			rounds := map[string][][]migrate.Result{}
			for name, run := range map[string]runner{"store": viaStore, "client": viaClient} {
				w := newWorld(t, before)
				src, err := legacy.Open(ctx, w.source)
				require.NoError(t, err)
				describe := src.Describe()
				src.Close()
				var results [][]migrate.Result
				for round := range 3 { // first run; re-run after the change; re-run again
					if round == 1 {
						legacytest.WriteLocal(t, w.path, after, extra)
					}
					res := run(w)
					for i := range res {
						res[i].TargetID = ""
					}
					results = append(results, res)
				}
				page, err := w.store.List(ctx, alice, store.ListRequest{PageSize: 100})
				require.NoError(t, err)
				require.Len(t, page.Items, len(after), "%s: no duplicates", name)
				for _, s := range after {
					got, err := w.store.Lookup(ctx, alice, s.Name)
					require.NoError(t, err)
					legacytest.RequireSameValues(t, s.Want(), got.Values, name+": "+s.Name)
					require.Equal(t, describe.Origin(s.Name), got.Origin, "%s: %s records its origin", name, s.Name)
					want := int64(1)
					if s.Name != "aws_creds" {
						want = 2 // updated once, by the first re-run only
					}
					require.Equal(t, want, got.Version, "%s: %s", name, s.Name)
				}
				rounds[name] = results
			}
			require.Equal(t, rounds["store"], rounds["client"], "the client-backed target behaves as the store-backed one")
			outcome := map[string]string{}
			for _, r := range rounds["client"][1] {
				outcome[r.Name] = string(r.Outcome) + ": " + r.Reason
			}
			require.Equal(t, map[string]string{
				"mlflow_basic": "migrated: updated earlier copy",
				"openai":       "migrated: updated earlier copy",
				"aws_creds":    "migrated: already migrated",
				"not_zenml":    outcome["not_zenml"],
			}, outcome)
			require.Contains(t, outcome["not_zenml"], "skipped")
		})
	}
}

// TestZenMLServerPlanAndRun migrates a ZenML server's secrets through the
// CLI: the plan shows names, visibility, owners and key counts (never
// values) and that references keep working, the run does what it said, a
// re-run is a no-op, and a private secret mapped to someone other than the
// caller fails in process (the API creates as the caller only).
func TestZenMLServerPlanAndRun(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, nil)
	zen := zenmlserver.New()
	password := "zen password " + t.Name()
	me := zen.AddUser("alice-zen", password, false)
	bob := zen.AddUser("bob-zen", password, false)
	values := map[string]map[string]string{
		"openai":   {"api_key": "sk-zen-public-0001"},
		"personal": {"token": "zen-private-0002", "user": "alice-0003"},
		"hidden":   {"token": "bob-private-0004"},
	}
	zen.AddSecret(me, "openai", false, values["openai"])
	zen.AddSecret(me, "personal", true, values["personal"])
	zen.AddSecret(bob, "hidden", true, values["hidden"])
	srv := httptest.NewServer(zen)
	t.Cleanup(srv.Close)
	source := "zenml-server://" + strings.TrimPrefix(srv.URL, "http://") + "?tls=false"
	t.Setenv("ZENML_STORE_API_KEY", "")
	t.Setenv("ZENML_STORE_USERNAME", "alice-zen")
	t.Setenv("ZENML_STORE_PASSWORD", password)
	noValues := func(out string) {
		t.Helper()
		for _, vs := range values {
			for _, v := range vs {
				require.NotContains(t, out, v)
			}
		}
		require.NotContains(t, out, password)
	}

	table, _, err := w.run("plan", "--source", source, "--owner-map", "alice-zen=alice")
	require.NoError(t, err)
	noValues(table)
	require.Contains(t, table, "VISIBILITY")
	require.Regexp(t, `personal\s+\S+\s+private\s+alice-zen\s+alice\s+2\s+personal\s+migrated\s+create`, table)
	require.Regexp(t, `openai\s+\S+\s+public\s+alice-zen\s+\(you\)\s+1\s+openai\s+migrated\s+create`, table)
	require.NotContains(t, table, "hidden", "another user's private secret is not visible")
	require.Contains(t, table, "{{name.key}}")

	out, _, err := w.run("plan", "--source", source, "--owner-map", "alice-zen=alice", "-o", "json")
	require.NoError(t, err)
	var plan []migrate.PlanItem
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	require.Len(t, plan, 2)

	out, _, err = w.run("run", "--source", source, "--owner-map", "alice-zen=alice", "-o", "json")
	require.NoError(t, err)
	noValues(out)
	var results []migrate.Result
	require.NoError(t, json.Unmarshal([]byte(out), &results))
	for _, r := range results {
		require.Equal(t, migrate.Migrated, r.Outcome, r.Reason)
		for _, p := range plan {
			if p.ID == r.Name {
				require.Equal(t, p.Target, r.Target, "plan matches run")
			}
		}
	}
	private := true
	page, err := w.store.List(ctx, alice, store.ListRequest{Name: "personal", Private: &private, Owner: "alice"})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "the private ZenML secret is private to its mapped owner")
	require.Equal(t, values["personal"], w.values(t, "personal"))
	require.Equal(t, values["openai"], w.values(t, "openai"))

	out, _, err = w.run("plan", "--source", source, "--owner-map", "alice-zen=alice", "-o", "json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	for _, p := range plan {
		require.Equal(t, migrate.ActionNone, p.Action, p.Name)
	}
	out, _, err = w.run("run", "--source", source, "--owner-map", "alice-zen=alice")
	require.NoError(t, err)
	require.Contains(t, out, "2 migrated, 0 skipped, 0 failed")

	// Mapped to carol: through the API alice cannot create carol's secrets.
	table, _, err = w.run("plan", "--source", source, "--owner-map", "alice-zen=carol")
	require.Error(t, err, "plan exits non-zero when an entry would fail, as run does")
	require.Contains(t, err.Error(), "1 of 2 entries would fail")
	require.Regexp(t, `personal\s+\S+\s+private\s+alice-zen\s+carol\s+2\s+personal\s+failed\s+none\s+.*migrate start`, table)
	require.Contains(t, table, "If run now: 1 migrated, 0 skipped, 1 failed")
	_, _, err = w.run("run", "--source", source, "--owner-map", "alice-zen=carol")
	require.Error(t, err)
	require.Contains(t, err.Error(), "1 of 2 entries failed")

	_, _, err = w.run("plan", "--source", source, "--owner-map", "no-equals-sign")
	require.True(t, errcode.Is(err, errcode.InvalidArgument), "%v", err)
}
