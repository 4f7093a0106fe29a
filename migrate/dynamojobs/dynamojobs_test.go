package dynamojobs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/dynalite"
	"github.com/lockwell/lockwell/migrate"
	_ "github.com/lockwell/lockwell/migrate/dynamojobs"
	"github.com/lockwell/lockwell/migrate/jobstoretest"
	"github.com/lockwell/lockwell/shared/errcode"
)

func TestJobStoreOnDynalite(t *testing.T) {
	p := dynalite.ForTest(t)
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": p.Endpoint(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "AKIDLOCAL", "AWS_SECRET_ACCESS_KEY": "local", "AWS_CONFIG_FILE": "/nonexistent",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	js, err := migrate.OpenJobStore(context.Background(), "dynamodb://lockwell-migrate-jobs?create_table=true")
	require.NoError(t, err)
	defer js.Close()
	jobstoretest.Exercise(t, js)

	for _, bad := range []string{"dynamodb://?create_table=true", "dynamodb://t/x", "dynamodb://t?colour=red"} {
		_, err := migrate.OpenJobStore(context.Background(), bad)
		require.Equal(t, errcode.InvalidArgument, errcode.Of(err), bad)
	}
}
