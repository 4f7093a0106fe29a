// Package identity names who is calling: a Principal with a role, and the API
// tokens that authenticate one. Where a principal comes from depends on the
// entry point (a bearer token locally, the API Gateway authorizer on AWS, a
// Google ID token on Cloud Functions); everything after authentication sees
// only a Principal.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Role is what a principal may do beyond reading and writing secrets.
type Role string

// The roles. Members create, read, update and delete public secrets and their
// own private ones; admins may also mint tokens. Neither sees another
// principal's private secrets.
const (
	Member Role = "member"
	Admin  Role = "admin"
)

// ParseRole accepts "admin" and "member".
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case Member, Admin:
		return Role(s), nil
	}
	return "", errcode.New(errcode.InvalidArgument, "role must be admin or member, got %q", s)
}

// Principal is an authenticated caller.
type Principal struct {
	Name string `json:"user"`
	Role Role   `json:"role"`
}

// IsAdmin reports whether p may perform admin operations.
func (p Principal) IsAdmin() bool { return p.Role == Admin }

// MaxNameLength bounds a principal name.
const MaxNameLength = 255

// ValidateName checks a principal name: 1 to 255 printable characters
// without spaces (user names, emails and IAM ARNs all fit).
func ValidateName(name string) error {
	if name == "" || len(name) > MaxNameLength {
		return errcode.New(errcode.InvalidArgument, "user must be 1 to %d characters", MaxNameLength)
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f {
			return errcode.New(errcode.InvalidArgument, "user must not contain spaces or control characters")
		}
	}
	return nil
}

type contextKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the principal ctx carries.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(Principal)
	return p, ok
}

// TokenPrefix starts every Lockwell API token, so that secret scanners and
// people can recognise one.
const TokenPrefix = "lw_"

// NewToken returns a new API token (256 random bits) and the hash under which
// it is stored. The token itself is never stored.
func NewToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, errcode.Wrap(errcode.Internal, err, "read random token")
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 of a token: what token stores keep and look
// up. A token carries 256 random bits, so an unsalted fast hash is enough.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return h[:]
}

// EqualHashes compares two token hashes in constant time.
func EqualHashes(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// TokenStore keeps API tokens by hash. Implementations are safe for
// concurrent use.
type TokenStore interface {
	// SaveToken stores the principal that the token with this hash
	// authenticates.
	SaveToken(ctx context.Context, hash []byte, p Principal) error
	// TokenPrincipal returns the principal of the token with this hash.
	// Errors: unauthenticated when there is no such token.
	TokenPrincipal(ctx context.Context, hash []byte) (Principal, error)
}
