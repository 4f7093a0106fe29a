//go:build !nocloud

package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSigV4SignsForExecuteAPI(t *testing.T) {
	var auth, date, token string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		auth, date, token = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("X-Amz-Security-Token")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{}})
	})
	signer := NewSigV4(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "SECRETKEY", "SESSION"), "eu-west-1")
	signer.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	c.auth = signer
	_, err := c.ListSecrets(context.Background(), ListOptions{}, "")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/eu-west-1/execute-api/aws4_request, SignedHeaders="), auth)
	assert.Contains(t, auth, "Signature=")
	assert.NotContains(t, auth, "SECRETKEY")
	assert.Equal(t, "20260102T030405Z", date)
	assert.Equal(t, "SESSION", token)
}
