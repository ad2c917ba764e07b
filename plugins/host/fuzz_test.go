package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfigFile feeds arbitrary plugin config files to the strict
// loader: it must never panic, and an error must name the file.
func FuzzLoadConfigFile(f *testing.F) {
	for _, s := range []string{
		"- name: python\n  path: /bin/true\n  sha256: " + strings.Repeat("a", 64) + "\n",
		`[{"name":"calc","path":"/x","sha256":"00"}]`,
		"- name: x\n  colour: red\n",
		"- {name: a, path: b, args: [1, 2], env: [A=1]}\n- name: a\n",
		"- &a {name: x}\n- *a\n",
		"",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "plugins.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		specs, err := LoadConfigFile(path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
			return
		}
		if err := Validate(specs); err != nil {
			t.Fatalf("LoadConfigFile accepted specs that Validate refuses: %v", err)
		}
	})
}
