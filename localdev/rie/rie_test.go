package rie_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/localdev/rie"
	"github.com/lockwell/lockwell/localdev/testenv"
)

// emulator finds the emulator, installing it in CI; outside CI a missing
// emulator skips the test.
func emulator(t *testing.T) string {
	t.Helper()
	p, err := rie.Find("bin")
	if err == nil {
		return p
	}
	if !testenv.InCI() {
		testenv.Missing(t, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err = rie.Install(ctx, "bin")
	require.NoError(t, err)
	return p
}

func TestInvokeUnderTheEmulator(t *testing.T) {
	path := emulator(t)
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "./testdata/echo")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	ctx := context.Background()
	e, err := rie.Start(ctx, rie.Config{RIE: path, Bootstrap: bootstrap, Name: "echo"})
	require.NoError(t, err)
	defer e.Close()

	got, err := e.Invoke(ctx, []byte(`{"hello":"world"}`))
	require.NoError(t, err, "logs:\n%s", e.Logs())
	assert.JSONEq(t, `{"hello":"world"}`, string(got))

	pid, err := e.BootstrapPID()
	require.NoError(t, err)
	rss, err := rie.RSS(pid)
	require.NoError(t, err)
	assert.Greater(t, rss, int64(0))
}
