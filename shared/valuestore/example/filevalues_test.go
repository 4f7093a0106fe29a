package example_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/errcode"
	"github.com/lockwell/lockwell/shared/valuestore"
	"github.com/lockwell/lockwell/shared/valuestore/example"
	"github.com/lockwell/lockwell/shared/valuestore/valuestoretest"
)

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	openFor := func(t *testing.T, deployment string) valuestore.Store {
		s, err := valuestore.Open(context.Background(), "filevalues://"+filepath.ToSlash(dir)+"?prefix=lockwell", valuestore.Options{Deployment: deployment})
		require.NoError(t, err)
		return s
	}
	valuestoretest.Run(t,
		func(t *testing.T) valuestore.Store { return openFor(t, valuestoretest.Deployment) },
		valuestoretest.WithOtherDeployment(openFor),
		valuestoretest.WithForeignEntries(func(t *testing.T, id string, kind valuestoretest.ForeignKind) func() bool {
			// Planted the way another tool would: plain files, no store code.
			entry := filepath.Join(dir, "lockwell", id)
			require.NoError(t, os.MkdirAll(entry, 0o700))
			var metaJSON string
			switch kind {
			case valuestoretest.OtherDeployment:
				metaJSON = `{"deployment":"someone-else","secret_id":"` + id + `"}`
			case valuestoretest.OtherSecretID:
				metaJSON = `{"deployment":"` + valuestoretest.Deployment + `","secret_id":"00000000-0000-4000-8000-000000000000"}`
			}
			if metaJSON != "" {
				require.NoError(t, os.WriteFile(filepath.Join(entry, "meta.json"), []byte(metaJSON), 0o600))
			}
			content := []byte(`{"foreign":"value"}`)
			require.NoError(t, os.WriteFile(filepath.Join(entry, "v1.json"), content, 0o600))
			return func() bool {
				got, err := os.ReadFile(filepath.Join(entry, "v1.json"))
				files, _ := os.ReadDir(entry)
				want := 1
				if metaJSON != "" {
					want = 2
				}
				return err == nil && bytes.Equal(got, content) && len(files) == want
			}
		}),
	)
}

func TestOpenRejectsBadURLs(t *testing.T) {
	cases := []struct{ name, url string }{
		{"unknown parameter", "filevalues:///tmp/x?prefix=a&colour=blue"},
		{"relative path", "filevalues://relative/dir"},
		{"bad prefix", "filevalues:///tmp/x?prefix=../up"},
		{"credentials", "filevalues://user:pw@/tmp/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := valuestore.Open(context.Background(), tc.url, valuestore.Options{Deployment: "d"})
			require.Error(t, err)
			assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "%v", err)
			assert.NotContains(t, err.Error(), "pw")
		})
	}
	_, err := valuestore.Open(context.Background(), "filevalues://"+filepath.ToSlash(t.TempDir()), valuestore.Options{})
	assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "a deployment id is required")
	assert.Contains(t, valuestore.Schemes(), example.Scheme)
}

func TestPutRejectsIDsThatAreNotUUIDs(t *testing.T) {
	s, err := example.New(t.TempDir(), "lockwell", "d")
	require.NoError(t, err)
	for _, id := range []string{"../escape", "", "ABCDEF00-0000-4000-8000-000000000000", "x"} {
		_, err := s.Put(context.Background(), id, map[string]string{"a": "b"})
		assert.Equal(t, errcode.InvalidArgument, errcode.Of(err), "id %q", id)
	}
}
