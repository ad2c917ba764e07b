package host

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PluginConfig is one plugin to run. In a config file (YAML or JSON) it is an
// item of a top-level list:
//
//   - name: python
//     path: bin/plugins/hintfleet-python   # relative to the config file
//     sha256: 3b1f…                         # sha256sum of the binary
//     args: ["--pool", "8"]
//     env: ["HINTFLEET_PYTHON_POOL=8"]
//     languages: [python, py]               # optional: replaces what the plugin says
type PluginConfig struct {
	Name   string   `json:"name" yaml:"name"`
	Path   string   `json:"path" yaml:"path"`
	SHA256 string   `json:"sha256,omitempty" yaml:"sha256"`
	Args   []string `json:"args,omitempty" yaml:"args"`
	// Env is KEY=VALUE pairs. A plugin does not inherit the host's
	// environment (it may hold engine API keys and the plugin runs model
	// code); it gets PATH, LANG, TMPDIR and these.
	Env []string `json:"env,omitempty" yaml:"env"`
	// Languages, when set, are the fence languages routed to the plugin
	// instead of those its Describe lists: to take a language from one
	// plugin and give it to another, or serve a model's own fence name
	// (```shell, ```zsh) with a tool that does not list it.
	Languages []string `json:"languages,omitempty" yaml:"languages"`
	// Origin says where this entry came from; LoadConfigFile and Discover
	// fill it, so a refusal can say what to change.
	Origin Origin `json:"-" yaml:"-"`
}

// Origin is where a PluginConfig's expected checksum came from.
type Origin struct {
	// File is the config file or the SHA256SUMS file; empty for a list
	// built in code.
	File string
	// Line is the entry's line in File; 0 when it has none (a plugin
	// missing from SHA256SUMS).
	Line int
	// Sums says File is a SHA256SUMS beside the plugins (Discover), which
	// `make plugins` rewrites.
	Sums bool
}

// String is "file:line", "file" or "" when the list was built in code.
func (o Origin) String() string {
	switch {
	case o.File == "":
		return ""
	case o.Line > 0:
		return fmt.Sprintf("%s:%d", o.File, o.Line)
	default:
		return o.File
	}
}

// SumsFile is the file Discover reads expected checksums from: sha256sum's
// output for the directory (`sha256sum * > SHA256SUMS`).
const SumsFile = "SHA256SUMS"

// LoadConfigFile reads a plugin list from a YAML or JSON file. Decoding is
// strict: an unknown field is an error naming the file and line. Relative
// paths are resolved against the file's directory, so a config works from
// any working directory.
func LoadConfigFile(path string) ([]PluginConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plugin config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var specs []PluginConfig
	if err := dec.Decode(&specs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// A second pass keeps each item's line for the validation errors.
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var lines []int
	if len(root.Content) == 1 {
		for _, item := range root.Content[0].Content {
			lines = append(lines, item.Line)
		}
	}
	dir := filepath.Dir(path)
	var errs []error
	for i := range specs {
		where := fmt.Sprintf("%s: item %d", path, i+1)
		if i < len(lines) {
			where = fmt.Sprintf("%s:%d", path, lines[i])
		}
		if err := specs[i].validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		specs[i].Origin = Origin{File: path}
		if i < len(lines) {
			specs[i].Origin.Line = lines[i]
		}
		if specs[i].Path != "" && !filepath.IsAbs(specs[i].Path) {
			specs[i].Path = filepath.Join(dir, specs[i].Path)
		}
	}
	if err := validateNames(specs); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return specs, nil
}

// Validate reports every problem in specs at once.
func Validate(specs []PluginConfig) error {
	var errs []error
	for i, s := range specs {
		if err := s.validate(); err != nil {
			errs = append(errs, fmt.Errorf("plugin %d (%q): %w", i+1, s.Name, err))
		}
	}
	if err := validateNames(specs); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s PluginConfig) validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New(`field "name": required`))
	}
	if s.Path == "" {
		errs = append(errs, errors.New(`field "path": required`))
	}
	if s.SHA256 != "" {
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf(`field "sha256": want 64 hex digits, got %q`, s.SHA256))
		}
	}
	for _, kv := range s.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			errs = append(errs, fmt.Errorf(`field "env": want KEY=VALUE, got %q`, kv))
		}
	}
	for _, l := range s.Languages {
		if normLang(l) == "" || strings.ContainsAny(l, "` \t\n") {
			errs = append(errs, fmt.Errorf(`field "languages": want fence language names, got %q`, l))
		}
	}
	return errors.Join(errs...)
}

func validateNames(specs []PluginConfig) error {
	seen := make(map[string]bool, len(specs))
	var errs []error
	for _, s := range specs {
		if s.Name != "" && seen[s.Name] {
			errs = append(errs, fmt.Errorf("plugin name %q used twice", s.Name))
		}
		seen[s.Name] = true
	}
	return errors.Join(errs...)
}

// Discover lists every executable regular file in dir as a plugin named
// after the file. Expected checksums come from dir/SHA256SUMS when it
// exists; a plugin missing from it has none, which New refuses unless
// checksums are skipped. Hidden files and subdirectories are ignored.
func Discover(dir string) ([]PluginConfig, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("discover plugins: %w", err)
	}
	sumsPath := filepath.Join(dir, SumsFile)
	sums, err := readSums(sumsPath)
	if err != nil {
		return nil, err
	}
	var specs []PluginConfig
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == SumsFile {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, name)) // follows symlinks
		if err != nil {
			return nil, fmt.Errorf("discover plugins: %w", err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		sum := sums[name]
		specs = append(specs, PluginConfig{Name: name, Path: filepath.Join(dir, name), SHA256: sum.hex,
			Origin: Origin{File: sumsPath, Line: sum.line, Sums: true}})
	}
	slices.SortFunc(specs, func(a, b PluginConfig) int { return strings.Compare(a.Name, b.Name) })
	return specs, nil
}

// sumLine is one line of a SHA256SUMS file.
type sumLine struct {
	hex  string
	line int
}

// readSums parses sha256sum output ("<hex>  <file>" or "<hex> *<file>").
// A missing file is no sums, not an error.
func readSums(path string) (map[string]sumLine, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checksums: %w", err)
	}
	defer f.Close()
	sums := make(map[string]sumLine)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, file, ok := strings.Cut(line, " ")
		file = strings.TrimPrefix(strings.TrimLeft(file, " "), "*")
		if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != 32 || file == "" {
			return nil, fmt.Errorf("%s:%d: want \"<sha256>  <file>\", got %q", path, n, line)
		}
		sums[filepath.Base(file)] = sumLine{strings.ToLower(sum), n}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read checksums: %w", err)
	}
	return sums, nil
}
