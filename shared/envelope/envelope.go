// Package envelope encrypts secret values at rest with envelope encryption:
// every secret version gets a fresh 256-bit data key, the values are sealed
// with AES-256-GCM under it, and the data key is wrapped by a key-encryption
// key (a local store key, or a KMS key). The additional authenticated data
// binds each ciphertext to its secret id and version, so a ciphertext copied
// onto another secret or version fails to open.
package envelope

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/lockwell/lockwell/shared/errcode"
)

// KeyWrapper wraps and unwraps data keys with a key-encryption key. The aad
// must be given again, unchanged, to unwrap. Implementations are safe for
// concurrent use and never log key material.
type KeyWrapper interface {
	WrapKey(ctx context.Context, dataKey, aad []byte) ([]byte, error)
	UnwrapKey(ctx context.Context, wrapped, aad []byte) ([]byte, error)
}

// DataKeyGenerator is implemented by wrappers that can produce a data key and
// its wrapped form in one call (KMS GenerateDataKey). Sealer uses it when
// present, so a seal costs one call to the key service instead of two.
type DataKeyGenerator interface {
	GenerateDataKey(ctx context.Context, aad []byte) (plain, wrapped []byte, err error)
}

// Sealer seals and opens secret values. The zero value is not usable; use
// NewSealer.
type Sealer struct {
	wrapper KeyWrapper
}

// NewSealer returns a Sealer whose data keys are wrapped by w.
func NewSealer(w KeyWrapper) *Sealer { return &Sealer{wrapper: w} }

const (
	formatV1  = 1
	dataKeyLn = 32
)

// AAD returns the additional authenticated data for a secret version.
func AAD(secretID string, version int64) []byte {
	return []byte("lockwell:v1:" + secretID + ":" + strconv.FormatInt(version, 10))
}

// Seal encrypts values for the secret version and returns a self-contained
// blob: format byte, wrapped data key length and bytes, then the GCM nonce
// and ciphertext.
func (s *Sealer) Seal(ctx context.Context, values map[string]string, secretID string, version int64) ([]byte, error) {
	plain, err := json.Marshal(values)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "encode values")
	}
	aad := AAD(secretID, version)
	var dataKey, wrapped []byte
	if g, ok := s.wrapper.(DataKeyGenerator); ok {
		dataKey, wrapped, err = g.GenerateDataKey(ctx, aad)
	} else {
		dataKey = make([]byte, dataKeyLn)
		if _, err = rand.Read(dataKey); err == nil {
			wrapped, err = s.wrapper.WrapKey(ctx, dataKey, aad)
		}
	}
	if err != nil {
		return nil, classify(err, "wrap data key")
	}
	defer clear(dataKey)
	gcm, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	if len(wrapped) > 0xFFFF {
		return nil, errcode.New(errcode.Internal, "wrapped data key is %d bytes; at most 65535 fit", len(wrapped))
	}
	out := make([]byte, 0, 3+len(wrapped)+gcm.NonceSize()+len(plain)+gcm.Overhead())
	out = append(out, formatV1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(wrapped)))
	out = append(out, wrapped...)
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "read random nonce")
	}
	out = append(out, nonce...)
	out = gcm.Seal(out, nonce, plain, aad)
	clear(plain)
	return out, nil
}

// Open decrypts a blob made by Seal for the same secret id and version.
// A blob that was altered, or belongs to another secret or version, is an
// internal error that says so without revealing anything about the contents.
func (s *Sealer) Open(ctx context.Context, blob []byte, secretID string, version int64) (map[string]string, error) {
	if len(blob) < 3 || blob[0] != formatV1 {
		return nil, errcode.New(errcode.Internal, "stored values of secret %s have an unknown format", secretID)
	}
	n := int(binary.BigEndian.Uint16(blob[1:3]))
	if len(blob) < 3+n {
		return nil, errcode.New(errcode.Internal, "stored values of secret %s are truncated", secretID)
	}
	wrapped, rest := blob[3:3+n], blob[3+n:]
	aad := AAD(secretID, version)
	dataKey, err := s.wrapper.UnwrapKey(ctx, wrapped, aad)
	if err != nil {
		return nil, classify(err, fmt.Sprintf("unwrap data key of secret %s version %d", secretID, version))
	}
	defer clear(dataKey)
	gcm, err := newGCM(dataKey)
	if err != nil {
		return nil, err
	}
	if len(rest) < gcm.NonceSize() {
		return nil, errcode.New(errcode.Internal, "stored values of secret %s are truncated", secretID)
	}
	plain, err := gcm.Open(nil, rest[:gcm.NonceSize()], rest[gcm.NonceSize():], aad)
	if err != nil {
		return nil, errcode.New(errcode.Internal, "stored values of secret %s version %d failed authentication: altered, or encrypted under another key", secretID, version)
	}
	defer clear(plain)
	var values map[string]string
	if err := json.Unmarshal(plain, &values); err != nil {
		return nil, errcode.New(errcode.Internal, "stored values of secret %s do not decode", secretID)
	}
	return values, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "bad data key")
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "bad data key")
	}
	return gcm, nil
}

// classify keeps a wrapper's own classification and calls anything else
// internal.
func classify(err error, what string) error {
	if errcode.Of(err) != errcode.Internal {
		return err
	}
	return errcode.Wrap(errcode.Internal, err, "%s", what)
}
