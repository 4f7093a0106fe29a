package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lockwell/lockwell/shared/identity"
)

// entry is one file of the image's filesystem.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// built is an image built once for the tests of this file.
type built struct {
	path   string
	digest v1.Hash
	img    v1.Image
	files  map[string]entry
}

var testCreated = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func build(t *testing.T) built {
	t.Helper()
	out := filepath.Join(t.TempDir(), "lockwell-image.tar")
	digest, err := Build(context.Background(), Options{
		ModuleDir: "../..", Out: out, Version: "v1.2.3-test", Revision: "0123456789abcdef0123456789abcdef01234567",
		Source: "https://example.com/lockwell", Arch: defaultArch(), Created: testCreated,
	})
	require.NoError(t, err)
	img, err := tarball.ImageFromPath(out, nil)
	require.NoError(t, err)
	files := map[string]entry{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		files[strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")] = entry{hdr: h, data: data}
	}
	return built{path: out, digest: digest, img: img, files: files}
}

func TestImageIsReproducibleNonRootAndShellFree(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lockwell twice")
	}
	first, second := build(t), build(t)
	assert.Equal(t, first.digest, second.digest, "two builds have one digest")
	assert.Equal(t, sha256File(t, first.path), sha256File(t, second.path), "two builds write byte-identical tarballs")
	d, err := first.img.Digest()
	require.NoError(t, err)
	assert.Equal(t, first.digest, d, "the tarball holds the image whose digest Build returned")

	cf, err := first.img.ConfigFile()
	require.NoError(t, err)
	c := cf.Config
	assert.Equal(t, "65532:65532", c.User)
	assert.Equal(t, []string{"/lockwell", "serve"}, c.Entrypoint)
	assert.Empty(t, c.Cmd)
	assert.Nil(t, c.Healthcheck, "no HEALTHCHECK: Kubernetes probes /healthz and /readyz")
	assert.Equal(t, map[string]struct{}{"8080/tcp": {}}, c.ExposedPorts)
	assert.Contains(t, c.Env, "LOCKWELL_ADDR=0.0.0.0:8080")
	assert.Contains(t, c.Env, "LOCKWELL_DATA_DIR=/var/lib/lockwell")
	assert.Equal(t, map[string]string{
		"org.opencontainers.image.title":       "lockwell",
		"org.opencontainers.image.description": "Lockwell secrets store server (lockwell serve)",
		"org.opencontainers.image.version":     "v1.2.3-test",
		"org.opencontainers.image.revision":    "0123456789abcdef0123456789abcdef01234567",
		"org.opencontainers.image.source":      "https://example.com/lockwell",
		"org.opencontainers.image.created":     "2026-01-02T03:04:05Z",
	}, c.Labels)
	assert.Equal(t, "linux", cf.OS)
	assert.Equal(t, defaultArch(), cf.Architecture)
	assert.Equal(t, testCreated, cf.Created.Time.UTC())
	layers, err := first.img.Layers()
	require.NoError(t, err)
	assert.Len(t, layers, 1)

	files := first.files
	for name, e := range files {
		assert.Equal(t, testCreated, e.hdr.ModTime.UTC(), "%s is dated the build's fixed time", name)
		assert.False(t, strings.HasPrefix(name, "bin") || strings.HasPrefix(name, "sbin") || strings.HasPrefix(name, "usr"), "no system binaries: %s", name)
		assert.Zero(t, e.hdr.Mode&0o6000, "no setuid or setgid file: %s", name)
	}
	assert.NotContains(t, files, "bin/sh", "no shell")

	bin, ok := files["lockwell"]
	require.True(t, ok, "the binary is at /lockwell")
	assert.Equal(t, int64(0o755), bin.hdr.Mode)
	assert.Equal(t, 0, bin.hdr.Uid, "the binary belongs to root, so the user it runs as cannot change it")
	f, err := elf.NewFile(bytes.NewReader(bin.data))
	require.NoError(t, err)
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "static: no dynamic loader")
		assert.NotEqual(t, elf.PT_DYNAMIC, p.Type, "static: no dynamic section")
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs)

	assert.Contains(t, string(files["etc/passwd"].data), "nonroot:x:65532:65532:")
	assert.Contains(t, string(files["etc/group"].data), "nonroot:x:65532:")
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	require.NoError(t, err)
	assert.Equal(t, certs, files["etc/ssl/certs/ca-certificates.crt"].data, "the build machine's CA bundle")
	tmp := files["tmp"].hdr
	assert.Equal(t, byte(tar.TypeDir), tmp.Typeflag)
	assert.Equal(t, int64(0o1777), tmp.Mode)
	data := files["var/lib/lockwell"].hdr
	assert.Equal(t, byte(tar.TypeDir), data.Typeflag)
	assert.Equal(t, [3]int64{65532, 65532, 0o700}, [3]int64{int64(data.Uid), int64(data.Gid), data.Mode}, "the data directory is the user's alone")

	t.Run("the binary serves as the image's user", func(t *testing.T) {
		serveAsImageUser(t, bin.data, c.Env, false)
	})
	t.Run("and with a read-only data directory, the store and token given", func(t *testing.T) {
		serveAsImageUser(t, bin.data, c.Env, true)
	})
}

// serveAsImageUser runs the image's binary as a container would (its Env,
// "serve", user 65532 when the test runs as root) on a loopback port, and
// checks that it becomes live and ready and stops cleanly. Without
// deployment the data directory stands for a volume and receives the
// first-start admin token; with it, the store is named by LOCKWELL_STORE
// (a SQLite file standing for the database), the admin token comes from
// LOCKWELL_ADMIN_TOKEN_FILE, and the data directory is read-only, as the
// read-only root filesystem of a Kubernetes pod leaves it.
func serveAsImageUser(t *testing.T, binary []byte, env []string, deployment bool) {
	dir, err := os.MkdirTemp("", "lockwell-image-run-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "lockwell")
	require.NoError(t, os.WriteFile(bin, binary, 0o755))
	dataDir := filepath.Join(dir, "data")
	require.NoError(t, os.Mkdir(dataDir, 0o700))

	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append([]string{}, env...), "LOCKWELL_ADDR=127.0.0.1:0", "LOCKWELL_DATA_DIR="+dataDir, "HOME="+dir)
	owned := []string{dataDir}
	token := ""
	if deployment {
		dbDir := filepath.Join(dir, "db")
		require.NoError(t, os.Mkdir(dbDir, 0o700))
		owned = append(owned, dbDir)
		token, _, err = identity.NewToken()
		require.NoError(t, err)
		tokenFile := filepath.Join(dir, "admin-token")
		require.NoError(t, os.WriteFile(tokenFile, []byte(token), 0o444))
		cmd.Env = append(cmd.Env,
			"LOCKWELL_STORE=sqlite://"+filepath.Join(dbDir, "lockwell.db"),
			"LOCKWELL_KEY=envkey://LOCKWELL_STORE_KEY",
			"LOCKWELL_STORE_KEY="+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)),
			"LOCKWELL_ADMIN_TOKEN_FILE="+tokenFile)
		require.NoError(t, os.Chmod(dataDir, 0o500))
	}
	if os.Geteuid() == 0 {
		for _, d := range owned {
			require.NoError(t, os.Chown(d, UID, GID))
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: UID, Gid: GID}}
	}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && lines.Scan() {
		if line := lines.Text(); strings.Contains(line, "listening") {
			if i := strings.Index(line, " addr="); i >= 0 {
				addr = strings.Fields(line[i+len(" addr="):])[0]
			}
		}
	}
	require.NotEmpty(t, addr, "the server did not start")
	go func() {
		for lines.Scan() { // keep draining the log
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := client.Get("http://" + addr + path)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
	}
	if deployment {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/api/v1/whoami", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := client.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "the admin token from the file authenticates")
		entries, err := os.ReadDir(dataDir)
		require.NoError(t, err)
		assert.Empty(t, entries, "nothing was written to the data directory")
	} else {
		info, err := os.Stat(filepath.Join(dataDir, "admin.token"))
		require.NoError(t, err, "the first start wrote the admin token to the data directory")
		if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			assert.Equal(t, uint32(UID), st.Uid, "written by the image's user")
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "a clean stop on SIGTERM")
}

func sha256File(t *testing.T, path string) [32]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(data)
}

func TestOptionsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Out: "x.tar"}, "module directory is required"},
		{Options{ModuleDir: "."}, "output path is required"},
		{Options{ModuleDir: ".", Out: "x.tar", Version: "v1/../x"}, "not a valid image tag"},
		{Options{ModuleDir: ".", Out: "x.tar", Arch: "386"}, "amd64 or arm64"},
	} {
		_, err := Build(context.Background(), tc.o)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestParseTime(t *testing.T) {
	got, err := parseTime("1767323045")
	require.NoError(t, err)
	assert.Equal(t, testCreated, got)
	got, err = parseTime("2026-01-02T04:04:05+01:00")
	require.NoError(t, err)
	assert.Equal(t, testCreated, got)
	got, err = parseTime("")
	require.NoError(t, err)
	assert.Equal(t, int64(0), got.Unix())
	_, err = parseTime("yesterday")
	assert.Error(t, err)
}
