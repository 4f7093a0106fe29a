package migrate_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/migrate"
	"github.com/lockwell/lockwell/migrate/legacy/legacytest"
	"github.com/lockwell/lockwell/migrate/sqljobs"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/secret"
)

// faultyTarget injects crashes around the central store's writes.
type faultyTarget struct {
	migrate.Target
	failBeforeWrite atomic.Int32 // writes that fail before reaching the store
	failAfterWrite  atomic.Int32 // writes that reach the store, then "crash"
}

func crash() error { return errcode.New(errcode.Unavailable, "injected crash") }

func (t *faultyTarget) Create(ctx context.Context, name string, private bool, values map[string]string, origin string) (*secret.Secret, error) {
	if t.failBeforeWrite.Add(-1) >= 0 {
		return nil, crash()
	}
	s, err := t.Target.Create(ctx, name, private, values, origin)
	if err == nil && t.failAfterWrite.Add(-1) >= 0 {
		return nil, crash()
	}
	return s, err
}

// faultyJobs fails recording outcomes: a crash after the write, before the ack.
type faultyJobs struct {
	migrate.JobStore
	failRecord atomic.Int32
}

func (j *faultyJobs) Record(ctx context.Context, jobID string, st migrate.EntryStatus) error {
	if j.failRecord.Add(-1) >= 0 {
		return crash()
	}
	return j.JobStore.Record(ctx, jobID, st)
}

type queueFixture struct {
	*fixture
	jobs    *faultyJobs
	target  *faultyTarget
	proc    *migrate.Processor
	job     migrate.Job
	entries []string
}

func newQueueFixture(t *testing.T, secrets []legacytest.Secret, opts migrate.Options) *queueFixture {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, secrets)
	js, err := sqljobs.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "jobs.db"))
	require.NoError(t, err)
	t.Cleanup(func() { js.Close() })
	q := &queueFixture{fixture: f, jobs: &faultyJobs{JobStore: js}, target: &faultyTarget{Target: f.target}}
	q.job = migrate.Job{ID: "job-1", Created: secret.Now(), Owner: alice.Name, Source: f.url, Options: opts}
	var entries []migrate.EntryStatus
	for _, s := range secrets {
		entries = append(entries, migrate.EntryStatus{Name: s.Name, Outcome: migrate.Pending})
		q.entries = append(q.entries, s.Name)
	}
	require.NoError(t, js.CreateJob(ctx, q.job, entries))
	q.proc = &migrate.Processor{Jobs: q.jobs, Target: func(*migrate.Job) migrate.Target { return q.target }, MaxDeliveries: 5}
	return q
}

func (q *queueFixture) message(name string) []byte {
	return migrate.Message{Job: q.job.ID, Source: q.job.Source, Name: name}.Encode()
}

// deliverUntilDone redelivers a message as a queue would until it is acked
// or the delivery limit sends it to the dead-letter queue.
func (q *queueFixture) deliverUntilDone(t *testing.T, name string) (deliveries int, dead bool) {
	for d := 1; d <= q.proc.MaxDeliveries; d++ {
		if err := q.proc.Handle(context.Background(), q.message(name), d); err == nil {
			return d, false
		}
	}
	return q.proc.MaxDeliveries, true
}

// requireExactlyOnce checks every entry is migrated once: one secret per
// entry, with its values, and the job counts all of them migrated.
func (q *queueFixture) requireExactlyOnce(t *testing.T, secrets []legacytest.Secret) {
	t.Helper()
	ctx := context.Background()
	require.Equal(t, len(secrets), q.count(t), "no duplicates, nothing lost")
	for _, s := range secrets {
		got, err := q.store.Lookup(ctx, alice, s.Name)
		require.NoError(t, err)
		legacytest.RequireSameValues(t, s.Want(), got.Values, s.Name)
	}
	counts, err := q.jobs.Counts(ctx, q.job.ID)
	require.NoError(t, err)
	require.Equal(t, migrate.Counts{migrate.Migrated: len(secrets)}, counts)
}

func TestDuplicateAndOutOfOrderDeliveries(t *testing.T) {
	secrets := legacytest.All()
	q := newQueueFixture(t, secrets, migrate.Options{})
	var deliveries []string
	for range 3 {
		deliveries = append(deliveries, q.entries...)
	}
	rand.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })
	var wg sync.WaitGroup
	for _, name := range deliveries { // all at once: concurrent duplicates race for the same names
		wg.Go(func() {
			for d := 1; ; d++ {
				if q.proc.Handle(context.Background(), q.message(name), d) == nil {
					return
				}
			}
		})
	}
	wg.Wait()
	q.requireExactlyOnce(t, secrets)
}

func TestCrashBetweenReadAndWrite(t *testing.T) {
	secrets := legacytest.All()
	q := newQueueFixture(t, secrets, migrate.Options{DeleteSource: true})
	q.target.failBeforeWrite.Store(2)
	q.target.failAfterWrite.Store(2)
	q.jobs.failRecord.Store(2)
	for _, name := range q.entries {
		_, dead := q.deliverUntilDone(t, name)
		require.False(t, dead, name)
	}
	q.requireExactlyOnce(t, secrets)
	items, err := q.src.List(context.Background())
	require.NoError(t, err)
	require.Len(t, items, 1, "every ZenML entry deleted once its copy was verified; only not_zenml is left")
}

func TestGiveUpAfterMaxDeliveriesThenRetry(t *testing.T) {
	ctx := context.Background()
	secrets := legacytest.Reference()
	q := newQueueFixture(t, secrets, migrate.Options{})
	q.target.failBeforeWrite.Store(1000) // the store is down
	_, dead := q.deliverUntilDone(t, "openai")
	require.True(t, dead)
	st, err := q.jobs.Entry(ctx, q.job.ID, "openai")
	require.NoError(t, err)
	require.Equal(t, migrate.Failed, st.Outcome)
	require.Equal(t, 5, st.Attempts)
	require.Contains(t, st.Reason, "gave up after 5 deliveries")

	q.target.failBeforeWrite.Store(0) // the store is back: retry re-enqueues the failures
	names, err := q.jobs.ResetFailed(ctx, q.job.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"openai"}, names)
	for _, name := range q.entries {
		_, dead := q.deliverUntilDone(t, name)
		require.False(t, dead)
	}
	q.requireExactlyOnce(t, secrets)
}

func TestPoisonMessages(t *testing.T) {
	q := newQueueFixture(t, legacytest.Reference(), migrate.Options{})
	for _, body := range []string{
		`not json`,
		`{"v":2,"job":"job-1","source":"` + q.job.Source + `","name":"openai"}`,
		`{"v":1,"job":"job-1","source":"` + q.job.Source + `","name":"openai","values":{"k":"v"}}`,
		`{"v":1,"job":"nope","source":"` + q.job.Source + `","name":"openai"}`,
		`{"v":1,"job":"job-1","source":"zenml-local:///etc/passwd","name":"openai"}`,
		`{"v":1,"job":"job-1","source":"` + q.job.Source + `","name":"not-in-job"}`,
	} {
		err := q.proc.Handle(context.Background(), []byte(body), 1)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), body)
	}
	require.Equal(t, 0, q.count(t))
}
