package memstore_test

import (
	"testing"

	"github.com/lockwell/lockwell/shared/backend"
	"github.com/lockwell/lockwell/shared/backend/backendtest"
	"github.com/lockwell/lockwell/shared/backend/memstore"
)

func TestConformance(t *testing.T) {
	open := func(t *testing.T) backend.Backend { return memstore.New() }
	backendtest.Run(t, open)
	backendtest.RunIndex(t, open)
}
