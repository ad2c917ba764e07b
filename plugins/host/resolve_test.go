package host

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(t.TempDir(), "plugins.yaml")
	if err := os.WriteFile(list, []byte("- name: other\n  path: /opt/other\n  sha256: "+sumA+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fromDir, err := Resolve(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := Discover(dir)
	if !reflect.DeepEqual(fromDir, want) || len(fromDir) != 1 {
		t.Errorf("Resolve(dir) = %+v, want Discover's %+v", fromDir, want)
	}
	fromList, err := Resolve(dir, list)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromList) != 1 || fromList[0].Name != "other" {
		t.Errorf("Resolve(dir, list) = %+v, want the list file's plugin over the dir", fromList)
	}
	// The test binary has no plugins beside it: the fallback is ./bin/plugins.
	if got := DefaultDir(); got != filepath.Join("bin", "plugins") {
		t.Errorf("DefaultDir() = %q, want bin/plugins", got)
	}
}
