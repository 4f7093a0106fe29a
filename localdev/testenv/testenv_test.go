package testenv_test

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lockwell/lockwell/localdev/testenv"
)

// recorder is a testing.TB that records whether Skip or Fatal ended the
// test, without ending the real one; run it with call.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, format
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, format
	runtime.Goexit()
}

// call runs f in its own goroutine, as the testing package runs a test, so
// that Skipf and Fatalf end only f.
func call(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	for _, c := range []struct {
		ci                    string
		wantSkip, wantFailure bool
	}{
		{ci: "", wantSkip: true},
		{ci: "false", wantSkip: true},
		{ci: "true", wantFailure: true},
	} {
		t.Run("CI="+c.ci, func(t *testing.T) {
			t.Setenv("CI", c.ci)
			r := &recorder{TB: t}
			call(func() { testenv.Missing(r, "the %s emulator", "test") })
			assert.Equal(t, c.wantSkip, r.skipped, "skipped")
			assert.Equal(t, c.wantFailure, r.failed, "failed")
		})
	}
}

func TestPostgresURLReturnsTheVariable(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv(testenv.PostgresURLVar, "postgres://127.0.0.1:5432/db")
	r := &recorder{TB: t}
	var got string
	call(func() { got = testenv.PostgresURL(r) })
	assert.Equal(t, "postgres://127.0.0.1:5432/db", got)
	assert.False(t, r.failed || r.skipped)
}

func TestPostgresURLMissing(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv(testenv.PostgresURLVar, "")
	r := &recorder{TB: t}
	call(func() { testenv.PostgresURL(r) })
	assert.True(t, r.skipped)
}

func TestMySQLURL(t *testing.T) {
	t.Run("returns the variable", func(t *testing.T) {
		t.Setenv("CI", "true")
		t.Setenv(testenv.MySQLURLVar, "mysql://127.0.0.1:3306/db?tls=false")
		r := &recorder{TB: t}
		var got string
		call(func() { got = testenv.MySQLURL(r) })
		assert.Equal(t, "mysql://127.0.0.1:3306/db?tls=false", got)
		assert.False(t, r.failed || r.skipped)
	})
	t.Run("missing skips outside CI", func(t *testing.T) {
		t.Setenv("CI", "")
		t.Setenv(testenv.MySQLURLVar, "")
		r := &recorder{TB: t}
		call(func() { testenv.MySQLURL(r) })
		assert.True(t, r.skipped)
	})
	t.Run("missing fails in CI", func(t *testing.T) {
		t.Setenv("CI", "true")
		t.Setenv(testenv.MySQLURLVar, "")
		r := &recorder{TB: t}
		call(func() { testenv.MySQLURL(r) })
		assert.True(t, r.failed)
	})
}
