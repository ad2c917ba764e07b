// Package oci assembles an OCI image layout from a root filesystem
// directory, and unpacks one again, with no container daemon and no
// registry: `make image` writes out/image/oci from a Debian root made by
// debootstrap, and `make image-test` unpacks that layout and runs the
// image's binary from it. The layout can be pushed or loaded as is
// (`skopeo copy oci:out/image/oci:hintfleet docker://…`, `crane push`,
// `podman load`).
//
// The image is one layer: the whole root filesystem, with owners, modes,
// symlinks and hard links as they are on disk and every time stamp set to
// Config.Created, so the same root gives the same digest.
package oci

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// RefAnnotation names an image in an OCI layout's index, the name
// `skopeo copy oci:DIR:NAME` selects.
const RefAnnotation = "org.opencontainers.image.ref.name"

// Config is what the image's config says about running it.
type Config struct {
	Ref        string // RefAnnotation, e.g. "hintfleet:dev"
	User       string // "10001:10001"
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	Labels     map[string]string
	// Created stamps the image and every file of its layer.
	Created time.Time
}

// Write writes rootfs as a one-layer image into a new OCI layout at dir
// and returns the image's manifest digest. dir must not exist yet.
func Write(dir, rootfs string, cfg Config) (v1.Hash, error) {
	if _, err := os.Stat(dir); err == nil {
		return v1.Hash{}, fmt.Errorf("write oci layout: %s exists", dir)
	}
	tmp, err := os.CreateTemp(filepath.Dir(filepath.Clean(dir)), ".layer-*.tar")
	if err != nil {
		return v1.Hash{}, fmt.Errorf("write oci layout: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := LayerTar(tmp, rootfs, cfg.Created); err != nil {
		tmp.Close()
		return v1.Hash{}, err
	}
	if err := tmp.Close(); err != nil {
		return v1.Hash{}, fmt.Errorf("write layer: %w", err)
	}
	layer, err := tarball.LayerFromFile(tmp.Name(), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return v1.Hash{}, fmt.Errorf("read layer: %w", err)
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("assemble image: %w", err)
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("assemble image: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = runtime.GOARCH, "linux"
	cf.Created = v1.Time{Time: cfg.Created}
	cf.Config.User, cf.Config.Entrypoint, cf.Config.Cmd = cfg.User, cfg.Entrypoint, cfg.Cmd
	cf.Config.Env, cf.Config.WorkingDir, cf.Config.Labels = cfg.Env, cfg.WorkingDir, cfg.Labels
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return v1.Hash{}, fmt.Errorf("assemble image: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("write oci layout: %w", err)
	}
	var opts []layout.Option
	if cfg.Ref != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{RefAnnotation: cfg.Ref}))
	}
	if err := p.AppendImage(img, opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("write oci layout: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("image digest: %w", err)
	}
	return d, nil
}

// LayerTar writes the tree under rootfs as a layer tar, in name order:
// directories, regular files (a second name of the same inode as a hard
// link), symlinks. Device nodes, FIFOs and sockets are left out: a
// container runtime provides /dev. Owners and modes are kept; times are
// mtime.
func LayerTar(w io.Writer, rootfs string, mtime time.Time) error {
	tw := tar.NewWriter(w)
	seen := map[[2]uint64]string{} // (dev, inode) → first name
	var paths []string
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != rootfs {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk %s: %w", rootfs, err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(rootfs, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		mode := fi.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
			continue
		}
		link := ""
		if mode&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return fmt.Errorf("layer: %w", err)
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("layer %s: %w", rel, err)
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		h.ModTime, h.AccessTime, h.ChangeTime = mtime, time.Time{}, time.Time{}
		h.Format = tar.FormatPAX
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			h.Uid, h.Gid = int(st.Uid), int(st.Gid)
			if mode.IsRegular() && st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), st.Ino}
				if first, ok := seen[key]; ok {
					h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
				} else {
					seen[key] = h.Name
				}
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("layer %s: %w", rel, err)
		}
		if h.Typeflag == tar.TypeReg {
			if err := copyFile(tw, p); err != nil {
				return fmt.Errorf("layer %s: %w", rel, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	return nil
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
