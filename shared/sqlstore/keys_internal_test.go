package sqlstore

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeKeys(t *testing.T) {
	for _, keys := range [][]string{
		{}, {"a"}, {"password", "user"}, {"_x", "a.b", "c-d", "K9"},
		{"with,comma", "x"}, {`quote"d`}, {"back\\slash"}, {"sp ace", "a, b"}, {"ключ"},
	} {
		enc, err := encodeKeys(keys)
		require.NoError(t, err)
		got, err := decodeKeys(enc)
		require.NoError(t, err)
		assert.Equal(t, keys, got, "encoded as %s", enc)
	}
	for enc, want := range map[string][]string{
		`["a", "b"]`: {"a", "b"}, // jsonb's rendering
		`[]`:         {},
	} {
		got, err := decodeKeys(enc)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := decodeKeys(`["a",`)
	var syn *json.SyntaxError
	assert.ErrorAs(t, err, &syn)
}
