// Package secrettest compares secret values in tests without ever showing
// one: a failure names the keys that differ, not their values. It is for
// tests only.
package secrettest

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
)

// DiffKeys says how got differs from want, by key only: "" when they are
// equal (reflect.DeepEqual; a nil map is not an empty one), else the keys
// missing from got, the unexpected ones and those with another value.
func DiffKeys(want, got map[string]string) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	var missing, extra, changed []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case g != w:
			changed = append(changed, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra)+len(changed) == 0 {
		return fmt.Sprintf("want nil: %v, got nil: %v", want == nil, got == nil)
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(changed)
	return fmt.Sprintf("missing keys %q, unexpected keys %q, keys with other values %q", missing, extra, changed)
}

// RequireSameValues fails the test at once unless got equals want (see
// DiffKeys). msgAndArgs, as in testify, says what is compared.
func RequireSameValues(t testing.TB, want, got map[string]string, msgAndArgs ...any) {
	t.Helper()
	if d := DiffKeys(want, got); d != "" {
		t.Fatalf("values of %s differ (contents not shown): %s", describe(msgAndArgs), d)
	}
}

// AssertSameValues is RequireSameValues that lets the test go on; it
// reports whether the values are the same.
func AssertSameValues(t testing.TB, want, got map[string]string, msgAndArgs ...any) bool {
	t.Helper()
	if d := DiffKeys(want, got); d != "" {
		t.Errorf("values of %s differ (contents not shown): %s", describe(msgAndArgs), d)
		return false
	}
	return true
}

func describe(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return "the secret"
	}
	if format, ok := msgAndArgs[0].(string); ok && len(msgAndArgs) > 1 {
		return fmt.Sprintf(format, msgAndArgs[1:]...)
	}
	return fmt.Sprint(msgAndArgs...)
}
