package dashboard

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSecureCookieUnlessPlainHTTPToLoopback(t *testing.T) {
	for _, tc := range []struct {
		host   string
		tls    bool
		proto  string
		secure bool
	}{
		{"127.0.0.1:8080", false, "", false},
		{"localhost:8080", false, "", false},
		{"[::1]:8080", false, "", false},
		{"127.0.0.1:8080", true, "", true},
		{"127.0.0.1:8080", false, "https", true},
		{"lockwell.example.com", false, "", true},
		{"10.0.0.5:8080", false, "", true},
		{"abc.execute-api.eu-west-1.amazonaws.com", false, "https", true},
	} {
		r, err := http.NewRequest(http.MethodPost, "http://"+tc.host+SessionPath, nil)
		require.NoError(t, err)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		require.Equal(t, tc.secure, secureRequest(r), "%s tls=%v proto=%q", tc.host, tc.tls, tc.proto)
	}
}
