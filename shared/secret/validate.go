package secret

import (
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/lockwell/lockwell/shared/errcode"
)

// Limits of one secret.
const (
	MaxNameLength = 255       // characters of a name
	MaxKeyLength  = 255       // characters of a key
	MaxKeys       = 1000      // keys in one secret
	MaxTotalSize  = 64 * 1024 // bytes of all keys plus all values of one secret
)

// ValidateName checks a secret name: 1 to 255 characters from letters, digits
// and "_ . @ + = -". The set covers every legacy ZenML flavor's names.
// Errors are invalid_argument.
func ValidateName(name string) error {
	if name == "" {
		return errcode.New(errcode.InvalidArgument, "secret name must not be empty")
	}
	if len(name) > MaxNameLength {
		return errcode.New(errcode.InvalidArgument, "secret name is %d characters long; the limit is %d", len(name), MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && !isNamePunct(c) {
			return errcode.New(errcode.InvalidArgument,
				"secret name %q has a character that is not allowed at position %d; names use letters, digits and _ . @ + = -", printable(name), i+1)
		}
	}
	return nil
}

// ValidateKey checks a key: 1 to 255 characters from letters, digits and
// "_ . -", starting with a letter or "_". Errors are invalid_argument.
func ValidateKey(key string) error {
	if key == "" {
		return errcode.New(errcode.InvalidArgument, "key must not be empty")
	}
	if len(key) > MaxKeyLength {
		return errcode.New(errcode.InvalidArgument, "key is %d characters long; the limit is %d", len(key), MaxKeyLength)
	}
	if c := key[0]; !isLetter(c) && c != '_' {
		return errcode.New(errcode.InvalidArgument, "key %q must start with a letter or _", printable(key))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return errcode.New(errcode.InvalidArgument,
				"key %q has a character that is not allowed at position %d; keys use letters, digits and _ . -", printable(key), i+1)
		}
	}
	return nil
}

// ValidateValues checks every key, that every value is valid UTF-8, and the
// size limits: at most MaxKeys keys and MaxTotalSize bytes of keys plus
// values (too_large). Messages name keys, never values.
func ValidateValues(values map[string]string) error {
	if len(values) > MaxKeys {
		return errcode.New(errcode.TooLarge, "secret has %d keys; the limit is %d keys", len(values), MaxKeys)
	}
	total := 0
	for _, k := range KeysOf(values) { // sorted, so the first bad key reported is stable
		if err := ValidateKey(k); err != nil {
			return err
		}
		if !utf8.ValidString(values[k]) {
			return errcode.New(errcode.InvalidArgument, "value of key %q is not valid UTF-8", k)
		}
		total += len(k) + len(values[k])
	}
	if total > MaxTotalSize {
		return errcode.New(errcode.TooLarge, "secret keys and values total %d bytes; the limit is %d bytes (64 KiB)", total, MaxTotalSize)
	}
	return nil
}

// ValidateID checks that id is a UUID in its canonical form.
func ValidateID(id string) error {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return errcode.New(errcode.InvalidArgument, "%q is not a secret id (a UUID such as 0190b5a2-7c3e-7d1a-9c1e-2f3a4b5c6d7e)", printable(id))
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool  { return isLetter(c) || c >= '0' && c <= '9' }
func isNamePunct(c byte) bool {
	return c == '_' || c == '.' || c == '@' || c == '+' || c == '=' || c == '-'
}

// printable shortens s for an error message and keeps it valid UTF-8. Names,
// keys and ids are not secret, but a caller may paste anything into them.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return string([]rune(s)) // replaces invalid UTF-8
}
