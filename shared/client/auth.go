package client

import (
	"context"
	"net/http"
	"strings"

	"golang.org/x/oauth2"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Authenticator adds credentials to a request. body is the request body
// (nil when there is none), for signers that hash it. Authenticate is called
// once per attempt, so signatures and tokens stay fresh across retries.
// Implementations must be safe for concurrent use and must never put a
// credential into an error.
type Authenticator interface {
	Authenticate(ctx context.Context, req *http.Request, body []byte) error
}

// BearerToken authenticates with a Lockwell API token:
// "Authorization: Bearer <token>".
func BearerToken(token string) Authenticator { return bearerToken(token) }

type bearerToken string

func (t bearerToken) Authenticate(_ context.Context, req *http.Request, _ []byte) error {
	if t == "" || strings.ContainsAny(string(t), " \t\r\n") {
		return errcode.New(errcode.Unauthenticated, "the API token is empty or contains whitespace")
	}
	req.Header.Set("Authorization", "Bearer "+string(t))
	return nil
}

// TokenSource authenticates with bearer tokens from ts (its AccessToken),
// fetched for each attempt; ts should cache (oauth2.ReuseTokenSource).
func TokenSource(ts oauth2.TokenSource) Authenticator { return tokenSource{ts} }

type tokenSource struct{ ts oauth2.TokenSource }

func (s tokenSource) Authenticate(_ context.Context, req *http.Request, _ []byte) error {
	tok, err := s.ts.Token()
	if err != nil {
		return errcode.Wrap(errcode.Unauthenticated, err, "cannot get a token from the token source")
	}
	if tok.AccessToken == "" {
		return errcode.New(errcode.Unauthenticated, "the token source returned an empty token")
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}
