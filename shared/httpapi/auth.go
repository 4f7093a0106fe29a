package httpapi

import (
	"net/http"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

// Authenticator finds the principal a request comes from. Errors:
// unauthenticated when the request carries no valid credentials;
// unavailable or internal when the credentials could not be checked.
// Implementations are safe for concurrent use and never put a credential
// into an error.
type Authenticator interface {
	Authenticate(r *http.Request) (identity.Principal, error)
}

// challenger is implemented by authenticators whose 401 responses carry a
// WWW-Authenticate header.
type challenger interface {
	Challenge() string
}

// ContextAuthenticator takes the principal from the request's context
// (identity.FromContext), where an entry point that has already verified the
// caller put it: the Lambda adapter from the API Gateway authorizer, the
// Cloud Functions entry point from a verified ID token.
type ContextAuthenticator struct{}

// Authenticate implements Authenticator. Errors: unauthenticated when the
// context carries no principal.
func (ContextAuthenticator) Authenticate(r *http.Request) (identity.Principal, error) {
	if p, ok := identity.FromContext(r.Context()); ok && p.Name != "" {
		return p, nil
	}
	return identity.Principal{}, errcode.New(errcode.Unauthenticated, "the request carries no authenticated identity")
}

// maxTokenLength bounds a bearer token; Lockwell's tokens are 46 characters.
const maxTokenLength = 512

// BearerAuthenticator authenticates "Authorization: Bearer <token>" by
// looking the token's hash up in Tokens. Its 401 responses carry
// "WWW-Authenticate: Bearer".
type BearerAuthenticator struct {
	Tokens identity.TokenStore
}

// Authenticate implements Authenticator. Errors: unauthenticated when the
// header is missing or malformed or the token is unknown; the token store's
// unavailable or internal when it cannot answer.
func (b BearerAuthenticator) Authenticate(r *http.Request) (identity.Principal, error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "missing Authorization header; send Authorization: Bearer <token>")
	}
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "Authorization header must be Bearer <token>")
	}
	if len(token) > maxTokenLength || b.Tokens == nil {
		return identity.Principal{}, errInvalidToken
	}
	p, err := b.Tokens.TokenPrincipal(r.Context(), identity.HashToken(token))
	if errcode.Is(err, errcode.Unauthenticated) {
		return identity.Principal{}, errInvalidToken
	}
	if err != nil {
		return identity.Principal{}, err
	}
	return p, nil
}

var errInvalidToken = errcode.New(errcode.Unauthenticated, "the bearer token is not valid")

// Challenge implements challenger.
func (BearerAuthenticator) Challenge() string { return "Bearer" }
