package valuestoretest

import (
	"strings"
	"testing"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/secret"
	"github.com/lockwell/lockwell/shared/valuestore"
)

// RunIndexed runs the backend conformance suite (package backendtest),
// racing writers included, against a fresh in-memory index paired with each
// store open returns (valuestore.Indexed): what the store and the handlers
// see when they use this store. The suite's largest-secret case is skipped
// when the store's Limit is below the JSON encoding of a secret at the size
// limit (at least secret.MaxTotalSize bytes of keys and values plus the 7 of
// `{"":""}`): the store refuses it with too_large, which Run's TooLarge case
// checks.
func RunIndexed(t *testing.T, open func(t *testing.T) valuestore.Store) {
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		values := open(t)
		if strings.HasSuffix(t.Name(), "/LargestSecretRoundTrips") && values.Limit() < secret.MaxTotalSize+len(`{"":""}`) {
			_ = values.Close()
			t.Skipf("%s holds at most %d bytes per secret", values.Name(), values.Limit())
		}
		b := valuestore.Indexed(memstore.New(), values)
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
