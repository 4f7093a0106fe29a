package azurekeyvault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/azurekeyvault"
)

type anyToken struct{}

func (anyToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "local", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func start(t *testing.T) (*azurekeyvault.Server, *azsecrets.Client, context.Context) {
	t.Helper()
	srv, err := azurekeyvault.Start(azurekeyvault.Config{Tenant: "tenant-1"})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	c, err := azsecrets.NewClient(srv.URL(), anyToken{}, &azsecrets.ClientOptions{
		ClientOptions:                        azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}},
		DisableChallengeResourceVerification: true,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return srv, c, ctx
}

func ptr[T any](v T) *T { return &v }

// errorCodes returns the status, Key Vault error code and inner code of an
// SDK error.
func errorCodes(t *testing.T, err error) (int, string, string) {
	t.Helper()
	var re *azcore.ResponseError
	require.True(t, errors.As(err, &re), "a ResponseError, got %v", err)
	body, _ := io.ReadAll(re.RawResponse.Body)
	var e struct {
		Error struct {
			Code       string `json:"code"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return re.StatusCode, re.ErrorCode, e.Error.InnerError.Code
}

func TestListenRefusesNonLoopback(t *testing.T) {
	_, err := azurekeyvault.Listen("0.0.0.0:0", "127.0.0.1:0", azurekeyvault.Config{})
	assert.Error(t, err)
}

func TestChallenge(t *testing.T) {
	srv, _, _ := start(t)
	resp, err := srv.Client().Get(srv.URL() + "/secrets/x?api-version=7.4")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer authorization="https://login.microsoftonline.com/tenant-1", resource="https://vault.azure.net"`, resp.Header.Get("WWW-Authenticate"))

	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/secrets/x?api-version=7.4", nil)
	req.Header.Set("Authorization", "Bearer anything")
	resp2, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp2.StatusCode, "any token is accepted when not strict")

	// Without DisableChallengeResourceVerification the SDK refuses the local
	// vault, as it would any host outside vault.azure.net.
	strict, err := azsecrets.NewClient(srv.URL(), anyToken{}, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client()}})
	require.NoError(t, err)
	_, err = strict.GetSecret(context.Background(), "x", "", nil)
	assert.ErrorContains(t, err, "DisableChallengeResourceVerification")
}

func TestSecretLifecycle(t *testing.T) {
	srv, c, ctx := start(t)
	set, err := c.SetSecret(ctx, "My-Secret", azsecrets.SetSecretParameters{Value: ptr("v1 ✓"), ContentType: ptr("text/plain"), Tags: map[string]*string{"a": ptr("1")}}, nil)
	require.NoError(t, err)
	v1 := set.ID.Version()
	assert.Regexp(t, `^[0-9a-f]{32}$`, v1)
	assert.Equal(t, srv.URL()+"/secrets/My-Secret/"+v1, string(*set.ID))
	assert.True(t, *set.Value == "v1 ✓", "set returns the value")
	set2, err := c.SetSecret(ctx, "my-secret", azsecrets.SetSecretParameters{Value: ptr("")}, nil)
	require.NoError(t, err, "names are case-insensitive and empty values are allowed")
	v2 := set2.ID.Version()

	latest, err := c.GetSecret(ctx, "MY-SECRET", "", nil)
	require.NoError(t, err)
	assert.Equal(t, v2, latest.ID.Version())
	got, err := c.GetSecret(ctx, "My-Secret", v1, nil)
	require.NoError(t, err)
	assert.True(t, *got.Value == "v1 ✓")
	assert.Equal(t, "text/plain", *got.ContentType)
	assert.Equal(t, "1", *got.Tags["a"])
	assert.Equal(t, "Recoverable+Purgeable", *got.Attributes.RecoveryLevel)

	// Disable v1: reading it is 403 SecretDisabled.
	upd, err := c.UpdateSecretProperties(ctx, "My-Secret", v1, azsecrets.UpdateSecretPropertiesParameters{SecretAttributes: &azsecrets.SecretAttributes{Enabled: ptr(false)}, Tags: map[string]*string{"b": ptr("2")}}, nil)
	require.NoError(t, err)
	assert.False(t, *upd.Attributes.Enabled)
	assert.Nil(t, upd.Value, "update does not return the value")
	_, err = c.GetSecret(ctx, "My-Secret", v1, nil)
	status, code, inner := errorCodes(t, err)
	assert.Equal(t, []any{403, "Forbidden", "SecretDisabled"}, []any{status, code, inner})

	_, err = c.GetSecret(ctx, "My-Secret", "0123456789abcdef0123456789abcdef", nil)
	status, code, _ = errorCodes(t, err)
	assert.Equal(t, []any{404, "SecretNotFound"}, []any{status, code})

	var versions []string
	pager := c.NewListSecretPropertiesVersionsPager("My-Secret", nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		for _, v := range page.Value {
			versions = append(versions, v.ID.Version())
		}
	}
	assert.ElementsMatch(t, []string{v1, v2}, versions)

	// Soft delete, conflict on reuse, recover, delete again, purge.
	del, err := c.DeleteSecret(ctx, "My-Secret", nil)
	require.NoError(t, err)
	assert.Equal(t, srv.URL()+"/deletedsecrets/My-Secret", *del.RecoveryID)
	assert.NotNil(t, del.ScheduledPurgeDate)
	_, err = c.GetSecret(ctx, "My-Secret", "", nil)
	status, _, _ = errorCodes(t, err)
	assert.Equal(t, 404, status)
	_, err = c.SetSecret(ctx, "My-Secret", azsecrets.SetSecretParameters{Value: ptr("x")}, nil)
	status, code, inner = errorCodes(t, err)
	assert.Equal(t, []any{409, "Conflict", "ObjectIsDeletedButRecoverable"}, []any{status, code, inner})
	_, err = c.GetDeletedSecret(ctx, "my-secret", nil)
	require.NoError(t, err)
	deleted := 0
	dp := c.NewListDeletedSecretPropertiesPager(nil)
	for dp.More() {
		page, err := dp.NextPage(ctx)
		require.NoError(t, err)
		deleted += len(page.Value)
	}
	assert.Equal(t, 1, deleted)

	_, err = c.RecoverDeletedSecret(ctx, "My-Secret", nil)
	require.NoError(t, err)
	_, err = c.GetSecret(ctx, "My-Secret", v2, nil)
	require.NoError(t, err, "recovered with its versions")
	_, err = c.DeleteSecret(ctx, "My-Secret", nil)
	require.NoError(t, err)
	_, err = c.PurgeDeletedSecret(ctx, "My-Secret", nil)
	require.NoError(t, err)
	_, err = c.GetDeletedSecret(ctx, "My-Secret", nil)
	status, _, _ = errorCodes(t, err)
	assert.Equal(t, 404, status)
	_, err = c.SetSecret(ctx, "My-Secret", azsecrets.SetSecretParameters{Value: ptr("fresh")}, nil)
	require.NoError(t, err, "a purged name is free")
}

func TestRules(t *testing.T) {
	_, c, ctx := start(t)
	manyTags := map[string]*string{}
	for i := range 16 {
		manyTags[strings.Repeat("t", i+1)] = ptr("v")
	}
	cases := []struct {
		name   string
		secret string
		params azsecrets.SetSecretParameters
		status int
	}{
		{"largest value", "big", azsecrets.SetSecretParameters{Value: ptr(strings.Repeat("x", azurekeyvault.MaxValueBytes))}, 200},
		{"value too large", "big", azsecrets.SetSecretParameters{Value: ptr(strings.Repeat("x", azurekeyvault.MaxValueBytes+1))}, 400},
		{"no value", "x", azsecrets.SetSecretParameters{}, 400},
		{"underscore in name", "a_b", azsecrets.SetSecretParameters{Value: ptr("v")}, 400},
		{"name too long", strings.Repeat("n", 128), azsecrets.SetSecretParameters{Value: ptr("v")}, 400},
		{"16 tags", "x", azsecrets.SetSecretParameters{Value: ptr("v"), Tags: manyTags}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.SetSecret(ctx, tc.secret, tc.params, nil)
			if tc.status == 200 {
				require.NoError(t, err)
				return
			}
			status, code, _ := errorCodes(t, err)
			assert.Equal(t, tc.status, status)
			assert.Equal(t, "BadParameter", code)
		})
	}
}

func TestPagingAndFaults(t *testing.T) {
	srv, c, ctx := start(t)
	for i := range 30 {
		_, err := c.SetSecret(ctx, fmt.Sprintf("s-%03d", i), azsecrets.SetSecretParameters{Value: ptr("v")}, nil)
		require.NoError(t, err)
	}
	pager := c.NewListSecretPropertiesPager(nil)
	var sizes []int
	for pager.More() {
		page, err := pager.NextPage(ctx)
		require.NoError(t, err)
		sizes = append(sizes, len(page.Value))
		for _, p := range page.Value {
			assert.Empty(t, p.ID.Version(), "list items name the secret, not a version")
		}
	}
	assert.Equal(t, []int{25, 5}, sizes)

	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/secrets?api-version=7.4&maxresults=7", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	var page struct {
		Value    []json.RawMessage `json:"value"`
		NextLink string            `json:"nextLink"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	resp.Body.Close()
	assert.Len(t, page.Value, 7)
	assert.Contains(t, page.NextLink, "maxresults=7")

	req, _ = http.NewRequest(http.MethodGet, srv.URL()+"/secrets/s-001", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err = srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "api-version is required")

	srv.FailNext("GetSecret", http.StatusTooManyRequests, 1, 1500*time.Millisecond)
	srv.FailNext("*", http.StatusServiceUnavailable, 1, 0)
	req, _ = http.NewRequest(http.MethodGet, srv.URL()+"/secrets/s-001?api-version=7.4", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err = srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	assert.Equal(t, "1500", resp.Header.Get("retry-after-ms"))
	_, err = c.GetSecret(ctx, "s-001", "", nil)
	status, _, _ := errorCodes(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, status, "wildcard fault")
	_, err = c.GetSecret(ctx, "s-001", "", nil)
	require.NoError(t, err)
	assert.Equal(t, 3, srv.Calls("GetSecret"))
}

func TestSettleDelay(t *testing.T) {
	// The vault's clock moves only when the test moves it, so no step
	// depends on how fast the machine runs.
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	srv, err := azurekeyvault.Start(azurekeyvault.Config{SettleDelay: 200 * time.Millisecond, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}})
	require.NoError(t, err)
	defer srv.Close()
	c, err := azsecrets.NewClient(srv.URL(), anyToken{}, &azsecrets.ClientOptions{
		ClientOptions:                        azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}},
		DisableChallengeResourceVerification: true,
	})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = c.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: ptr("v")}, nil)
	require.NoError(t, err)
	_, err = c.DeleteSecret(ctx, "s", nil)
	require.NoError(t, err)

	_, err = c.GetDeletedSecret(ctx, "s", nil)
	status, _, _ := errorCodes(t, err)
	assert.Equal(t, 404, status, "not yet listed as deleted")
	_, err = c.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: ptr("w")}, nil)
	status, _, inner := errorCodes(t, err)
	assert.Equal(t, []any{409, "ObjectIsBeingDeleted"}, []any{status, inner})
	_, err = c.PurgeDeletedSecret(ctx, "s", nil)
	status, _, _ = errorCodes(t, err)
	assert.Equal(t, 409, status, "purge while being deleted")

	advance(199 * time.Millisecond)
	_, err = c.GetDeletedSecret(ctx, "s", nil)
	status, _, _ = errorCodes(t, err)
	assert.Equal(t, 404, status, "not listed as deleted before the delay has passed")
	advance(time.Millisecond)
	_, err = c.RecoverDeletedSecret(ctx, "s", nil)
	require.NoError(t, err)
	_, err = c.GetSecret(ctx, "s", "", nil)
	status, _, _ = errorCodes(t, err)
	assert.Equal(t, 404, status, "not yet recovered")
	_, err = c.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: ptr("w")}, nil)
	status, _, inner = errorCodes(t, err)
	assert.Equal(t, []any{409, "ObjectIsBeingRecovered"}, []any{status, inner})

	advance(200 * time.Millisecond)
	_, err = c.GetSecret(ctx, "s", "", nil)
	require.NoError(t, err, "recovered")
}
