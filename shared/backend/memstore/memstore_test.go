package memstore_test

import (
	"testing"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
	"github.com/lockwell/lockwell/shared/store/storetest"
)

func TestConformance(t *testing.T) {
	open := func(t *testing.T) backend.Backend { return memstore.New() }
	backendtest.Run(t, open)
	backendtest.RunIndex(t, open)
	backendtest.RunModifier(t, open)
	storetest.Run(t, open)
}
