package envelope

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/lockwell/lockwell/shared/errcode"
)

// KeySize is the size of a store key: 256 bits.
const KeySize = 32

// LocalKey wraps data keys with AES-256-GCM under a store key held in memory.
// It is the key-encryption key of the embedded store and of development
// setups; production AWS deployments use KMS instead.
type LocalKey struct {
	aead cipher.AEAD
	key  []byte // for DeriveKey (derive.go)
}

// NewLocalKey returns a LocalKey for a 32-byte store key.
func NewLocalKey(key []byte) (*LocalKey, error) {
	if len(key) != KeySize {
		return nil, errcode.New(errcode.InvalidArgument, "store key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "store key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "store key")
	}
	return &LocalKey{aead: aead, key: bytes.Clone(key)}, nil
}

// WrapKey implements KeyWrapper: nonce followed by the sealed data key.
func (k *LocalKey) WrapKey(_ context.Context, dataKey, aad []byte) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "read random nonce")
	}
	return k.aead.Seal(nonce, nonce, dataKey, aad), nil
}

// UnwrapKey implements KeyWrapper.
func (k *LocalKey) UnwrapKey(_ context.Context, wrapped, aad []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	if len(wrapped) < ns {
		return nil, errcode.New(errcode.Internal, "wrapped data key is truncated")
	}
	key, err := k.aead.Open(nil, wrapped[:ns], wrapped[ns:], aad)
	if err != nil {
		return nil, errcode.New(errcode.Internal, "data key does not unwrap: wrong store key, or altered data")
	}
	return key, nil
}

// LoadOrCreateKeyFile reads a store key from path: 32 bytes, base64 encoded,
// in a file only its owner may read. If the file does not exist it creates a
// new random key there with mode 0600 (and the directory with 0700) and
// reports created. A key file that others can read is refused.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, false, errcode.Wrap(errcode.Internal, err, "read random key")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, errcode.Wrap(errcode.Internal, err, "create key directory")
		}
		// Write the key to a private temporary file first and link it into
		// place: the key file then appears complete or not at all, even if
		// the process dies mid-write or another process starts at once.
		f, err := os.CreateTemp(filepath.Dir(path), ".store-key-*")
		if err != nil {
			return nil, false, errcode.Wrap(errcode.Internal, err, "create key file")
		}
		tmp := f.Name()
		defer os.Remove(tmp)
		werr := f.Chmod(0o600)
		if werr == nil {
			_, werr = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		}
		if serr := f.Sync(); werr == nil {
			werr = serr
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, errcode.Wrap(errcode.Internal, werr, "write key file")
		}
		if err := os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) { // another process won the race: use its key
				return LoadOrCreateKeyFile(path)
			}
			return nil, false, errcode.Wrap(errcode.Internal, err, "create key file")
		}
		if d, err := os.Open(filepath.Dir(path)); err == nil { // make the new name durable
			_ = d.Sync()
			d.Close()
		}
		return key, true, nil
	}
	if err != nil {
		return nil, false, errcode.Wrap(errcode.Internal, err, "read key file")
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		return nil, false, errcode.New(errcode.PermissionDenied, "key file %s is readable by others (mode %v); chmod 600 it", path, info.Mode().Perm())
	}
	key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != KeySize {
		return nil, false, errcode.New(errcode.InvalidArgument, "key file %s must hold %d bytes in base64", path, KeySize)
	}
	return key, false, nil
}

// ParseKey decodes a base64 store key, for keys given in the environment.
func ParseKey(encoded string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("store key must be %d bytes in base64", KeySize)
	}
	return key, nil
}
