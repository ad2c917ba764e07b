package oci

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// Unpack extracts the image named ref (or the only one, when ref is
// empty) of the OCI layout at dir into dest, as a container runtime
// would lay out its root, and returns the image's config. Entries that
// would land outside dest are an error. Owners are restored when the
// caller may (root); otherwise files belong to the caller.
func Unpack(dir, ref, dest string) (*v1.ConfigFile, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("open oci layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("open oci layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("open oci layout %s: %w", dir, err)
	}
	var desc *v1.Descriptor
	for i, d := range im.Manifests {
		if ref == "" && len(im.Manifests) == 1 || d.Annotations[RefAnnotation] == ref {
			desc = &im.Manifests[i]
		}
	}
	if desc == nil {
		return nil, fmt.Errorf("oci layout %s: no image %q among %d", dir, ref, len(im.Manifests))
	}
	img, err := idx.Image(desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: %w", dir, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("oci layout %s: config: %w", dir, err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	if err := untar(rc, dest); err != nil {
		return nil, fmt.Errorf("unpack into %s: %w", dest, err)
	}
	return cf, nil
}

func untar(r io.Reader, dest string) error {
	root := os.Geteuid() == 0
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("entry %q leaves the root", h.Name)
		}
		target := filepath.Join(dest, name)
		mode := h.FileInfo().Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, target); err != nil {
				return err
			}
			if root {
				_ = os.Lchown(target, h.Uid, h.Gid)
			}
			continue
		case tar.TypeLink:
			old := filepath.Join(dest, filepath.Clean(filepath.FromSlash(h.Linkname)))
			if !strings.HasPrefix(old, filepath.Clean(dest)+string(filepath.Separator)) {
				return fmt.Errorf("hard link %q leaves the root", h.Linkname)
			}
			if err := os.Link(old, target); err != nil {
				return err
			}
			continue
		default:
			continue // devices and the like: the runtime provides /dev
		}
		if root {
			if err := os.Lchown(target, h.Uid, h.Gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(target, mode); err != nil {
			return err
		}
	}
}
