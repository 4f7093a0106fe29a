package gcpsecretmanager_test

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	localsm "github.com/lockwell/lockwell/localdev/gcpsecretmanager"
	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/gcpsecretmanager"
	"github.com/lockwell/lockwell/shared/valuestore/valuestoretest"
)

const project = "lockwell-test"

// env is one local server and a raw official client to plant and inspect
// entries with.
type env struct {
	srv *localsm.Server
	raw *secretmanager.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := localsm.Start()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	raw, err := secretmanager.NewClient(context.Background(), clientOptions(srv)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	t.Setenv(gcpsecretmanager.EndpointEnv, srv.Addr())
	return &env{srv: srv, raw: raw}
}

func clientOptions(srv *localsm.Server) []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(srv.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// open opens a store by URL, through the registry, as the functions do.
func (e *env) open(t *testing.T, deployment, query string) valuestore.Store {
	t.Helper()
	s, err := valuestore.Open(context.Background(), "gcpsecretmanager://projects/"+project+query, valuestore.Options{Deployment: deployment})
	require.NoError(t, err)
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func sameValues(t *testing.T, want, got map[string]string, what string) {
	t.Helper()
	valuestoretest.RequireSameValues(t, want, got, what)
}

func TestConformance(t *testing.T) {
	for _, oldVersions := range []string{"disable", "destroy", "keep"} {
		t.Run(oldVersions, func(t *testing.T) {
			e := newEnv(t)
			query := "?prefix=lockwell&old_versions=" + oldVersions
			valuestoretest.Run(t,
				func(t *testing.T) valuestore.Store { return e.open(t, valuestoretest.Deployment, query) },
				valuestoretest.WithOtherDeployment(func(t *testing.T, d string) valuestore.Store { return e.open(t, d, query) }),
				valuestoretest.WithForeignEntries(e.plant),
				valuestoretest.WithThrottling(func(t *testing.T, op valuestoretest.Op, times int) {
					method := map[valuestoretest.Op]string{
						valuestoretest.OpCreate: "CreateSecret",
						valuestoretest.OpUpdate: "AddSecretVersion",
						valuestoretest.OpGet:    "AccessSecretVersion",
					}[op]
					code := codes.ResourceExhausted
					if times%2 == 0 {
						code = codes.Unavailable
					}
					e.srv.FailNext(method, code, times)
				}))
		})
	}
}

// plant creates, with the official client, a secret under the name the
// store uses for secretID, foreign as kind says.
func (e *env) plant(t *testing.T, secretID string, kind valuestoretest.ForeignKind) func() bool {
	labels := map[string]string{}
	switch kind {
	case valuestoretest.OtherDeployment:
		labels = map[string]string{gcpsecretmanager.DeploymentLabel: "someone-else", gcpsecretmanager.SecretIDLabel: secretID}
	case valuestoretest.OtherSecretID:
		labels = map[string]string{gcpsecretmanager.DeploymentLabel: valuestoretest.Deployment, gcpsecretmanager.SecretIDLabel: uuid.NewString()}
	}
	name := fmt.Sprintf("projects/%s/secrets/lockwell-%s", project, secretID)
	_, err := e.raw.CreateSecret(context.Background(), &pb.CreateSecretRequest{
		Parent: "projects/" + project, SecretId: "lockwell-" + secretID,
		Secret: &pb.Secret{Labels: labels, Replication: automatic()},
	})
	require.NoError(t, err)
	for _, data := range []string{`{"theirs":"1"}`, "not json at all"} {
		_, err = e.raw.AddSecretVersion(context.Background(), &pb.AddSecretVersionRequest{Parent: name, Payload: &pb.SecretPayload{Data: []byte(data)}})
		require.NoError(t, err)
	}
	return func() bool {
		sec, err := e.raw.GetSecret(context.Background(), &pb.GetSecretRequest{Name: name})
		if err != nil || len(sec.GetLabels()) != len(labels) || len(labels) > 0 && !reflect.DeepEqual(sec.GetLabels(), labels) {
			return false
		}
		for n, data := range []string{`{"theirs":"1"}`, "not json at all"} {
			got, err := e.raw.AccessSecretVersion(context.Background(), &pb.AccessSecretVersionRequest{Name: fmt.Sprintf("%s/versions/%d", name, n+1)})
			if err != nil || string(got.GetPayload().GetData()) != data {
				return false
			}
		}
		list, err := e.raw.ListSecretVersions(context.Background(), &pb.ListSecretVersionsRequest{Parent: name}).Next()
		return err == nil && list.GetState() == pb.SecretVersion_ENABLED
	}
}

func automatic() *pb.Replication {
	return &pb.Replication{Replication: &pb.Replication_Automatic_{Automatic: &pb.Replication_Automatic{}}}
}

func TestParseURL(t *testing.T) {
	cases := []struct {
		url     string
		want    gcpsecretmanager.Config
		wantErr bool
	}{
		{url: "gcpsecretmanager://projects/p-1", want: gcpsecretmanager.Config{Project: "p-1", Prefix: "lockwell", OldVersions: "disable"}},
		{url: "gcpsecretmanager://projects/p-1?prefix=acme_prod&old_versions=destroy", want: gcpsecretmanager.Config{Project: "p-1", Prefix: "acme_prod", OldVersions: "destroy"}},
		{url: "gcpsecretmanager://projects/p-1?replication=user-managed&locations=europe-west1,us-east1&old_versions=keep",
			want: gcpsecretmanager.Config{Project: "p-1", Prefix: "lockwell", Locations: []string{"europe-west1", "us-east1"}, OldVersions: "keep"}},
		{url: "gcpsecretmanager://projects/", wantErr: true},
		{url: "gcpsecretmanager://p-1", wantErr: true},
		{url: "gcpsecretmanager://projects/p-1?region=x", wantErr: true},
		{url: "gcpsecretmanager://projects/p-1?prefix=a/b", wantErr: true},
		{url: "gcpsecretmanager://projects/p-1?replication=user-managed", wantErr: true},
		{url: "gcpsecretmanager://projects/p-1?locations=europe-west1", wantErr: true},
		{url: "gcpsecretmanager://projects/p-1?replication=global", wantErr: true},
		{url: "gcpsecretmanager://projects/p-1?old_versions=delete", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			u, err := url.Parse(c.url)
			require.NoError(t, err)
			got, err := gcpsecretmanager.ParseURL(u)
			if c.wantErr {
				assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

func TestCredentialsAndEndpointRules(t *testing.T) {
	_, err := valuestore.Open(context.Background(), "gcpsecretmanager://user:pw@projects/p", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "credentials in the URL")
	t.Setenv(gcpsecretmanager.EndpointEnv, "secretmanager.example.com:443")
	_, err = valuestore.Open(context.Background(), "gcpsecretmanager://projects/p", valuestore.Options{Deployment: "d"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "a plaintext endpoint off loopback")
}

func TestDeploymentLabelValue(t *testing.T) {
	assert.Equal(t, "prod-eu_1", gcpsecretmanager.DeploymentLabelValue("prod-eu_1"))
	for _, d := range []string{"Prod", "acme.example.com", "x" + string(make([]byte, 70)), "ünïcode"} {
		v := gcpsecretmanager.DeploymentLabelValue(d)
		assert.Regexp(t, `^h-[0-9a-f]{40}$`, v, "label for %q", d)
		assert.Equal(t, v, gcpsecretmanager.DeploymentLabelValue(d), "deterministic")
	}
	assert.NotEqual(t, gcpsecretmanager.DeploymentLabelValue("Prod"), gcpsecretmanager.DeploymentLabelValue("PROD"))
}

func TestLabelsReplicationAndVersionStates(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "Acme Prod", "?replication=user-managed&locations=europe-west1,europe-west4&old_versions=disable&prefix=lw")
	defer s.Close()
	id := uuid.NewString()
	r1, err := s.Put(ctx(t), id, map[string]string{"v": "1"})
	require.NoError(t, err)
	r2, err := s.Put(ctx(t), id, map[string]string{"v": "2"})
	require.NoError(t, err)
	r3, err := s.Put(ctx(t), id, map[string]string{"v": "3"})
	require.NoError(t, err)
	assert.Equal(t, []string{"1", "2", "3"}, []string{r1, r2, r3}, "refs are version numbers")

	name := fmt.Sprintf("projects/%s/secrets/lw-%s", project, id)
	sec, err := e.raw.GetSecret(ctx(t), &pb.GetSecretRequest{Name: name})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		gcpsecretmanager.DeploymentLabel: gcpsecretmanager.DeploymentLabelValue("Acme Prod"),
		gcpsecretmanager.SecretIDLabel:   id,
	}, sec.GetLabels())
	var locations []string
	for _, r := range sec.GetReplication().GetUserManaged().GetReplicas() {
		locations = append(locations, r.GetLocation())
	}
	assert.Equal(t, []string{"europe-west1", "europe-west4"}, locations)

	require.NoError(t, s.Retire(ctx(t), id, r2))
	states := map[string]pb.SecretVersion_State{}
	it := e.raw.ListSecretVersions(ctx(t), &pb.ListSecretVersionsRequest{Parent: name})
	for v, err := it.Next(); err == nil; v, err = it.Next() {
		states[v.GetName()[len(name)+len("/versions/"):]] = v.GetState()
	}
	assert.Equal(t, map[string]pb.SecretVersion_State{"1": pb.SecretVersion_DISABLED, "2": pb.SecretVersion_ENABLED, "3": pb.SecretVersion_ENABLED}, states)
	_, err = s.Get(ctx(t), id, r1)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "a disabled version is not found")

	// A relabelled secret is no longer this deployment's.
	_, err = e.raw.UpdateSecret(ctx(t), &pb.UpdateSecretRequest{
		Secret:     &pb.Secret{Name: name, Labels: map[string]string{gcpsecretmanager.DeploymentLabel: "other", gcpsecretmanager.SecretIDLabel: id}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	})
	require.NoError(t, err)
	_, err = s.Get(ctx(t), id, r3)
	assert.Equal(t, errcode.NotFound, errcode.Of(err), "label mismatch is not_found")
}

func TestEntriesPagesThroughManySecrets(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "paging", "")
	defer s.Close()
	want := map[string]bool{}
	for range 230 {
		id := uuid.NewString()
		_, err := s.Put(ctx(t), id, map[string]string{"k": "v"})
		require.NoError(t, err)
		want[id] = true
	}
	got := map[string]bool{}
	require.NoError(t, s.Entries(ctx(t), func(id string) error { got[id] = true; return nil }))
	assert.Equal(t, want, got)
	assert.Equal(t, 3, e.srv.Calls("ListSecrets"), "pages of 100")
}

func TestRetriesAndErrorClassification(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "retries", "")
	defer s.Close()
	id := uuid.NewString()
	e.srv.FailNext("GetSecret", codes.Internal, 2)
	ref, err := s.Put(ctx(t), id, map[string]string{"k": "v"})
	require.NoError(t, err, "Internal is retried")

	before := e.srv.Calls("GetSecret")
	e.srv.FailNext("GetSecret", codes.PermissionDenied, 1)
	_, err = s.Get(ctx(t), id, ref)
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err))
	assert.Equal(t, 1, e.srv.Calls("GetSecret")-before, "permission_denied is not retried")

	e.srv.FailNext("AccessSecretVersion", codes.Unauthenticated, 1)
	_, err = s.Get(ctx(t), id, ref)
	assert.Equal(t, errcode.Internal, errcode.Of(err))
	assert.NotContains(t, errcode.Message(err), "injected", "provider text stays out of the client message")

	// A failed first version leaves no empty secret behind.
	id2 := uuid.NewString()
	e.srv.FailNext("AddSecretVersion", codes.PermissionDenied, 1)
	_, err = s.Put(ctx(t), id2, map[string]string{"k": "v"})
	assert.Equal(t, errcode.PermissionDenied, errcode.Of(err))
	_, err = e.raw.GetSecret(ctx(t), &pb.GetSecretRequest{Name: fmt.Sprintf("projects/%s/secrets/lockwell-%s", project, id2)})
	assert.Equal(t, codes.NotFound, status.Code(err))
}

func TestTooLargeIsCheckedBeforeWriting(t *testing.T) {
	e := newEnv(t)
	s := e.open(t, "sizes", "")
	defer s.Close()
	_, err := s.Put(ctx(t), uuid.NewString(), valuestoretest.ValuesOfSize(t, gcpsecretmanager.Limit+1))
	require.Equal(t, errcode.TooLarge, errcode.Of(err))
	assert.Contains(t, errcode.Message(err), "GCP Secret Manager")
	assert.Contains(t, errcode.Message(err), "65536")
	assert.Zero(t, e.srv.Calls("GetSecret")+e.srv.Calls("CreateSecret")+e.srv.Calls("AddSecretVersion"), "no call was made")

	_, err = s.Put(ctx(t), "not-a-uuid", map[string]string{"k": "v"})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
}

// TestIndexedPassesTheBackendConformanceSuite runs the backend suite, racing
// writers included, against an index paired with this store.
func TestIndexedPassesTheBackendConformanceSuite(t *testing.T) {
	e := newEnv(t)
	valuestoretest.RunIndexed(t, func(t *testing.T) valuestore.Store {
		return e.open(t, valuestoretest.Deployment, "?prefix=lockwell&old_versions=destroy")
	})
}
