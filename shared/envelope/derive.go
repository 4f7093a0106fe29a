package envelope

import (
	"crypto/hkdf"
	"crypto/sha256"

	"github.com/lockwell/lockwell/shared/errcode"
)

// KeyDeriver is implemented by key wrappers whose key is held in the
// process (LocalKey): DeriveKey returns a key for another purpose, named by
// info, derived from the store key with HKDF-SHA256, so that the store key
// itself is never used twice. Wrappers whose key never leaves a service
// (KMS) do not implement it.
type KeyDeriver interface {
	DeriveKey(info string, size int) ([]byte, error)
}

var _ KeyDeriver = (*LocalKey)(nil)

// DeriveKey implements KeyDeriver. Errors: internal for a size HKDF cannot
// give.
func (k *LocalKey) DeriveKey(info string, size int) ([]byte, error) {
	out, err := hkdf.Key(sha256.New, k.key, nil, info, size)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "derive a key from the store key")
	}
	return out, nil
}
