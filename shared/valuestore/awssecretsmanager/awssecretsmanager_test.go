package awssecretsmanager_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/awsjson"
	localsm "github.com/lockwell/lockwell/localdev/awssecretsmanager"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
	"github.com/lockwell/lockwell/shared/valuestore"
	asm "github.com/lockwell/lockwell/shared/valuestore/awssecretsmanager"
	"github.com/lockwell/lockwell/shared/valuestore/valuestoretest"
)

// setup starts a local Secrets Manager and points the SDK's standard
// environment at it, as local development does. It returns the server and
// a raw SDK client for planting entries.
func setup(t *testing.T) (*localsm.Server, *secretsmanager.Client) {
	srv, endpoint := localsm.Start(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint,
		"AWS_ACCESS_KEY_ID":                "AKIDLOCAL",
		"AWS_SECRET_ACCESS_KEY":            "local-secret-key",
		"AWS_REGION":                       "eu-west-1",
		"AWS_CONFIG_FILE":                  "/nonexistent/lockwell-test",
		"AWS_SHARED_CREDENTIALS_FILE":      "/nonexistent/lockwell-test",
		"AWS_EC2_METADATA_DISABLED":        "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	require.NoError(t, err)
	return srv, secretsmanager.NewFromConfig(cfg)
}

func openStore(t *testing.T, rawURL, deployment string) valuestore.Store {
	t.Helper()
	s, err := valuestore.Open(context.Background(), rawURL, valuestore.Options{Deployment: deployment})
	require.NoError(t, err)
	return s
}

// throttler injects faults into the local server and, when the test ends,
// drains the ones no call consumed, so later tests see a healthy server.
type throttler struct {
	srv    *localsm.Server
	client *secretsmanager.Client
	mu     sync.Mutex
	queued map[string]int // operation -> Calls() value once all faults are consumed
}

func (th *throttler) throttle(t *testing.T, op valuestoretest.Op, times int) {
	name := map[valuestoretest.Op]string{
		valuestoretest.OpCreate: "CreateSecret",
		valuestoretest.OpUpdate: "PutSecretValue",
		valuestoretest.OpGet:    "GetSecretValue",
	}[op]
	for i := range times {
		fault := &awsjson.Error{Status: http.StatusBadRequest, Type: "ThrottlingException", Message: "Rate exceeded"}
		if i%2 == 1 {
			fault = &awsjson.Error{Status: http.StatusInternalServerError, Type: "InternalServiceError", Message: "try again"}
		}
		th.srv.InjectFault(name, fault)
	}
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.queued == nil {
		th.queued = map[string]int{}
	}
	if th.queued[name] < th.srv.Calls(name) {
		th.queued[name] = th.srv.Calls(name)
	}
	th.queued[name] += times
	t.Cleanup(func() {
		th.mu.Lock()
		target := th.queued[name]
		th.mu.Unlock()
		for th.srv.Calls(name) < target {
			th.drainOne(name)
		}
	})
}

func (th *throttler) drainOne(op string) {
	ctx := context.Background()
	id := aws.String("lockwell-drain/none")
	switch op {
	case "CreateSecret":
		_, _ = th.client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("lockwell-drain/" + uuid.NewString())}, noRetry)
	case "PutSecretValue":
		_, _ = th.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: id, SecretString: aws.String("{}")}, noRetry)
	case "GetSecretValue":
		_, _ = th.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id}, noRetry)
	}
}

func noRetry(o *secretsmanager.Options) { o.Retryer = aws.NopRetryer{} }

func TestConformance(t *testing.T) {
	for _, mode := range []string{"force_delete=true", "recovery_window_days=7"} {
		t.Run(mode, func(t *testing.T) {
			srv, client := setup(t)
			rawURL := "awssecretsmanager://?prefix=lockwell&" + mode
			th := &throttler{srv: srv, client: client}
			valuestoretest.Run(t,
				func(t *testing.T) valuestore.Store { return openStore(t, rawURL, valuestoretest.Deployment) },
				valuestoretest.WithOtherDeployment(func(t *testing.T, deployment string) valuestore.Store {
					return openStore(t, rawURL, deployment)
				}),
				valuestoretest.WithForeignEntries(func(t *testing.T, id string, kind valuestoretest.ForeignKind) func() bool {
					return plant(t, client, "lockwell/"+id, id, kind)
				}),
				valuestoretest.WithThrottling(th.throttle),
			)
		})
	}
}

// plant creates an entry with the SDK directly, as another tool would.
func plant(t *testing.T, client *secretsmanager.Client, name, id string, kind valuestoretest.ForeignKind) func() bool {
	ctx := context.Background()
	var tags []types.Tag
	switch kind {
	case valuestoretest.OtherDeployment:
		tags = []types.Tag{{Key: aws.String(asm.TagDeployment), Value: aws.String("someone-else")}, {Key: aws.String(asm.TagSecretID), Value: aws.String(id)}}
	case valuestoretest.OtherSecretID:
		tags = []types.Tag{{Key: aws.String(asm.TagDeployment), Value: aws.String(valuestoretest.Deployment)}, {Key: aws.String(asm.TagSecretID), Value: aws.String(uuid.NewString())}}
	default:
		tags = []types.Tag{{Key: aws.String("owner"), Value: aws.String("another-tool")}}
	}
	const content = `{"foreign":"value"}`
	out, err := client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(content), Tags: tags})
	require.NoError(t, err)
	return func() bool {
		got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: out.ARN})
		if err != nil || aws.ToString(got.SecretString) != content || aws.ToString(got.VersionId) != aws.ToString(out.VersionId) {
			return false
		}
		desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: out.ARN})
		return err == nil && desc.DeletedDate == nil && len(desc.VersionIdsToStages) == 1 && len(desc.Tags) == len(tags)
	}
}

func TestEntryNameTagsAndOneVersionPerPut(t *testing.T) {
	_, client := setup(t)
	s := openStore(t, "awssecretsmanager://?region=eu-west-1&prefix=team-a", "dep-1")
	ctx := context.Background()
	id := uuid.NewString()
	values := map[string]string{"password": "pa55"}
	ref, err := s.Put(ctx, id, values)
	require.NoError(t, err)

	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("team-a/" + id)})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(aws.ToString(desc.ARN), "arn:aws:secretsmanager:eu-west-1:"+localsm.DefaultAccount+":secret:team-a/"+id+"-"), "ARN %s", aws.ToString(desc.ARN))
	tags := map[string]string{}
	for _, tg := range desc.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	assert.Equal(t, map[string]string{asm.TagDeployment: "dep-1", asm.TagSecretID: id}, tags)
	assert.Equal(t, []string{"AWSCURRENT"}, desc.VersionIdsToStages[ref])

	// Every Put is a write of its own, also of the same values: a new
	// version, so that a ref names exactly one write.
	update := map[string]string{"password": "n3w"}
	r1, err := s.Put(ctx, id, update)
	require.NoError(t, err)
	time.Sleep(2 * time.Millisecond)
	r2, err := s.Put(ctx, id, update)
	require.NoError(t, err)
	assert.NotEqual(t, r1, r2, "a second Put of the same values is a new version")
	vs, err := client.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("team-a/" + id), IncludeDeprecated: aws.Bool(true)})
	require.NoError(t, err)
	assert.Len(t, vs.Versions, 3)

	// Retire deprecates the older versions; AWS keeps them readable by id.
	require.NoError(t, s.Retire(ctx, id, r2))
	desc, err = client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("team-a/" + id)})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{r2: {"AWSCURRENT", asm.StageIndexed}}, desc.VersionIdsToStages, "only the kept version has labels")
	got, err := s.Get(ctx, id, r1)
	require.NoError(t, err)
	valuestoretest.RequireSameValues(t, update, got, "a deprecated version")

	// Putting the creation values again is an update like any other: a new
	// version, not a repeat of the first one.
	again, err := s.Put(ctx, id, values)
	require.NoError(t, err)
	assert.NotEqual(t, ref, again)
}

// TestALateRetireNeverUnpinsTheIndexedVersion forces the interleaving in
// which a winner's Retire runs after the next update has won and pinned its
// own version, and two writers that then lose their index updates move
// AWSCURRENT and AWSPREVIOUS on. The late Retire used to move the pin back
// to its own, older version, leaving the version the index points at
// without any staging label: deprecated, and removed by AWS once the secret
// has more than 100 versions.
func TestALateRetireNeverUnpinsTheIndexedVersion(t *testing.T) {
	_, client := setup(t)
	s := openStore(t, "awssecretsmanager://?prefix=lockwell", "dep")
	ctx := context.Background()
	id := uuid.NewString()
	put := func(v string) string {
		time.Sleep(2 * time.Millisecond) // distinct creation times, as writes apart in time have
		ref, err := s.Put(ctx, id, map[string]string{"v": v})
		require.NoError(t, err)
		return ref
	}
	put("0")
	first := put("1")  // wins its index update, then stalls before Retire
	second := put("2") // wins the next index update
	require.NoError(t, s.Retire(ctx, id, second))
	require.NoError(t, s.Retire(ctx, id, first)) // the first writer's Retire, late
	put("loser a")
	put("loser b")
	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("lockwell/" + id)})
	require.NoError(t, err)
	assert.Equal(t, []string{asm.StageIndexed}, desc.VersionIdsToStages[second], "the indexed version keeps its pin")
	assert.Empty(t, desc.VersionIdsToStages[first])
}

func TestEntriesPagesAndSkipsLookalikes(t *testing.T) {
	_, client := setup(t)
	s, err := asm.New(client, asm.Config{Prefix: "lockwell", Deployment: "dep", PageSize: 2})
	require.NoError(t, err)
	ctx := context.Background()
	want := map[string]bool{}
	for range 5 {
		id := uuid.NewString()
		_, err := s.Put(ctx, id, map[string]string{"a": "b"})
		require.NoError(t, err)
		want[id] = true
		// Lookalikes the tag-prefix filters let through: a deployment id
		// that merely starts with ours, and the right tags on a name
		// outside the prefix.
		other := uuid.NewString()
		plantTagged(t, client, "lockwell/"+other, map[string]string{asm.TagDeployment: "dep-2", asm.TagSecretID: other})
		plantTagged(t, client, "elsewhere/"+other, map[string]string{asm.TagDeployment: "dep", asm.TagSecretID: other})
	}
	got := map[string]bool{}
	require.NoError(t, s.Entries(ctx, func(id string) error { got[id] = true; return nil }))
	assert.Equal(t, want, got)
}

func plantTagged(t *testing.T, client *secretsmanager.Client, name string, tags map[string]string) {
	var tt []types.Tag
	for k, v := range tags {
		tt = append(tt, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	_, err := client.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("{}"), Tags: tt})
	require.NoError(t, err)
}

func TestRetireMovesAWSCURRENTBackOnlyFromOlderVersions(t *testing.T) {
	_, client := setup(t)
	s := openStore(t, "awssecretsmanager://?prefix=lockwell", "dep")
	ctx := context.Background()
	id := uuid.NewString()
	r1, err := s.Put(ctx, id, map[string]string{"v": "1"})
	require.NoError(t, err)
	time.Sleep(2 * time.Millisecond)
	r2, err := s.Put(ctx, id, map[string]string{"v": "2"})
	require.NoError(t, err)
	// r2 holds AWSCURRENT; retiring around r1 must not take it away from the
	// newer version (its writer may be about to record it).
	require.NoError(t, s.Retire(ctx, id, r1))
	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("lockwell/" + id)})
	require.NoError(t, err)
	assert.Equal(t, []string{"AWSCURRENT"}, desc.VersionIdsToStages[r2])
	assert.Equal(t, []string{"AWSPREVIOUS", asm.StageIndexed}, desc.VersionIdsToStages[r1])
}

func TestDeleteWithRecoveryWindowThenPutRestores(t *testing.T) {
	_, client := setup(t)
	s := openStore(t, "awssecretsmanager://?prefix=lockwell&recovery_window_days=7", "dep")
	ctx := context.Background()
	id := uuid.NewString()
	_, err := s.Put(ctx, id, map[string]string{"a": "1"})
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, id))

	desc, err := client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("lockwell/" + id)})
	require.NoError(t, err, "the entry is only scheduled for deletion")
	require.NotNil(t, desc.DeletedDate)
	_, err = client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("lockwell/" + id)})
	require.ErrorContains(t, err, "marked for deletion")

	// Writing the same secret again (a restore from backup) brings it back.
	ref, err := s.Put(ctx, id, map[string]string{"a": "2"})
	require.NoError(t, err)
	got, err := s.Get(ctx, id, ref)
	require.NoError(t, err)
	valuestoretest.RequireSameValues(t, map[string]string{"a": "2"}, got, "restored entry")
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		fault *awsjson.Error
		want  errcode.Code
	}{
		{&awsjson.Error{Status: 400, Type: "AccessDeniedException", Message: "User arn:aws:iam::1:user/x is not authorized"}, errcode.PermissionDenied},
		{&awsjson.Error{Status: 400, Type: "DecryptionFailure", Message: "kms"}, errcode.PermissionDenied},
		{&awsjson.Error{Status: 400, Type: "UnrecognizedClientException", Message: "bad key AKIDLOCAL"}, errcode.Internal},
		{&awsjson.Error{Status: 400, Type: "LimitExceededException", Message: "too many secrets in this account"}, errcode.TooLarge},
		{&awsjson.Error{Status: 400, Type: "ValidationException", Message: "Value 'pa55-SECRET' at 'secretString'"}, errcode.InvalidArgument},
		{&awsjson.Error{Status: 503, Type: "SomethingNew", Message: "down"}, errcode.Unavailable},
		{&awsjson.Error{Status: 400, Type: "SomethingNew", Message: "pa55-SECRET"}, errcode.Internal},
	}
	for _, tc := range cases {
		t.Run(tc.fault.Type, func(t *testing.T) {
			srv, _ := setup(t)
			s := openStore(t, "awssecretsmanager://?prefix=lockwell", "dep")
			for range 10 { // more than the retries
				srv.InjectFault("CreateSecret", tc.fault)
			}
			_, err := s.Put(context.Background(), uuid.NewString(), map[string]string{"k": "pa55-SECRET"})
			require.Error(t, err)
			assert.Equal(t, tc.want, errcode.Of(err), "%v", err)
			assert.Contains(t, errcode.Message(err), "AWS Secrets Manager")
			// Neither the message nor the logged cause carries provider text.
			assert.NotContains(t, err.Error(), "pa55-SECRET")
			assert.NotContains(t, err.Error(), "AKIDLOCAL")
			assert.NotContains(t, err.Error(), tc.fault.Message)
		})
	}
}

func TestNetworkFailureIsUnavailable(t *testing.T) {
	setup(t)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:1")
	s := openStore(t, "awssecretsmanager://?prefix=lockwell", "dep")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := s.Get(ctx, uuid.NewString(), uuid.NewString())
	assert.Equal(t, errcode.Unavailable, errcode.Of(err), "%v", err)
}

func TestOpenRejectsBadURLs(t *testing.T) {
	setup(t)
	for _, raw := range []string{
		"awssecretsmanager://?prefix=lockwell&colour=blue",
		"awssecretsmanager://?recovery_window_days=3",
		"awssecretsmanager://?recovery_window_days=7&force_delete=true",
		"awssecretsmanager://?force_delete=maybe",
		"awssecretsmanager://?prefix=has/slash",
		"awssecretsmanager://somehost?prefix=x",
		"awssecretsmanager://AKID:SECRET@/?prefix=x",
	} {
		_, err := valuestore.Open(context.Background(), raw, valuestore.Options{Deployment: "d"})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%s: %v", raw, err)
		if err != nil {
			assert.NotContains(t, err.Error(), "SECRET")
		}
	}
	t.Setenv("AWS_REGION", "")
	_, err := valuestore.Open(context.Background(), "awssecretsmanager://?prefix=x", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "a region is required: %v", err)
}

func TestCallsPerOperation(t *testing.T) {
	srv, _ := setup(t)
	s := openStore(t, "awssecretsmanager://?prefix=lockwell&force_delete=true", "dep")
	ctx := context.Background()
	ops := []string{"CreateSecret", "DescribeSecret", "PutSecretValue", "GetSecretValue", "ListSecretVersionIds", "UpdateSecretVersionStage", "DeleteSecret", "ListSecrets"}
	diff := func(op func()) map[string]int {
		before := map[string]int{}
		for _, o := range ops {
			before[o] = srv.Calls(o)
		}
		op()
		d := map[string]int{}
		for _, o := range ops {
			if n := srv.Calls(o) - before[o]; n > 0 {
				d[o] = n
			}
		}
		return d
	}
	id := uuid.NewString()
	var ref string
	put := func(v string) func() {
		return func() {
			var err error
			ref, err = s.Put(ctx, id, map[string]string{"a": v})
			require.NoError(t, err)
		}
	}
	assert.Equal(t, map[string]int{"DescribeSecret": 1, "CreateSecret": 1}, diff(put("1")), "create")
	time.Sleep(2 * time.Millisecond)
	assert.Equal(t, map[string]int{"DescribeSecret": 1, "PutSecretValue": 1}, diff(put("2")), "update")
	assert.Equal(t, map[string]int{"DescribeSecret": 1, "GetSecretValue": 1}, diff(func() {
		_, err := s.Get(ctx, id, ref)
		require.NoError(t, err)
	}), "get")
	assert.Equal(t, map[string]int{"DescribeSecret": 1, "ListSecretVersionIds": 1, "UpdateSecretVersionStage": 2}, diff(func() {
		require.NoError(t, s.Retire(ctx, id, ref))
	}), "retire: pin the kept version, unlabel the previous one")
	assert.Equal(t, map[string]int{"ListSecrets": 1}, diff(func() {
		require.NoError(t, s.Entries(ctx, func(string) error { return nil }))
	}), "entries")
	assert.Equal(t, map[string]int{"DescribeSecret": 1, "DeleteSecret": 1}, diff(func() {
		require.NoError(t, s.Delete(ctx, id))
	}), "delete")
}

// BenchmarkUpdateAndGet measures an update plus a read of 1 KiB of values
// through the SDK against the local server (both on this machine).
func BenchmarkUpdateAndGet(b *testing.B) {
	_, endpoint := localsm.Start(b)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": endpoint, "AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_REGION": "us-east-1", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		b.Setenv(k, v)
	}
	s, err := valuestore.Open(context.Background(), "awssecretsmanager://?prefix=lockwell", valuestore.Options{Deployment: "dep"})
	require.NoError(b, err)
	ctx := context.Background()
	id := uuid.NewString()
	values := valuestoretest.ValuesOfSize(b, 1024)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		values["k0"] = fmt.Sprintf("%08d", i) + values["k0"][8:]
		ref, err := s.Put(ctx, id, values)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, id, ref); err != nil {
			b.Fatal(err)
		}
	}
}

// TestIndexedPassesTheBackendConformanceSuite runs the backend suite, racing
// writers included, against an index paired with this store.
func TestIndexedPassesTheBackendConformanceSuite(t *testing.T) {
	setup(t)
	valuestoretest.RunIndexed(t, func(t *testing.T) valuestore.Store {
		return openStore(t, "awssecretsmanager://?prefix=lockwell&force_delete=true", valuestoretest.Deployment)
	})
}

// TestKeptVersionsOutliveTheRemovalOfDeprecatedVersions: AWS removes
// unlabelled versions beyond 100, oldest first (the local server at once,
// AWS after 24 hours). With the default retention of 20, 130 updates leave
// every kept version readable: the versions Retire deprecated are older
// than every kept one, so they go first.
func TestKeptVersionsOutliveTheRemovalOfDeprecatedVersions(t *testing.T) {
	setup(t)
	// A server of its own whose clock runs two days ahead once the updates
	// are written, so that they are old enough for AWS to remove.
	var ahead atomic.Bool
	srv := localsm.New()
	srv.Now = func() time.Time {
		if ahead.Load() {
			return time.Now().Add(48 * time.Hour)
		}
		return time.Now()
	}
	endpoint, stop, err := srv.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = stop() })
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
	ctx := context.Background()
	values := openStore(t, "awssecretsmanager://?prefix=lockwell&force_delete=true", "history")
	index := memstore.New()
	st := store.New(valuestore.Indexed(index, values)) // store.DefaultKeepVersions
	alice := identity.Principal{Name: "alice"}
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "rotated", Values: map[string]string{"n": "1"}})
	require.NoError(t, err)
	const n = 130
	for i := 2; i <= n; i++ {
		ahead.Store(i == n) // the last write removes what AWS would by now
		v := fmt.Sprint(i)
		_, err := st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"n": &v}})
		require.NoError(t, err, "update %d", i)
	}
	vs, err := st.Versions(ctx, alice, s.ID)
	require.NoError(t, err)
	require.Len(t, vs, store.DefaultKeepVersions)
	for _, v := range vs {
		got, err := st.GetVersion(ctx, alice, s.ID, v.Version)
		require.NoError(t, err, "kept version %d", v.Version)
		assert.Equal(t, fmt.Sprint(v.Version), got.Values["n"], "values of version %d", v.Version)
	}
	_, err = st.GetVersion(ctx, alice, s.ID, n-store.DefaultKeepVersions)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a pruned version")

	// AWS removed the oldest deprecated versions: the entry holds 100.
	cfg, err := config.LoadDefaultConfig(ctx)
	require.NoError(t, err)
	raw, err := secretsmanager.NewFromConfig(cfg).ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String("lockwell/" + s.ID), IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(100)})
	require.NoError(t, err)
	assert.Len(t, raw.Versions, 100, "versions beyond 100 were removed")
	assert.Nil(t, raw.NextToken)
	oldest, err := valuestore.OldestKeptRef(ctx, index, s.ID)
	require.NoError(t, err)
	for _, v := range raw.Versions {
		pinned := slices.Contains(v.VersionStages, asm.StageIndexed)
		assert.Equal(t, aws.ToString(v.VersionId) == oldest, pinned, "only the oldest kept version is pinned")
	}
}
