package gcpsecretmanager_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
	"testing"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	pb "cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/lockwell/lockwell/localdev/gcpsecretmanager"
)

const parent = "projects/p"

func start(t *testing.T) (*gcpsecretmanager.Server, *secretmanager.Client, context.Context) {
	t.Helper()
	srv, err := gcpsecretmanager.Start()
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	c, err := secretmanager.NewClient(context.Background(),
		option.WithEndpoint(srv.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	c.CallOptions = &secretmanager.CallOptions{} // no client-side retries: tests see every fault
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return srv, c, ctx
}

func automatic() *pb.Replication {
	return &pb.Replication{Replication: &pb.Replication_Automatic_{Automatic: &pb.Replication_Automatic{}}}
}

func create(t *testing.T, c *secretmanager.Client, ctx context.Context, id string, labels map[string]string) {
	t.Helper()
	_, err := c.CreateSecret(ctx, &pb.CreateSecretRequest{Parent: parent, SecretId: id, Secret: &pb.Secret{Replication: automatic(), Labels: labels}})
	require.NoError(t, err)
}

func TestListenRefusesNonLoopback(t *testing.T) {
	_, err := gcpsecretmanager.Listen("0.0.0.0:0")
	assert.Error(t, err)
}

func TestCreateRules(t *testing.T) {
	_, c, ctx := start(t)
	cases := []struct {
		name   string
		req    *pb.CreateSecretRequest
		status codes.Code
	}{
		{"ok", &pb.CreateSecretRequest{Parent: parent, SecretId: "a_B-1", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"k": "v", "k-2": ""}}}, codes.OK},
		{"duplicate", &pb.CreateSecretRequest{Parent: parent, SecretId: "a_B-1", Secret: &pb.Secret{Replication: automatic()}}, codes.AlreadyExists},
		{"no replication", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{}}, codes.InvalidArgument},
		{"bad id", &pb.CreateSecretRequest{Parent: parent, SecretId: "a/b", Secret: &pb.Secret{Replication: automatic()}}, codes.InvalidArgument},
		{"bad parent", &pb.CreateSecretRequest{Parent: "p", SecretId: "x", Secret: &pb.Secret{Replication: automatic()}}, codes.InvalidArgument},
		{"uppercase label key", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"Key": "v"}}}, codes.InvalidArgument},
		{"uppercase label value", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"k": "V"}}}, codes.InvalidArgument},
		{"label key starts with digit", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"1k": "v"}}}, codes.InvalidArgument},
		{"label value too long", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"k": strings.Repeat("v", 64)}}}, codes.InvalidArgument},
		{"label with dot", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"k": "a.b"}}}, codes.InvalidArgument},
		{"user-managed without replicas", &pb.CreateSecretRequest{Parent: parent, SecretId: "x", Secret: &pb.Secret{Replication: &pb.Replication{Replication: &pb.Replication_UserManaged_{UserManaged: &pb.Replication_UserManaged{}}}}}, codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateSecret(ctx, tc.req)
			assert.Equal(t, tc.status, status.Code(err))
		})
	}
}

func TestVersionsAndStates(t *testing.T) {
	_, c, ctx := start(t)
	create(t, c, ctx, "s", nil)
	name := parent + "/secrets/s"

	crc := func(b []byte) *int64 { v := int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))); return &v }
	for i := 1; i <= 3; i++ {
		data := []byte(fmt.Sprintf("payload %d ✓", i))
		v, err := c.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{Parent: name, Payload: &pb.SecretPayload{Data: data, DataCrc32C: crc(data)}})
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("%s/versions/%d", name, i), v.GetName())
		assert.True(t, v.GetClientSpecifiedPayloadChecksum())
	}
	wrong := int64(12345)
	_, err := c.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{Parent: name, Payload: &pb.SecretPayload{Data: []byte("x"), DataCrc32C: &wrong}})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "checksum mismatch")
	_, err = c.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{Parent: name, Payload: &pb.SecretPayload{Data: make([]byte, gcpsecretmanager.MaxPayload+1)}})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "over 64 KiB")
	_, err = c.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{Parent: name, Payload: &pb.SecretPayload{Data: make([]byte, gcpsecretmanager.MaxPayload)}})
	require.NoError(t, err, "exactly 64 KiB")
	_, err = c.AddSecretVersion(ctx, &pb.AddSecretVersionRequest{Parent: parent + "/secrets/missing", Payload: &pb.SecretPayload{Data: []byte("x")}})
	assert.Equal(t, codes.NotFound, status.Code(err))

	got, err := c.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: name + "/versions/2"})
	require.NoError(t, err)
	assert.True(t, string(got.GetPayload().GetData()) == "payload 2 ✓", "version 2 payload")
	assert.Equal(t, *crc(got.GetPayload().GetData()), got.GetPayload().GetDataCrc32C())
	latest, err := c.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: name + "/versions/latest"})
	require.NoError(t, err)
	assert.Equal(t, name+"/versions/4", latest.GetName(), "latest resolves to a number")

	_, err = c.DisableSecretVersion(ctx, &pb.DisableSecretVersionRequest{Name: name + "/versions/1"})
	require.NoError(t, err)
	_, err = c.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: name + "/versions/1"})
	assert.Equal(t, codes.FailedPrecondition, status.Code(err), "disabled")
	_, err = c.EnableSecretVersion(ctx, &pb.EnableSecretVersionRequest{Name: name + "/versions/1"})
	require.NoError(t, err)
	_, err = c.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: name + "/versions/1"})
	require.NoError(t, err, "enabled again")

	v, err := c.DestroySecretVersion(ctx, &pb.DestroySecretVersionRequest{Name: name + "/versions/2"})
	require.NoError(t, err)
	assert.Equal(t, pb.SecretVersion_DESTROYED, v.GetState())
	assert.NotNil(t, v.GetDestroyTime())
	for _, op := range []func() error{
		func() error {
			_, err := c.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: name + "/versions/2"})
			return err
		},
		func() error {
			_, err := c.EnableSecretVersion(ctx, &pb.EnableSecretVersionRequest{Name: name + "/versions/2"})
			return err
		},
		func() error {
			_, err := c.DisableSecretVersion(ctx, &pb.DisableSecretVersionRequest{Name: name + "/versions/2"})
			return err
		},
		func() error {
			_, err := c.DestroySecretVersion(ctx, &pb.DestroySecretVersionRequest{Name: name + "/versions/2"})
			return err
		},
	} {
		assert.Equal(t, codes.FailedPrecondition, status.Code(op()), "destroyed version")
	}
	_, err = c.GetSecretVersion(ctx, &pb.GetSecretVersionRequest{Name: name + "/versions/9"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	_, err = c.GetSecretVersion(ctx, &pb.GetSecretVersionRequest{Name: name + "/versions/x"})
	assert.Equal(t, codes.InvalidArgument, status.Code(err))

	// Newest first, paged, and filtered by state.
	var names []string
	it := c.ListSecretVersions(ctx, &pb.ListSecretVersionsRequest{Parent: name, PageSize: 2})
	for v, err := it.Next(); !errorsIsDone(err); v, err = it.Next() {
		require.NoError(t, err)
		names = append(names, v.GetName()[len(name)+len("/versions/"):])
	}
	assert.Equal(t, []string{"4", "3", "2", "1"}, names)
	destroyed, err := c.ListSecretVersions(ctx, &pb.ListSecretVersionsRequest{Parent: name, Filter: "state:DESTROYED"}).Next()
	require.NoError(t, err)
	assert.Equal(t, name+"/versions/2", destroyed.GetName())

	// Deleting the secret takes its versions.
	err = c.DeleteSecret(ctx, &pb.DeleteSecretRequest{Name: name, Etag: `"stale"`})
	assert.Equal(t, codes.FailedPrecondition, status.Code(err), "stale etag")
	require.NoError(t, c.DeleteSecret(ctx, &pb.DeleteSecretRequest{Name: name}))
	_, err = c.AccessSecretVersion(ctx, &pb.AccessSecretVersionRequest{Name: name + "/versions/1"})
	assert.Equal(t, codes.NotFound, status.Code(err))
	assert.Equal(t, codes.NotFound, status.Code(c.DeleteSecret(ctx, &pb.DeleteSecretRequest{Name: name})))
}

func errorsIsDone(err error) bool { return err == iterator.Done }

func TestListFilters(t *testing.T) {
	_, c, ctx := start(t)
	create(t, c, ctx, "lockwell-a", map[string]string{"lockwell-deployment": "d1", "lockwell-secret-id": "a"})
	create(t, c, ctx, "lockwell-b", map[string]string{"lockwell-deployment": "d2", "lockwell-secret-id": "b"})
	create(t, c, ctx, "lockwell-c", map[string]string{"lockwell-deployment": "d1"})
	create(t, c, ctx, "zenml-d", map[string]string{"zenml": "server", "zenml_secret_id": "d"})
	create(t, c, ctx, "other", nil)
	_, err := c.CreateSecret(ctx, &pb.CreateSecretRequest{Parent: "projects/q", SecretId: "lockwell-e", Secret: &pb.Secret{Replication: automatic(), Labels: map[string]string{"lockwell-deployment": "d1"}}})
	require.NoError(t, err)

	cases := []struct {
		filter string
		want   []string
		status codes.Code
	}{
		{"", []string{"lockwell-a", "lockwell-b", "lockwell-c", "other", "zenml-d"}, codes.OK},
		{"labels.lockwell-deployment=d1", []string{"lockwell-a", "lockwell-c"}, codes.OK},
		{`labels.lockwell-deployment="d1" AND labels.lockwell-secret-id:*`, []string{"lockwell-a"}, codes.OK},
		{"labels.lockwell-deployment:d2", []string{"lockwell-b"}, codes.OK},
		{"labels.zenml:*", []string{"zenml-d"}, codes.OK},
		{"name:lockwell-", []string{"lockwell-a", "lockwell-b", "lockwell-c"}, codes.OK},
		{"name:lockwell- labels.lockwell-secret-id:*", []string{"lockwell-a", "lockwell-b"}, codes.OK},
		{"name=projects/p/secrets/other", []string{"other"}, codes.OK},
		{"labels.lockwell-deployment=d1 OR labels.zenml:*", nil, codes.InvalidArgument},
		{"create_time>2020", nil, codes.InvalidArgument},
		{`labels.k="unterminated`, nil, codes.InvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.filter, func(t *testing.T) {
			var got []string
			it := c.ListSecrets(ctx, &pb.ListSecretsRequest{Parent: parent, Filter: tc.filter, PageSize: 2})
			for {
				s, err := it.Next()
				if errorsIsDone(err) {
					break
				}
				if err != nil {
					assert.Equal(t, tc.status, status.Code(err))
					return
				}
				got = append(got, s.GetName()[len(parent)+len("/secrets/"):])
			}
			require.Equal(t, codes.OK, tc.status, "expected an error")
			sort.Strings(got)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUpdateSecretLabels(t *testing.T) {
	_, c, ctx := start(t)
	create(t, c, ctx, "s", map[string]string{"a": "1"})
	sec, err := c.UpdateSecret(ctx, &pb.UpdateSecretRequest{
		Secret:     &pb.Secret{Name: parent + "/secrets/s", Labels: map[string]string{"b": "2"}, Annotations: map[string]string{"Note.x": "free text"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"b": "2"}, sec.GetLabels())
	assert.Empty(t, sec.GetAnnotations(), "annotations are not in the mask")
	_, err = c.UpdateSecret(ctx, &pb.UpdateSecretRequest{Secret: &pb.Secret{Name: parent + "/secrets/s"}})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "no mask")
	_, err = c.UpdateSecret(ctx, &pb.UpdateSecretRequest{
		Secret:     &pb.Secret{Name: parent + "/secrets/s", Labels: map[string]string{"B": "2"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
	})
	assert.Equal(t, codes.InvalidArgument, status.Code(err), "label rules apply to updates")
}

func TestFaultInjection(t *testing.T) {
	srv, c, ctx := start(t)
	srv.FailNext("*", codes.Unavailable, 1)
	_, err := c.ListSecrets(ctx, &pb.ListSecretsRequest{Parent: parent}).Next()
	assert.Equal(t, codes.Unavailable, status.Code(err), "wildcard fault")
	srv.FailNext("GetSecret", codes.ResourceExhausted, 2)
	for _, want := range []codes.Code{codes.ResourceExhausted, codes.ResourceExhausted, codes.NotFound} {
		_, err := c.GetSecret(ctx, &pb.GetSecretRequest{Name: parent + "/secrets/none"})
		assert.Equal(t, want, status.Code(err))
	}
	assert.Equal(t, 3, srv.Calls("GetSecret"))
}
