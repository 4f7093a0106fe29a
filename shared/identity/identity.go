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
	"encoding/hex"
	"strings"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Role is what a principal may do beyond reading and writing secrets.
type Role string

// The roles. Members create, read, update and delete public secrets and their
// own private ones, and may revoke the token they hold; admins may also
// mint, list and revoke any token. Neither sees another
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

// TokenIDPrefix starts every token id.
const TokenIDPrefix = "tok_"

// tokenIDHexLen is how many hex digits of the hash a token id keeps: 64
// bits, enough to tell tokens apart, far too few to help find a token.
const tokenIDHexLen = 16

// TokenID returns the id of the token with this hash: "tok_" and the first 16
// hex digits of the hash. The id is not secret: it names a token in lists and
// revocations, and since it is part of a SHA-256 output, knowing it does not
// help to guess or forge the token.
func TokenID(hash []byte) string {
	h := hex.EncodeToString(hash)
	if len(h) > tokenIDHexLen {
		h = h[:tokenIDHexLen]
	}
	return TokenIDPrefix + h
}

// TokenIDOf returns the id of a token, for a caller who presents the token
// itself (for example to log out).
func TokenIDOf(token string) string { return TokenID(HashToken(token)) }

// ValidateTokenID checks that id has the form TokenID returns. Errors:
// invalid_argument.
func ValidateTokenID(id string) error {
	h, ok := strings.CutPrefix(id, TokenIDPrefix)
	if !ok || len(h) != tokenIDHexLen || strings.ToLower(h) != h {
		return errcode.New(errcode.InvalidArgument, "token id must be %s followed by %d lowercase hex digits", TokenIDPrefix, tokenIDHexLen)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return errcode.New(errcode.InvalidArgument, "token id must be %s followed by %d lowercase hex digits", TokenIDPrefix, tokenIDHexLen)
	}
	return nil
}

// TokenInfo describes a stored token without the token or its hash.
type TokenInfo struct {
	ID        string    // TokenID of the hash
	Principal Principal // whom the token authenticates
	Created   time.Time // when it was saved, UTC
}

// TokenStore keeps API tokens by hash. Implementations are safe for
// concurrent use. They never return a token or a full hash.
type TokenStore interface {
	// SaveToken stores the principal that the token with this hash
	// authenticates.
	SaveToken(ctx context.Context, hash []byte, p Principal) error
	// TokenPrincipal returns the principal of the token with this hash.
	// Errors: unauthenticated when there is no such token (never saved, or
	// revoked).
	TokenPrincipal(ctx context.Context, hash []byte) (Principal, error)
	// ListTokens returns every stored token, oldest first (ties by id).
	// Errors: unavailable, internal.
	ListTokens(ctx context.Context) ([]TokenInfo, error)
	// RevokeToken deletes the token with this id, so that TokenPrincipal no
	// longer accepts it. Of two concurrent revocations of one token, one
	// succeeds and the other returns not_found. Errors: invalid_argument for
	// a malformed id; not_found when no token has this id (never saved, or
	// already revoked); unavailable, internal. Callers that cache principals
	// (httpapi.TokenCache) must drop the token themselves.
	RevokeToken(ctx context.Context, id string) error
}
