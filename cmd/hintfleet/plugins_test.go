package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pluginDir is a plugin directory as `make plugins` leaves it, holding the
// Python calculator (linked) and a "bash" plugin whose SHA256SUMS line is
// stale, as after a rebuild without `make plugins`.
func pluginDir(t *testing.T) string {
	t.Helper()
	if err := exec.Command("/usr/bin/python3", "-c", "import grpc, google.protobuf, cryptography").Run(); err != nil {
		t.Skip("Debian's python3-grpcio, python3-protobuf or python3-cryptography missing (make deps installs them)")
	}
	dir := t.TempDir()
	calc, err := filepath.Abs("../../plugins/calc-py/calc_plugin.py")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(calc, filepath.Join(dir, "calc")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hintfleet-bash"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(calc)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sums := hex.EncodeToString(sum[:]) + "  calc\n" + strings.Repeat("0", 64) + "  hintfleet-bash\n"
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPluginsExec: exec exits with the code's status, --json keys carry
// their unit, and a plugin with a stale checksum is refused alone with an
// error that says to run make plugins.
func TestPluginsExec(t *testing.T) {
	dir := pluginDir(t)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"ok", []string{"calc", "--code", "6*7"}, 0, "42", ""},
		{"the code fails", []string{"calc", "--code", "1/0"}, 1, "ZeroDivisionError", ""},
		{"json keys name their unit", []string{"calc", "--code", "6*7", "--json"}, 0, `"duration_ns": `, ""},
		{"refused plugin", []string{"bash", "--code", "true"}, 1, "",
			"SHA256SUMS:2 says 0000000000000000000000000000000000000000000000000000000000000000: rebuild and re-sum the plugins with `make plugins`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"plugins", "exec", "--plugins-dir", dir}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d, stdout with %q, stderr with %q", r.code, r.stdout, r.stderr, tc.code, tc.stdout, tc.stderr)
			}
			if strings.Contains(r.stderr, "config wants") {
				t.Errorf("stderr %q says config wants with no config file", r.stderr)
			}
		})
	}
}
