package gcp_test

import (
	"context"
	"encoding/json"
	"testing"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lockwell/lockwell/functions/gcp"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/store"
)

func TestChangeEventsArePublishedToPubSubInCommitOrder(t *testing.T) {
	srv := pstest.NewServerWithAddress("127.0.0.1:0")
	defer srv.Close()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "proj", option.WithGRPCConn(conn))
	require.NoError(t, err)
	defer c.Close()
	const topic = "projects/proj/topics/lockwell-events"
	_, err = c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic})
	require.NoError(t, err)
	pub := gcp.NewPubSubEvents(c, topic, nil)
	defer pub.Stop()

	st := store.New(memstore.New(), store.WithEvents(pub))
	alice := identity.Principal{Name: "alice", Role: identity.Member}
	s, err := st.Create(ctx, alice, store.CreateRequest{Name: "db", Values: map[string]string{"password": "hunter2"}})
	require.NoError(t, err)
	v := "s3cret"
	_, err = st.Update(ctx, alice, s.ID, store.UpdateRequest{Values: map[string]*string{"password": &v}})
	require.NoError(t, err)
	_, err = st.Delete(ctx, alice, s.ID, store.DeleteRequest{})
	require.NoError(t, err)

	msgs := srv.Messages()
	require.Len(t, msgs, 3)
	for i, want := range []string{"created", "updated", "deleted"} {
		m := msgs[i]
		var e struct {
			Type, ID, Principal string
			Version             int64
		}
		require.NoError(t, json.Unmarshal(m.Data, &e))
		assert.Equal(t, want, e.Type)
		assert.Equal(t, want, m.Attributes["type"])
		assert.Equal(t, s.ID, m.Attributes["secret_id"])
		assert.Equal(t, s.ID, m.OrderingKey)
		assert.Equal(t, "alice", e.Principal)
		assert.NotContains(t, string(m.Data), "hunter2")
		assert.NotContains(t, string(m.Data), "s3cret")
	}
}
