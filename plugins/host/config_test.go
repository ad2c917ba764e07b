package host

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sumA = "86d5306c1822ff65889952bd362baee2f0cd9a650aead9b7b63d1335b7896925"

func TestLoadConfigFile(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		body    string
		want    []PluginConfig // paths relative to the file's dir
		wantErr []string       // substrings of the error
	}{
		{
			name: "yaml",
			file: "plugins.yaml",
			body: "- name: calc\n  path: calc.py\n  sha256: " + sumA + "\n  args: [-v]\n  env: [A=1]\n  languages: [calc, Maths]\n",
			want: []PluginConfig{{Name: "calc", Path: "calc.py", SHA256: sumA, Args: []string{"-v"}, Env: []string{"A=1"},
				Languages: []string{"calc", "Maths"}, Origin: Origin{Line: 1}}},
		},
		{
			name: "json",
			file: "plugins.json",
			body: `[{"name": "echo", "path": "/abs/echo", "sha256": "` + sumA + `"}]`,
			want: []PluginConfig{{Name: "echo", Path: "/abs/echo", SHA256: sumA, Origin: Origin{Line: 1}}},
		},
		{
			name:    "unknown field names file and line",
			file:    "plugins.yaml",
			body:    "- name: calc\n  path: calc.py\n  sha265: " + sumA + "\n",
			wantErr: []string{"plugins.yaml", "line 3", "sha265"},
		},
		{
			name:    "bad sha256",
			file:    "plugins.yaml",
			body:    "- name: a\n  path: a\n- name: b\n  path: b\n  sha256: xyz\n",
			wantErr: []string{"plugins.yaml:3", `field "sha256"`},
		},
		{
			name:    "bad language",
			file:    "plugins.yaml",
			body:    "- name: a\n  path: a\n  languages: [ok, 'two words']\n",
			wantErr: []string{"plugins.yaml:1", `field "languages"`, "two words"},
		},
		{
			name:    "missing fields and duplicate names, all reported",
			file:    "plugins.yaml",
			body:    "- name: a\n- path: b\n- name: a\n  path: c\n  env: [NOEQUALS]\n",
			wantErr: []string{`plugins.yaml:1: field "path": required`, `plugins.yaml:2: field "name": required`, `plugins.yaml:3: field "env"`, `"a" used twice`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tc.file)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := LoadConfigFile(path)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("LoadConfigFile = %+v; want error containing %q", got, tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q; want it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.want {
				if !filepath.IsAbs(tc.want[i].Path) {
					tc.want[i].Path = filepath.Join(dir, tc.want[i].Path)
				}
				tc.want[i].Origin.File = path
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("LoadConfigFile = %+v; want %+v", got, tc.want)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	dir := t.TempDir()
	files := map[string]os.FileMode{"b-tool": 0o755, "a-tool": 0o755, "notes.txt": 0o644, ".hidden": 0o755}
	for name, mode := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	sums := "# written by make plugins\n" + sumA + "  a-tool\n" + strings.ToUpper(sumA) + " *b-tool\n"
	if err := os.WriteFile(filepath.Join(dir, SumsFile), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	sumsPath := filepath.Join(dir, SumsFile)
	want := []PluginConfig{
		{Name: "a-tool", Path: filepath.Join(dir, "a-tool"), SHA256: sumA, Origin: Origin{File: sumsPath, Line: 2, Sums: true}},
		{Name: "b-tool", Path: filepath.Join(dir, "b-tool"), SHA256: sumA, Origin: Origin{File: sumsPath, Line: 3, Sums: true}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Discover = %+v; want %+v", got, want)
	}

	if err := os.WriteFile(filepath.Join(dir, SumsFile), []byte("nothex  a-tool\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Discover(dir); err == nil || !strings.Contains(err.Error(), SumsFile+":1") {
		t.Errorf("Discover with a bad SHA256SUMS: err = %v; want it to name %s:1", err, SumsFile)
	}
}

// TestRefusalSaysHowToFix: a checksum refusal names the file, both hashes
// and what to change, by where the expected hash came from; never "config
// wants" when there is no config file.
func TestRefusalSaysHowToFix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tool")
	if err := os.WriteFile(path, []byte("calc"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "ab" + got[2:]
	tests := []struct {
		name   string
		origin Origin
		sha    string
		says   []string
	}{
		{"mismatch from SHA256SUMS", Origin{File: "bin/plugins/SHA256SUMS", Line: 2, Sums: true}, want,
			[]string{"bin/plugins/SHA256SUMS:2 says " + want, "make plugins", "cd bin/plugins && sha256sum"}},
		{"mismatch from a config file", Origin{File: "plugins.yaml", Line: 4}, want,
			[]string{"plugins.yaml:4 says " + want, "set `sha256: " + got + "` there"}},
		{"mismatch in code", Origin{}, want, []string{"PluginConfig.SHA256 is " + want}},
		{"missing from SHA256SUMS", Origin{File: "bin/plugins/SHA256SUMS", Sums: true}, "",
			[]string{"bin/plugins/SHA256SUMS does not list it", "make plugins"}},
		{"missing from a config file", Origin{File: "plugins.yaml", Line: 4}, "",
			[]string{"add `sha256: " + got + "` to its entry at plugins.yaml:4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := verifyChecksum(PluginConfig{Name: "tool", Path: path, SHA256: tc.sha, Origin: tc.origin}, false)
			if err == nil {
				t.Fatal("verified")
			}
			msg := err.Error()
			for _, w := range append(tc.says, path, got) {
				if !strings.Contains(msg, w) {
					t.Errorf("%q does not say %q", msg, w)
				}
			}
			if strings.Contains(msg, "config wants") {
				t.Errorf("%q says config wants", msg)
			}
		})
	}
}
