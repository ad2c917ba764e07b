// Command render writes every overlay of the manifests, built with
// kustomize, to OUT/<overlay>.yaml: `make manifests`, for `kubectl apply
// -f` on machines without kustomize, for review, and for the test in
// cmd/hintfleet that checks them against the binary's flags.
//
// It is a command rather than a function of package manifests on purpose:
// kustomize imports Go's plugin package, and a binary that does is linked
// with immediate symbol binding, under which go-nvml's lazily resolved
// NVML symbols fail at start. Nothing that links package gpu may link
// kustomize.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	root := flag.String("root", "manifests", "the manifests directory (base/ and overlays/)")
	out := flag.String("out", "out/manifests", "where to write <overlay>.yaml")
	flag.Parse()
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	overlays, err := overlays(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, o := range overlays {
		y, err := render(filepath.Join(root, "overlays", o))
		if err != nil {
			return err
		}
		path := filepath.Join(out, o+".yaml")
		if err := os.WriteFile(path, y, 0o644); err != nil {
			return err
		}
		fmt.Println(path)
	}
	return nil
}

// overlays lists the directories of root/overlays that hold a
// kustomization.yaml, sorted: a new overlay is rendered and tested
// without a list to edit.
func overlays(root string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(root, "overlays"))
	if err != nil {
		return nil, fmt.Errorf("list overlays: %w", err)
	}
	var out []string
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(root, "overlays", e.Name(), "kustomization.yaml")); e.IsDir() && err == nil {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// render builds dir as `kubectl kustomize dir` would.
func render(dir string) ([]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	y, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", dir, err)
	}
	return y, nil
}
