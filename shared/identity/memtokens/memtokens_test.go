package memtokens_test

import (
	"testing"

	"github.com/lockwell/lockwell/shared/identity"
	"github.com/lockwell/lockwell/shared/identity/identitytest"
	"github.com/lockwell/lockwell/shared/identity/memtokens"
)

func TestConformance(t *testing.T) {
	identitytest.TestTokenStore(t, func(*testing.T) identity.TokenStore { return memtokens.New() })
}
