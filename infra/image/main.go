// Command image builds the container image of `lockwell serve` without
// Docker, as `make image` runs it:
//
//	go run ./infra/image [--out build/lockwell-image.tar] [--version V] [--arch amd64|arm64]
//
// The image is one layer laid out like a distroless static image: the
// static lockwell binary (CGO_ENABLED=0 go build -trimpath) at /lockwell,
// /etc/passwd and /etc/group with the non-root user nonroot (65532), the
// build machine's CA bundle, /tmp (1777), /home/nonroot and the data
// directory /var/lib/lockwell (owned by 65532, mode 0700). No shell, no
// package manager, no HEALTHCHECK (Kubernetes probes /healthz and /readyz).
//
// Its configuration: User 65532:65532, Entrypoint ["/lockwell", "serve"],
// Env LOCKWELL_ADDR=0.0.0.0:8080 and LOCKWELL_DATA_DIR=/var/lib/lockwell,
// port 8080/tcp, and the org.opencontainers.image.* labels (version,
// revision, source, created). It runs with a read-only root filesystem: the
// server writes only to its data directory (a volume, or nothing at all when
// LOCKWELL_STORE names the store and LOCKWELL_ADMIN_TOKEN_FILE the admin
// token) and /tmp.
//
// Builds are reproducible: every timestamp is the commit's time (or
// SOURCE_DATE_EPOCH, or --created), entries are written in a fixed order and
// the binary carries no build id or VCS stamp, so two builds of one commit
// with one Go version and CA bundle are byte-identical. The tarball is a
// docker-archive tagged lockwell:VERSION; the digest is printed.
//
// Defaults: --version from `git describe --tags --always --dirty` (else
// "dev"), --revision from `git rev-parse HEAD`, --arch from the build
// machine (amd64 or arm64).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	o := Options{}
	var created string
	flag.StringVar(&o.Out, "out", "build/lockwell-image.tar", "path of the image tarball (docker-archive)")
	flag.StringVar(&o.ModuleDir, "module", ".", "root of the Lockwell module")
	flag.StringVar(&o.Repository, "repository", "lockwell", "image repository the tarball is tagged with")
	flag.StringVar(&o.Version, "version", "", "image tag and version label (default: git describe, or dev)")
	flag.StringVar(&o.Revision, "revision", "", "commit for the revision label (default: git rev-parse HEAD)")
	flag.StringVar(&o.Source, "source", "https://github.com/lockwell/lockwell", "repository URL for the source label")
	flag.StringVar(&o.Arch, "arch", defaultArch(), "GOARCH of the image: amd64 or arm64")
	flag.StringVar(&created, "created", "", "creation time, RFC 3339 or Unix seconds (default: SOURCE_DATE_EPOCH, else the commit's time)")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	if o.Version == "" {
		o.Version = strings.ReplaceAll(git(o.ModuleDir, "describe", "--tags", "--always", "--dirty"), "+", "-")
	}
	if o.Revision == "" {
		o.Revision = git(o.ModuleDir, "rev-parse", "HEAD")
	}
	if created == "" {
		created = os.Getenv("SOURCE_DATE_EPOCH")
	}
	if created == "" {
		created = git(o.ModuleDir, "log", "-1", "--format=%ct")
	}
	t, err := parseTime(created)
	if err != nil {
		fail(err)
	}
	o.Created = t

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	digest, err := Build(ctx, o)
	if err != nil {
		fail(err)
	}
	fmt.Printf("wrote %s: %s:%s (linux/%s) %s\n", o.Out, o.Repository, o.Version, o.Arch, digest)
}

func defaultArch() string {
	if runtime.GOARCH == "arm64" {
		return "arm64"
	}
	return "amd64"
}

// parseTime reads RFC 3339 or Unix seconds; "" is the Unix epoch.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("creation time %q: RFC 3339 or Unix seconds", s)
	}
	return t.UTC(), nil
}

// git returns the trimmed output of a git command in dir, or "" when git or
// the repository is missing.
func git(dir string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}
