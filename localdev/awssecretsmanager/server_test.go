package awssecretsmanager_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	localsm "github.com/lockwell/lockwell/localdev/awssecretsmanager"
)

func client(t *testing.T) (*localsm.Server, *secretsmanager.Client) {
	srv, endpoint := localsm.Start(t)
	c := secretsmanager.NewFromConfig(aws.Config{
		Region:      "ap-south-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secretlocal", ""),
	}, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return srv, c
}

var ctx = context.Background()

func TestCreateGetDescribeWithARNsAndStages(t *testing.T) {
	_, c := client(t)
	out, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("zenml/abc"), SecretString: aws.String(`{"a":"b"}`),
		Tags: []types.Tag{{Key: aws.String("zenml"), Value: aws.String("server-1")}},
	})
	require.NoError(t, err)
	arn := aws.ToString(out.ARN)
	assert.Regexp(t, `^arn:aws:secretsmanager:ap-south-1:123456789012:secret:zenml/abc-[A-Za-z0-9]{6}$`, arn)

	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("zenml/abc"), SecretString: aws.String("x")})
	var exists *types.ResourceExistsException
	require.ErrorAs(t, err, &exists)

	for _, id := range []string{"zenml/abc", arn, strings.TrimSuffix(arn, arn[len(arn)-7:])} {
		got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		require.NoError(t, err, id)
		assert.True(t, aws.ToString(got.SecretString) == `{"a":"b"}`, "SecretString of %s differs", id)
		assert.Equal(t, []string{"AWSCURRENT"}, got.VersionStages)
	}

	tok := "11111111-2222-4333-8444-555555555555"
	p1, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v2"), ClientRequestToken: aws.String(tok)})
	require.NoError(t, err)
	assert.Equal(t, tok, aws.ToString(p1.VersionId))
	// Same token, same value: ignored. Same token, other value: refused.
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v2"), ClientRequestToken: aws.String(tok)})
	require.NoError(t, err)
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String("v3"), ClientRequestToken: aws.String(tok)})
	require.ErrorAs(t, err, &exists)

	desc, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{aws.ToString(out.VersionId): {"AWSPREVIOUS"}, tok: {"AWSCURRENT"}}, desc.VersionIdsToStages)
	assert.Equal(t, "server-1", aws.ToString(desc.Tags[0].Value))

	prev, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS")})
	require.NoError(t, err)
	assert.True(t, aws.ToString(prev.SecretString) == `{"a":"b"}`, "SecretString of AWSPREVIOUS differs")

	// Removing AWSPREVIOUS deprecates the first version: listed only with
	// IncludeDeprecated, still readable by id.
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS"), RemoveFromVersionId: out.VersionId})
	require.NoError(t, err)
	vs, err := c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(arn)})
	require.NoError(t, err)
	assert.Len(t, vs.Versions, 1)
	vs, err = c.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(arn), IncludeDeprecated: aws.Bool(true)})
	require.NoError(t, err)
	assert.Len(t, vs.Versions, 2)
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: out.VersionId})
	require.NoError(t, err)

	// AWSCURRENT can only be moved, naming the version that holds it.
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: out.VersionId})
	var invalid *types.InvalidParameterException
	require.ErrorAs(t, err, &invalid)
	_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSCURRENT"), MoveToVersionId: out.VersionId, RemoveFromVersionId: aws.String(tok)})
	require.NoError(t, err)
	desc, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{aws.ToString(out.VersionId): {"AWSCURRENT"}, tok: {"AWSPREVIOUS"}}, desc.VersionIdsToStages)

	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("zenml/none")})
	var nf *types.ResourceNotFoundException
	require.ErrorAs(t, err, &nf)
}

func TestSizeLimitAndValidation(t *testing.T) {
	_, c := client(t)
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("big"), SecretString: aws.String(strings.Repeat("x", localsm.MaxSecretStringBytes))})
	require.NoError(t, err)
	_, err = c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("big"), SecretString: aws.String(strings.Repeat("x", localsm.MaxSecretStringBytes+1))})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ValidationException")
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("bad name!"), SecretString: aws.String("x")})
	require.Error(t, err)
}

func TestDeleteRecoveryWindowRestoreAndForce(t *testing.T) {
	srv, c := client(t)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	srv.Now = func() time.Time { return now }
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v")})
	require.NoError(t, err)

	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), RecoveryWindowInDays: aws.Int64(3)})
	var invalid *types.InvalidParameterException
	require.ErrorAs(t, err, &invalid, "windows are 7-30 days")

	del, err := c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), RecoveryWindowInDays: aws.Int64(7)})
	require.NoError(t, err)
	assert.Equal(t, now.Add(7*24*time.Hour).Unix(), del.DeletionDate.Unix())

	var req *types.InvalidRequestException
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	require.ErrorAs(t, err, &req)
	assert.Contains(t, req.ErrorMessage(), "marked for deletion")
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v")})
	require.ErrorAs(t, err, &req)
	desc, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("s")})
	require.NoError(t, err)
	assert.Equal(t, now.Unix(), desc.DeletedDate.Unix())
	list, err := c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	require.NoError(t, err)
	assert.Empty(t, list.SecretList)
	list, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(true)})
	require.NoError(t, err)
	assert.Len(t, list.SecretList, 1)

	_, err = c.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: aws.String("s")})
	require.NoError(t, err)
	_, err = c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	require.NoError(t, err)

	// The recovery window passing deletes the secret for good.
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("s"), RecoveryWindowInDays: aws.Int64(7)})
	require.NoError(t, err)
	now = now.Add(8 * 24 * time.Hour)
	_, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("s")})
	var nf *types.ResourceNotFoundException
	require.ErrorAs(t, err, &nf)

	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("f"), SecretString: aws.String("v")})
	require.NoError(t, err)
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("f"), ForceDeleteWithoutRecovery: aws.Bool(true)})
	require.NoError(t, err)
	_, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("f")})
	require.ErrorAs(t, err, &nf)
}

func TestListSecretsFiltersAndPaging(t *testing.T) {
	_, c := client(t)
	for i := range 25 {
		dep := "dep-a"
		if i%5 == 0 {
			dep = "dep-b"
		}
		_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(fmt.Sprintf("lockwell/%02d", i)), SecretString: aws.String("v"),
			Tags: []types.Tag{{Key: aws.String("lockwell_deployment"), Value: aws.String(dep)}},
		})
		require.NoError(t, err)
	}
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("other/x"), SecretString: aws.String("v")})
	require.NoError(t, err)

	cases := []struct {
		name    string
		filters []types.Filter
		want    int
	}{
		{"none", nil, 26},
		{"name prefix", []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"lockwell/"}}}, 25},
		{"negated name", []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"!lockwell/"}}}, 1},
		{"tag key and value", []types.Filter{{Key: types.FilterNameStringTypeTagKey, Values: []string{"lockwell_deployment"}}, {Key: types.FilterNameStringTypeTagValue, Values: []string{"dep-b"}}}, 5},
		{"tag value prefix", []types.Filter{{Key: types.FilterNameStringTypeTagValue, Values: []string{"dep-"}}}, 25},
		{"values are ORed", []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{"lockwell/0", "other"}}}, 11},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := secretsmanager.NewListSecretsPaginator(c, &secretsmanager.ListSecretsInput{Filters: tc.filters, MaxResults: aws.Int32(4)})
			seen := map[string]bool{}
			pages := 0
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				require.NoError(t, err)
				pages++
				assert.LessOrEqual(t, len(page.SecretList), 4)
				for _, e := range page.SecretList {
					assert.False(t, seen[aws.ToString(e.Name)], "listed twice: %s", aws.ToString(e.Name))
					seen[aws.ToString(e.Name)] = true
				}
			}
			assert.Len(t, seen, tc.want)
		})
	}
	_, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(101)})
	require.Error(t, err)
}

func TestRequestsMustBeSignedAndFaultsInject(t *testing.T) {
	srv, c := client(t)
	endpoint, stop, err := srv.Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer stop()
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "secretsmanager.ListSecrets")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "MissingAuthenticationTokenException", resp.Header.Get("X-Amzn-ErrorType"))

	before := srv.Calls("ListSecrets")
	_, err = c.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
	require.NoError(t, err)
	assert.Equal(t, before+1, srv.Calls("ListSecrets"))
	var apiErr interface{ ErrorCode() string }
	_, err = c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("")})
	require.True(t, errors.As(err, &apiErr))
}
