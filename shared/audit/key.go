package audit

import (
	"bytes"
	"context"
	"crypto/rand"

	"github.com/lockwell/lockwell/shared/envelope"
	"github.com/lockwell/lockwell/shared/errcode"
)

// A deployment whose store key never leaves a service (KMS) has no local
// material to derive the chain key from (DeriveKey). Such a deployment keeps
// a random chain key instead, made once by the first process that opens the
// log, wrapped by the store key (envelope.KeyWrapper: KMS GenerateDataKey)
// and kept wrapped in the deployment's own backend (KeyStorage). Every
// process unwraps it once when it starts (one KMS Decrypt) and holds it in
// memory from then on. Whoever can write the backend but not use the KMS
// key can neither read the chain key nor forge a chain.

// KeyStorage keeps the deployment's wrapped chain key, for storages that
// can (package sqlstore: the audit_key table; package dynamostore: the item
// a#key; Memory). It never sees the key unwrapped. Methods are safe for
// concurrent use, also by several processes sharing the storage.
type KeyStorage interface {
	// WrappedAuditKey returns the wrapped chain key stored, nil when none
	// is stored yet. Errors: unavailable, internal.
	WrappedAuditKey(ctx context.Context) ([]byte, error)
	// PutWrappedAuditKey stores wrapped unless a wrapped chain key is
	// stored already, and returns the one stored: wrapped, or the one
	// another writer stored first. Of two writers racing, both get the
	// same answer. Errors: unavailable, internal.
	PutWrappedAuditKey(ctx context.Context, wrapped []byte) ([]byte, error)
}

// KeyAAD is the additional authenticated data the chain key is wrapped
// with: with KMS, the encryption context {"lockwell-aad": KeyAAD}, which
// no secret version's data key shares (theirs is envelope.AAD), so an IAM
// policy can grant the chain key's Decrypt alone.
const KeyAAD = "lockwell:audit-key:v1"

// LoadKey returns the chain key that ks keeps wrapped by w. When none is
// stored yet it makes one (32 random bytes; with a w that generates data
// keys, such as KMS, one GenerateDataKey call), wraps it with w and stores
// it, unless another process stored one meanwhile: then that one is
// unwrapped and returned, so every process of a deployment ends with the
// same key. created reports whether this call stored the key. The key is
// never logged nor part of an error. Errors: unavailable (the storage or
// the key service), internal (a stored key that does not unwrap: another
// store key, or altered).
func LoadKey(ctx context.Context, ks KeyStorage, w envelope.KeyWrapper) (key []byte, created bool, err error) {
	wrapped, err := ks.WrappedAuditKey(ctx)
	if err != nil {
		return nil, false, err
	}
	if wrapped == nil {
		var fresh []byte
		if fresh, wrapped, err = newWrappedKey(ctx, w); err != nil {
			return nil, false, err
		}
		stored, err := ks.PutWrappedAuditKey(ctx, wrapped)
		if err != nil {
			clear(fresh)
			return nil, false, err
		}
		if bytes.Equal(stored, wrapped) {
			return fresh, true, nil
		}
		clear(fresh) // another process was first: use its key
		wrapped = stored
	}
	key, err = w.UnwrapKey(ctx, wrapped, []byte(KeyAAD))
	if err != nil {
		if errcode.Of(err) == errcode.Unavailable {
			return nil, false, err
		}
		return nil, false, errcode.Wrap(errcode.Internal, err, "unwrap the stored audit chain key: it was wrapped by another store key, or altered")
	}
	if len(key) != KeySize {
		clear(key)
		return nil, false, errcode.New(errcode.Internal, "the stored audit chain key unwraps to %d bytes, want %d", len(key), KeySize)
	}
	return key, false, nil
}

// newWrappedKey makes a chain key and its wrapped form.
func newWrappedKey(ctx context.Context, w envelope.KeyWrapper) (plain, wrapped []byte, err error) {
	if g, ok := w.(envelope.DataKeyGenerator); ok {
		plain, wrapped, err = g.GenerateDataKey(ctx, []byte(KeyAAD))
	} else {
		plain = make([]byte, KeySize)
		if _, err = rand.Read(plain); err == nil {
			wrapped, err = w.WrapKey(ctx, plain, []byte(KeyAAD))
		}
	}
	switch {
	case err != nil && errcode.Of(err) == errcode.Unavailable:
		return nil, nil, err
	case err != nil:
		return nil, nil, errcode.Wrap(errcode.Internal, err, "make the audit chain key")
	case len(plain) != KeySize:
		clear(plain)
		return nil, nil, errcode.New(errcode.Internal, "the key service made a %d-byte audit chain key, want %d", len(plain), KeySize)
	}
	return plain, wrapped, nil
}
