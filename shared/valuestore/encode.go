package valuestore

import (
	"encoding/json"

	"github.com/lockwell/lockwell/shared/errcode"
)

// EncodeValues is the one encoding of a secret's values that every value
// store writes: the JSON object of values. It returns too_large, before
// anything is sent, when the encoding is over limit bytes; the message names
// storeName and the limit, never a value. A nil map encodes as JSON null:
// stores that must write an object pass an empty map instead.
func EncodeValues(values map[string]string, limit int, storeName string) ([]byte, error) {
	payload, err := json.Marshal(values)
	if err != nil {
		return nil, errcode.Wrap(errcode.Internal, err, "cannot encode values")
	}
	if len(payload) > limit {
		return nil, errcode.New(errcode.TooLarge, "secret values take %d bytes as JSON; %s accepts at most %d bytes per secret", len(payload), storeName, limit)
	}
	return payload, nil
}
