package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The image's fixed layout and settings: the contract the Helm chart
// (infra/helm/lockwell) and the README rely on.
const (
	// BinaryPath is where the lockwell binary is; the entrypoint runs
	// "lockwell serve".
	BinaryPath = "/lockwell"
	// UID and GID are the non-root user and group the image runs as
	// ("nonroot", as in distroless images).
	UID = 65532
	GID = 65532
	// DataDir is LOCKWELL_DATA_DIR: owned by UID, mode 0700. It holds the
	// first-start admin.token (and the SQLite store when LOCKWELL_STORE is
	// unset), so mount a volume there unless the admin token comes from a
	// file (LOCKWELL_ADMIN_TOKEN_FILE) and the store from LOCKWELL_STORE.
	DataDir = "/var/lib/lockwell"
	// Port is the port the server listens on (LOCKWELL_ADDR 0.0.0.0:8080).
	Port = 8080
	// CACertsPath is where the build machine's CA bundle goes; Go's TLS
	// reads it there.
	CACertsPath = "/etc/ssl/certs/ca-certificates.crt"
)

// Options configure Build.
type Options struct {
	// ModuleDir is the Lockwell module's root (where go.mod is).
	ModuleDir string
	// Out is the path of the image tarball to write.
	Out string
	// Repository and Version name the image: the tarball is tagged
	// Repository:Version (default lockwell:dev). Version is also the
	// org.opencontainers.image.version label.
	Repository, Version string
	// Revision (the commit) and Source (the repository URL) are the
	// org.opencontainers.image.revision and .source labels; empty omits them.
	Revision, Source string
	// Arch is the GOARCH to build for (default: amd64).
	Arch string
	// Created is the image's creation time and every file's modification
	// time, so that two builds of one commit are byte-identical.
	Created time.Time
	// CACerts is the CA bundle to copy (default
	// /etc/ssl/certs/ca-certificates.crt of the build machine).
	CACerts string
	// Go is the go command (default "go").
	Go string
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func (o *Options) defaults() error {
	if o.Repository == "" {
		o.Repository = "lockwell"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	if o.CACerts == "" {
		o.CACerts = "/etc/ssl/certs/ca-certificates.crt"
	}
	if o.Go == "" {
		o.Go = "go"
	}
	switch {
	case o.ModuleDir == "":
		return errors.New("the module directory is required")
	case o.Out == "":
		return errors.New("the output path is required")
	case !tagPattern.MatchString(o.Version):
		return fmt.Errorf("version %q is not a valid image tag (letters, digits, _ . -; at most 128)", o.Version)
	case o.Arch != "amd64" && o.Arch != "arm64":
		return fmt.Errorf("arch %q: amd64 or arm64", o.Arch)
	}
	return nil
}

// Build compiles lockwell for linux/Arch (CGO_ENABLED=0, -trimpath, no build
// id: a static binary that is the same for the same commit and Go version),
// lays it out with the files a distroless image has, and writes the image as
// a docker-archive tarball (what `docker load`, `podman load`, `crane push`
// and `kind load image-archive` read) to Out, replacing it atomically. It
// returns the image's digest. Nothing in the image depends on the time or
// the machine of the build except the CA bundle it copies.
func Build(ctx context.Context, o Options) (v1.Hash, error) {
	if err := o.defaults(); err != nil {
		return v1.Hash{}, err
	}
	ref, err := name.NewTag(o.Repository + ":" + o.Version)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image name: %w", err)
	}
	caCerts, err := os.ReadFile(o.CACerts)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("CA certificates (install ca-certificates): %w", err)
	}
	binary, err := compile(ctx, o)
	if err != nil {
		return v1.Hash{}, err
	}
	layer, err := rootLayer(binary, caCerts, o.Created)
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := image(layer, o)
	if err != nil {
		return v1.Hash{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return v1.Hash{}, err
	}
	tmp := o.Out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		os.Remove(tmp)
		return v1.Hash{}, fmt.Errorf("write the image tarball: %w", err)
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		return v1.Hash{}, err
	}
	return digest, nil
}

// compile builds ./cmd/lockwell and returns the binary.
func compile(ctx context.Context, o Options) ([]byte, error) {
	dir, err := os.MkdirTemp("", "lockwell-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "lockwell")
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", bin, "./cmd/lockwell")
	cmd.Dir = o.ModuleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+o.Arch, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/lockwell: %w", err)
	}
	return os.ReadFile(bin)
}

// file is one entry of the root layer.
type file struct {
	path     string // without the leading slash
	mode     int64  // permission bits, and sticky for /tmp
	uid, gid int
	data     []byte // nil for a directory
}

const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group = "root:x:0:\nnonroot:x:65532:\n"
	// nsswitch tells Go's resolver to read /etc/hosts before DNS.
	nsswitch = "hosts: files dns\n"
)

// rootLayer is the image's only layer, as a tar with every entry in a fixed
// order, owned by root unless said otherwise, dated mtime.
func rootLayer(binary, caCerts []byte, mtime time.Time) (v1.Layer, error) {
	files := []file{
		{path: "etc/", mode: 0o755},
		{path: "etc/group", mode: 0o644, data: []byte(group)},
		{path: "etc/nsswitch.conf", mode: 0o644, data: []byte(nsswitch)},
		{path: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{path: "etc/ssl/", mode: 0o755},
		{path: "etc/ssl/certs/", mode: 0o755},
		{path: CACertsPath[1:], mode: 0o644, data: caCerts},
		{path: "home/", mode: 0o755},
		{path: "home/nonroot/", mode: 0o700, uid: UID, gid: GID},
		{path: BinaryPath[1:], mode: 0o755, data: binary},
		{path: "tmp/", mode: 0o1777},
		{path: "var/", mode: 0o755},
		{path: "var/lib/", mode: 0o755},
		{path: DataDir[1:] + "/", mode: 0o700, uid: UID, gid: GID},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: mtime.UTC(), Format: tar.FormatPAX}
		if f.data == nil {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// image is the layer with the image's configuration.
func image(layer v1.Layer, o Options) (v1.Image, error) {
	created := v1.Time{Time: o.Created.UTC()}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		Created:   created,
		CreatedBy: "go run ./infra/image (CGO_ENABLED=0 go build -trimpath ./cmd/lockwell)",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS, cf.Architecture = "linux", o.Arch
	labels := map[string]string{
		"org.opencontainers.image.title":       "lockwell",
		"org.opencontainers.image.description": "Lockwell secrets store server (lockwell serve)",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
	}
	if o.Revision != "" {
		labels["org.opencontainers.image.revision"] = o.Revision
	}
	if o.Source != "" {
		labels["org.opencontainers.image.source"] = o.Source
	}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{BinaryPath, "serve"},
		Env: []string{
			"LOCKWELL_ADDR=0.0.0.0:" + fmt.Sprint(Port),
			"LOCKWELL_DATA_DIR=" + DataDir,
			"HOME=/home/nonroot",
			"SSL_CERT_FILE=" + CACertsPath,
		},
		ExposedPorts: map[string]struct{}{fmt.Sprintf("%d/tcp", Port): {}},
		WorkingDir:   "/home/nonroot",
		Labels:       labels,
		StopSignal:   "SIGTERM",
	}
	return mutate.ConfigFile(img, cf)
}
