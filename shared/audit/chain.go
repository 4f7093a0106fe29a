package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/lockwell/lockwell/shared/errcode"
)

// KeyInfo is the HKDF info that separates the chain key from every other
// use of the store key (envelope.KeyDeriver).
const KeyInfo = "lockwell audit chain v1"

// KeySize is the size of a chain key.
const KeySize = 32

// DeriveKey derives the chain key from key material of the deployment (the
// store key) with HKDF-SHA256. Errors: invalid_argument for material
// shorter than 16 bytes.
func DeriveKey(material []byte) ([]byte, error) {
	if len(material) < 16 {
		return nil, errcode.New(errcode.InvalidArgument, "audit key material must be at least 16 bytes")
	}
	k, err := hkdf.Key(sha256.New, material, nil, KeyInfo, KeySize)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "derive the audit key")
	}
	return k, nil
}

// canonical is the encoding the MAC covers: every field but MAC, in a fixed
// order, each length-prefixed, so that no two records encode alike.
func canonical(r *Record) []byte {
	var b []byte
	field := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	field(strconv.FormatInt(r.Seq, 10))
	field(r.Time.UTC().Format(time.RFC3339Nano))
	for _, s := range []string{r.RequestID, r.Principal, r.Role, r.Operation, r.Phase, r.SecretID, r.SecretName} {
		field(s)
	}
	field(strconv.FormatInt(r.Version, 10))
	for _, s := range []string{r.TokenID, r.TokenUser, r.Outcome, r.ClientAddr, r.UserAgent} {
		field(s)
	}
	return b
}

// mac returns the hex MAC of r chained to prev (the previous record's hex
// MAC, "" for the first record of a chain).
func mac(key []byte, prev string, r *Record) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(KeyInfo))
	p, _ := hex.DecodeString(prev) // a malformed stored MAC simply fails to verify
	h.Write(binary.AppendUvarint(nil, uint64(len(p))))
	h.Write(p)
	h.Write(canonical(r))
	return hex.EncodeToString(h.Sum(nil))
}

// validMAC reports whether r.MAC is its MAC chained to prev, in constant time.
func validMAC(key []byte, prev string, r *Record) bool {
	return hmac.Equal([]byte(mac(key, prev, r)), []byte(r.MAC))
}
