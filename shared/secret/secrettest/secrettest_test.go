package secrettest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lockwell/lockwell/shared/secret/secrettest"
)

func TestDiffKeysNamesKeysNeverValues(t *testing.T) {
	for _, c := range []struct {
		name      string
		want, got map[string]string
		diff      string
	}{
		{name: "equal", want: map[string]string{"a": "VALUE-1"}, got: map[string]string{"a": "VALUE-1"}},
		{name: "both nil"},
		{name: "nil and empty", want: nil, got: map[string]string{}, diff: "want nil: true, got nil: false"},
		{name: "changed", want: map[string]string{"a": "VALUE-1", "b": "VALUE-2"}, got: map[string]string{"a": "VALUE-1", "b": "VALUE-3"},
			diff: `missing keys [], unexpected keys [], keys with other values ["b"]`},
		{name: "missing and extra", want: map[string]string{"a": "VALUE-1"}, got: map[string]string{"c": "VALUE-1"},
			diff: `missing keys ["a"], unexpected keys ["c"], keys with other values []`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := secrettest.DiffKeys(c.want, c.got)
			assert.Equal(t, c.diff, d)
			assert.False(t, strings.Contains(d, "VALUE-"), "the diff shows a value")
		})
	}
}
