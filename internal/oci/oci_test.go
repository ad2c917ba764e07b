package oci

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestWriteAndUnpack writes a small root filesystem as an OCI layout,
// validates the image with go-containerregistry's own checks, unpacks it
// again and compares files, modes, links and the run config.
func TestWriteAndUnpack(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, mode os.FileMode, body string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/bin/hintfleet", 0o755, "#!/bin/sh\necho hi\n")
	mk("usr/lib/hintfleet/plugins/SHA256SUMS", 0o644, "abc  python\n")
	mk("etc/secret", 0o600, "s")
	if err := os.Symlink("usr/bin", filepath.Join(root, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "usr/bin/hintfleet"), filepath.Join(root, "usr/bin/hf")); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cfg := Config{Ref: "hintfleet:test", User: "10001:10001", Entrypoint: []string{"/usr/bin/hintfleet"}, Env: []string{"PATH=/usr/bin"}, Created: created}
	out := filepath.Join(t.TempDir(), "oci")
	d1, err := Write(out, root, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Same root, same digest: nothing of the build's time leaks in.
	d2, err := Write(filepath.Join(t.TempDir(), "oci"), root, cfg)
	if err != nil || d1 != d2 {
		t.Errorf("second write = %v, %v; want the same digest %v", d2, err, d1)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := p.Image(d1)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Errorf("validate image: %v", err)
	}

	dest := t.TempDir()
	cf, err := Unpack(out, "hintfleet:test", dest)
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "10001:10001" || !slices.Equal(cf.Config.Entrypoint, cfg.Entrypoint) || cf.OS != "linux" || !cf.Created.Time.Equal(created) {
		t.Errorf("config = %+v", cf)
	}
	for rel, want := range map[string]os.FileMode{"usr/bin/hintfleet": 0o755, "etc/secret": 0o600, "usr/lib/hintfleet/plugins/SHA256SUMS": 0o644} {
		fi, err := os.Stat(filepath.Join(dest, rel))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", rel, fi, err, want)
		}
	}
	if l, err := os.Readlink(filepath.Join(dest, "bin")); err != nil || l != "usr/bin" {
		t.Errorf("bin -> %q, %v; want usr/bin", l, err)
	}
	a, _ := os.Stat(filepath.Join(dest, "usr/bin/hintfleet"))
	b, _ := os.Stat(filepath.Join(dest, "usr/bin/hf"))
	if a == nil || b == nil || !os.SameFile(a, b) {
		t.Error("hard link not kept")
	}
	if _, err := Unpack(out, "other:tag", t.TempDir()); err == nil {
		t.Error("unpack of a name not in the layout: want error")
	}
	if _, err := Write(out, root, cfg); err == nil {
		t.Error("write into an existing layout: want error")
	}
}
