package identity

import (
	"encoding/base64"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// CheckTokenFormat reports whether token (surrounding white space ignored,
// as HashToken does) has the form NewToken gives: TokenPrefix and 256 bits
// in unpadded base64url. It is for tokens an operator supplies (for example
// the admin token a deployment bootstraps from a Kubernetes Secret), so
// that a guessable token is refused before it is stored. Errors:
// invalid_argument, whose message never holds the token.
func CheckTokenFormat(token string) error {
	body, ok := strings.CutPrefix(strings.TrimSpace(token), TokenPrefix)
	if ok {
		if b, err := base64.RawURLEncoding.Strict().DecodeString(body); err == nil && len(b) == 32 {
			return nil
		}
	}
	return errcode.New(errcode.InvalidArgument, "a token must be %q followed by 32 random bytes in unpadded base64url (43 characters)", TokenPrefix)
}
