package identity_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/identity"
)

func TestCheckTokenFormat(t *testing.T) {
	tok, _, err := identity.NewToken()
	require.NoError(t, err)
	assert.NoError(t, identity.CheckTokenFormat(tok))
	assert.NoError(t, identity.CheckTokenFormat(tok+"\n"), "a trailing newline from a file is ignored, as HashToken ignores it")
	for i, bad := range []string{"", "lw_", "password", tok[len(identity.TokenPrefix):], "xx_" + tok[3:], tok[:len(tok)-1], tok + "A", tok[:10] + "+" + tok[11:]} {
		err := identity.CheckTokenFormat(bad)
		require.Error(t, err, "malformed token #%d is refused", i)
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err))
		if len(bad) > 8 {
			assert.NotContains(t, err.Error(), bad, "the message never holds the token")
		}
	}
}
